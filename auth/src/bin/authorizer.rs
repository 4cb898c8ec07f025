//! Lambda entrypoint of the `authorizer` function: builds the token checker once, then answers each request.

use std::sync::Arc;

use auth::authorizer::authorize;
use auth::{SecretsManagerKeys, Tokens};
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let config = lambda_support::sdk_config().await;
    let keys = SecretsManagerKeys::from_env(aws_sdk_secretsmanager::Client::new(&config));
    let tokens = Tokens::new(Arc::new(keys), auth::tokens::issuer_from_env());
    let accounts = store_dynamodb::DynamoStore::from_env(&config)?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
            let (tokens, accounts) = (&tokens, &accounts);
            async move { Ok::<_, Error>(authorize(&event.payload, tokens, accounts).await) }
        },
    ))
    .await
}
