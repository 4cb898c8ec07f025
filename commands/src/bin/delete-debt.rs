//! Lambda entrypoint of the `delete-debt` function: builds its dependencies once, then serves each request.

use std::sync::Arc;

use commands::{delete_debt, DebtDeps};
use lambda_http::{service_fn, Error};
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let deps = DebtDeps {
        store: Arc::new(DynamoStore::from_env(&config)?),
    };
    lambda_http::run(service_fn(|request| delete_debt(request, &deps))).await
}
