//! Lambda entrypoint of the `publish-events` function: the table stream's second reader (event items only,
//! `ReportBatchItemFailures`). It puts each committed event on the bus named by `EVENT_BUS_NAME`.

use analytics::publish::{publish_batch, EventBridgeBus};
use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let config = lambda_support::sdk_config().await;
    let bus = EventBridgeBus::from_env(&config)?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let bus = &bus;
        async move { Ok::<_, Error>(publish_batch(&event.payload, bus).await) }
    }))
    .await
}
