//! Lambda entrypoint of the `login` function (`POST /login`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = commands::LoginDeps::new(&env.table()?, env.passwords()?, env.tokens());
    lambda_http::run(service_fn(|request| commands::login(request, &deps))).await
}
