//! Lambda entrypoint of the `projector` function (DynamoDB Streams event source, ReportBatchItemFailures).

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use projections::project_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let stores = &env.sealed_table()?.stores;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| async move {
        Ok::<_, Error>(project_batch(&event.payload, stores).await)
    }))
    .await
}
