//! Lambda entrypoint of the `replay` function: rebuilds read items from the event log on the table named by
//! `TABLE_NAME`. `{"scope": "all", "segments": N, "dry_run": bool}` starts a job over the whole table, which
//! works until a minute before the invocation's deadline and then continues in a new invocation through the
//! bus `EVENT_BUS_NAME` (`projections::replay_job`); `{"job_id": ...}` resumes one; `{"scope": {"user":
//! NAME}}` or `{"scope": {"debt": ID}}` replays at once. The same replay runs from a command line as
//! `replay-cli` (`make replay`).

use std::time::{Duration, Instant, SystemTime};

use event_functions::BusContinuation;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use projections::replay_job::{self, ReplayRequest};

/// The time left for the last page and the continuation.
const MARGIN: Duration = Duration::from_secs(60);

#[tokio::main]
async fn main() -> Result<(), Error> {
    let env = aws_clients::Environment::load().await;
    let stores = &env.sealed_table()?.stores;
    let continuation = &BusContinuation::new(
        aws_sdk_eventbridge::Client::new(env.config()),
        aws_clients::environment::variable("EVENT_BUS_NAME")?,
    );
    lambda_runtime::run(service_fn(|event: LambdaEvent<ReplayRequest>| async move {
        let left = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        let deadline = Instant::now() + left.saturating_sub(MARGIN);
        replay_job::handle(
            stores,
            event.payload,
            replay_job::until(deadline),
            continuation,
        )
        .await
        .map_err(|e| Error::from(e.to_string()))
    }))
    .await
}
