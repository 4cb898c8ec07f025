//! Lambda entrypoint of the `analytics` function: the target of the bus rule, one event per invocation,
//! whose `detail` is the event envelope (read through the event codec, so an envelope of an older schema
//! version still counts). An error makes Lambda retry it, then send it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let store = DynamoStore::shared_from_env().await?;
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let store = Arc::clone(&store);
            async move {
                analytics::handle_bus_event(store.as_ref(), event.payload).await?;
                Ok::<_, Error>(())
            }
        },
    ))
    .await
}
