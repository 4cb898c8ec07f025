//! Lambda entrypoint of the `get-payoff-plan` function: builds its dependencies once, then serves each request.

use lambda_http::{service_fn, Error};
use queries::{get_payoff_plan, QueryDeps};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = QueryDeps::from_env().await?;
    lambda_http::run(service_fn(|request| get_payoff_plan(request, &deps))).await
}
