//! Lambda entrypoint of the `create-user` function: builds its dependencies once, then serves each request.

use std::sync::Arc;

use auth::PasswordHasher;
use commands::{create_user, UserDeps};
use lambda_http::{service_fn, Error};
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let deps = UserDeps {
        store: Arc::new(DynamoStore::from_env(&config)?),
        passwords: PasswordHasher::from_env()?,
    };
    lambda_http::run(service_fn(|request| create_user(request, &deps))).await
}
