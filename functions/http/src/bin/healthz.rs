//! Lambda entrypoint of the `healthz` function (`GET /healthz`): builds its dependencies once, then serves each
//! request. It reads one record, so the table as stored is enough (no key-encryption key).

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = queries::QueryDeps::new(&env.table()?);
    lambda_http::run(service_fn(|request| queries::healthz(request, &deps))).await
}
