//! Lambda entrypoint of the `notice-sweep` function: invoked by an EventBridge Scheduler schedule every 15
//! minutes (its payload is not read), it runs one sweep of the notice time index on the table named by
//! `TABLE_NAME` (`notices::sweep`) at the invocation's time, under a correlation id of its own. The table is
//! opened unsealed: the sweep reads no personal field and writes none. A store error fails the invocation;
//! the next run goes on from the last hour finished.

use lambda_runtime::{service_fn, Error, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let deps = &notices::SweepDeps::new(&env.table()?);
    lambda_runtime::run(service_fn(
        |_event: LambdaEvent<serde_json::Value>| async move {
            let run = uuid::Uuid::new_v4();
            let report = notices::sweep(deps, chrono::Utc::now(), run)
                .await
                .map_err(|e| Error::from(e.to_string()))?;
            tracing::info!(correlation_id = %run, ?report, "notice sweep finished");
            lambda_support::metrics::emit(
                &[("Function", "notice-sweep")],
                &[
                    (
                        "NoticesAppended",
                        report.notices as f64,
                        lambda_support::metrics::Unit::Count,
                    ),
                    (
                        "NoticeEntriesSwept",
                        report.entries as f64,
                        lambda_support::metrics::Unit::Count,
                    ),
                    (
                        "NoticeSweepConflicts",
                        report.conflicts as f64,
                        lambda_support::metrics::Unit::Count,
                    ),
                ],
            );
            Ok::<_, Error>(report)
        },
    ))
    .await
}
