//! Lambda entrypoint of the `analytics` function: the target of the bus rule, one event per invocation,
//! whose `detail` is the event envelope (read through the upcaster, so an envelope of an older schema
//! version still counts). An error makes Lambda retry it, then send it to the dead-letter queue.

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use events::Upcaster;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use store::EventStore;
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let store: Arc<dyn EventStore> = Arc::new(DynamoStore::from_env(&config)?);
    let upcaster = Upcaster::default();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| {
            let (store, upcaster) = (Arc::clone(&store), &upcaster);
            async move {
                analytics::handle_bus_event(store.as_ref(), upcaster, event.payload).await?;
                Ok::<_, Error>(())
            }
        },
    ))
    .await
}
