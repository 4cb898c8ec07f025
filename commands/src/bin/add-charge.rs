//! Lambda entrypoint of the `add-charge` function: builds its dependencies once, then serves each request.

use commands::{add_charge, DebtDeps};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = DebtDeps::from_env().await?;
    lambda_http::run(service_fn(|request| add_charge(request, &deps))).await
}
