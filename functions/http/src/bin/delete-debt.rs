//! Lambda entrypoint of the `delete-debt` function (`DELETE /debts/{debt_id}`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = commands::DebtDeps::new(&env.sealed_table()?.stores);
    lambda_http::run(service_fn(|request| commands::delete_debt(request, &deps))).await
}
