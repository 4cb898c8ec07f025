//! Lambda entrypoint of the `erase-user` function: builds its dependencies once, then serves each request.

use commands::{erase_user, ErasureDeps};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = ErasureDeps::from_env().await?;
    lambda_http::run(service_fn(|request| erase_user(request, &deps))).await
}
