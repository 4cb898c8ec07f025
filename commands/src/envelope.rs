//! Wrapping the decider's payloads into stored events, and running password hashing off the async threads.

use chrono::{DateTime, Utc};
use events::{EventEnvelope, EventPayload};
use http_api::{Problem, RequestMeta};

/// Numbers `payloads` from `after_version + 1` and stamps each with the request's metadata.
pub fn envelopes(
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
        .map(|(payload, version)| {
            EventEnvelope::new(
                aggregate_id,
                version,
                payload,
                now,
                actor,
                meta.correlation_id,
            )
            .with_client_correlation_id(meta.client_correlation_id.clone())
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
