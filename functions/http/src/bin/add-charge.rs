//! Lambda entrypoint of the `add-charge` function (`POST /debts/{debt_id}/charges`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = commands::DebtDeps::new(&env.sealed_table()?.stores);
    lambda_http::run(service_fn(|request| commands::add_charge(request, &deps))).await
}
