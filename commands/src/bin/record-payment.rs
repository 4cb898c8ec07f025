//! Lambda entrypoint of the `record-payment` function: builds its dependencies once, then serves each request.

use commands::{record_payment, DebtDeps};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = DebtDeps::from_env().await?;
    lambda_http::run(service_fn(|request| record_payment(request, &deps))).await
}
