//! Lambda entrypoint of the `analytics` function: the target of the bus rule, one event per invocation,
//! whose `detail` is the event envelope (read through the event codec, so an envelope of an older schema
//! version still counts). An error makes Lambda retry it, then send it to the dead-letter queue.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let stores = &env.table()?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
            analytics::handle_bus_event(stores, event.payload).await?;
            Ok::<_, Error>(())
        },
    ))
    .await
}
