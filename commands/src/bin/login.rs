//! Lambda entrypoint of the `login` function: builds its dependencies once, then serves each request.

use std::sync::Arc;

use auth::{PasswordHasher, SecretsManagerKeys, Tokens};
use commands::{login, LoginDeps};
use lambda_http::{service_fn, Error};
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let keys = SecretsManagerKeys::from_env(aws_sdk_secretsmanager::Client::new(&config));
    let deps = LoginDeps {
        store: Arc::new(DynamoStore::from_env(&config)?),
        passwords: PasswordHasher::from_env()?,
        tokens: Tokens::new(Arc::new(keys), auth::tokens::issuer_from_env()),
    };
    lambda_http::run(service_fn(|request| login(request, &deps))).await
}
