//! Lambda entrypoint of the `update-debt` function: builds its dependencies once, then serves each request.

use std::sync::Arc;

use commands::{update_debt, DebtDeps};
use lambda_http::{service_fn, Error};
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let deps = DebtDeps {
        store: Arc::new(DynamoStore::from_env(&config)?),
    };
    lambda_http::run(service_fn(|request| update_debt(request, &deps))).await
}
