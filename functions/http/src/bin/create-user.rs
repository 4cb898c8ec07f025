//! Lambda entrypoint of the `create-user` function (`POST /users`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = commands::UserDeps::new(&env.sealed_table()?.stores, env.passwords()?);
    lambda_http::run(service_fn(|request| commands::create_user(request, &deps))).await
}
