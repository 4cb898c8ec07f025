//! Lambda entrypoint of the `login` function: builds its dependencies once, then serves each request.

use commands::{login, LoginDeps};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = LoginDeps::from_env().await?;
    lambda_http::run(service_fn(|request| login(request, &deps))).await
}
