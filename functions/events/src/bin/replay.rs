//! Lambda entrypoint of the `replay` function: rebuilds read items from the event log on the table named by
//! `TABLE_NAME`. It takes `{"scope": "all" | {"user": NAME} | {"debt": ID}, "dry_run": bool}` and returns
//! the report. The same replay runs from a command line as `replay-cli` (`make replay`).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use projections::replay::{replay, ReplayOptions};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let stores = &env.sealed_table()?.stores;
    lambda_runtime::run(service_fn(|event: LambdaEvent<ReplayOptions>| async move {
        replay(stores, &event.payload, |p| {
            tracing::info!(
                done = p.done,
                total = p.total,
                events = p.events,
                "replay progress"
            )
        })
        .await
        .map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
