//! Lambda entrypoint of the `get-debt-schedule` function: builds its dependencies once, then serves each request.

use lambda_http::{service_fn, Error};
use queries::{get_debt_schedule, QueryDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = QueryDeps::from_env().await?;
    lambda_http::run(service_fn(|request| get_debt_schedule(request, &deps))).await
}
