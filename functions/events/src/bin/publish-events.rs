//! Lambda entrypoint of the `publish-events` function: the table stream's second reader (event items only,
//! `ReportBatchItemFailures`). It puts each committed event on the bus named by `EVENT_BUS_NAME`.

use analytics::publish::{publish_batch, EventBridgeBus};
use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let bus = &EventBridgeBus::new(
        aws_sdk_eventbridge::Client::new(env.config()),
        aws_clients::environment::variable("EVENT_BUS_NAME")?,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(publish_batch(&event.payload, bus).await)
    }))
    .await
}
