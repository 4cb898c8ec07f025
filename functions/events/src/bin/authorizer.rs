//! Lambda entrypoint of the `authorizer` function: builds the token checker once, then answers each request.
//! It reads a token's user's credentials, records of the table as stored.

use auth::authorizer::authorize;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let tokens = &env.tokens();
    let accounts = env.table()?.records;
    let accounts = accounts.as_ref();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| async move {
            Ok::<_, Error>(authorize(&event.payload, tokens, accounts).await)
        },
    ))
    .await
}
