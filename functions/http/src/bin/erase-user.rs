//! Lambda entrypoint of the `erase-user` function (`DELETE /users/{username}`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let sealed = env.sealed_table()?;
    let deps = commands::ErasureDeps::new(&sealed.stores, sealed.engine_events, env.passwords()?);
    lambda_http::run(service_fn(|request| commands::erase_user(request, &deps))).await
}
