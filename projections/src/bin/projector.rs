//! Lambda entrypoint of the `projector` function (DynamoDB Streams event source, ReportBatchItemFailures).

use std::sync::Arc;

use aws_lambda_events::dynamodb::Event;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use projections::project_batch;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_support::logging::init();
    let store = privacy::SealingStore::table_from_env().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<Event>| {
        let store = Arc::clone(&store);
        async move { Ok::<_, Error>(project_batch(&event.payload, store.as_ref()).await) }
    }))
    .await
}
