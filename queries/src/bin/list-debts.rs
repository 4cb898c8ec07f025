//! Lambda entrypoint of the `list-debts` function: builds its dependencies once, then serves each request.

use lambda_http::{service_fn, Error};
use queries::{list_debts, QueryDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = QueryDeps::from_env().await?;
    lambda_http::run(service_fn(|request| list_debts(request, &deps))).await
}
