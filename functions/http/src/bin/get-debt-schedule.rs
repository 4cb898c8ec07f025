//! Lambda entrypoint of the `get-debt-schedule` function (`GET /debts/{debt_id}/schedule`): builds its dependencies once, then serves each
//! request.

use lambda_http::{service_fn, Error};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = queries::QueryDeps::new(&env.sealed_table()?.stores);
    lambda_http::run(service_fn(|request| {
        queries::get_debt_schedule(request, &deps)
    }))
    .await
}
