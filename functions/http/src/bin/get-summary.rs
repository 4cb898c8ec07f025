//! Lambda entrypoint of the `get-summary` function (`GET /users/{username}/summary`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = queries::QueryDeps::new(&env.sealed_table()?.stores);
    lambda_http::run(service_fn(|request| queries::get_summary(request, &deps))).await
}
