//! Lambda entrypoint of the `create-user` function: builds its dependencies once, then serves each request.

use commands::{create_user, UserDeps};
use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let deps = UserDeps::from_env().await?;
    lambda_http::run(service_fn(|request| create_user(request, &deps))).await
}
