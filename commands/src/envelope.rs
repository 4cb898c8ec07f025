//! Wrapping the decider's payloads into stored events, and running password hashing off the async threads.

use chrono::{DateTime, Utc};
use events::{AggregateType, EventEnvelope, EventPayload};
use http_api::{Problem, RequestMeta};
use uuid::Uuid;

/// Numbers `payloads` from `after_version + 1` and stamps each with the request's metadata.
pub fn envelopes(
    aggregate_type: AggregateType,
    aggregate_id: &str,
    after_version: u64,
    payloads: Vec<EventPayload>,
    actor: &str,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Vec<EventEnvelope> {
    payloads
        .into_iter()
        .zip(after_version + 1..)
        .map(|(payload, version)| EventEnvelope {
            event_id: Uuid::new_v4(),
            schema_version: EventPayload::current_schema_version(payload.event_type())
                .expect("this build knows every event type it writes"),
            aggregate_type,
            aggregate_id: aggregate_id.to_owned(),
            version,
            occurred_at: now,
            actor: actor.to_owned(),
            correlation_id: meta.correlation_id,
            causation_id: None,
            payload,
        })
        .collect()
}

/// Runs CPU-heavy work (password hashing) off the async threads.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(work).await.map_err(|e| {
        tracing::error!(error = %e, "blocking task failed");
        Problem::internal("the request could not be completed")
    })
}
