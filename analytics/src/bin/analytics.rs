//! Lambda entrypoint of the `analytics` function: the target of the bus rule, one event per invocation,
//! whose `detail` is the event envelope. An error makes Lambda retry it (then the dead-letter queue).

use std::sync::Arc;

use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use store::EventStore;
use store_dynamodb::DynamoStore;

#[tokio::main]
async fn main() -> Result<(), Error> {
    http_api::logging::init();
    let config = aws_env::load().await;
    let store: Arc<dyn EventStore> = Arc::new(DynamoStore::from_env(&config)?);
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<EventBridgeEvent<events::EventEnvelope>>| {
            let store = Arc::clone(&store);
            async move {
                analytics::record_event(store.as_ref(), &event.payload.detail).await?;
                Ok::<_, Error>(())
            }
        },
    ))
    .await
}
