//! Lambda entrypoint of the `publish-events` function: the EventBridge Pipe's enrichment step. It receives
//! the Pipe's batch of stream records and returns their event envelopes, which the Pipe puts on the bus.

use aws_lambda_events::dynamodb::EventRecord;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    lambda_runtime::run(service_fn(
        |event: LambdaEvent<Vec<EventRecord>>| async move {
            let envelopes = analytics::publish::envelopes(&event.payload)?;
            tracing::info!(
                records = event.payload.len(),
                published = envelopes.len(),
                "published"
            );
            Ok::<_, Error>(envelopes)
        },
    ))
    .await
}
