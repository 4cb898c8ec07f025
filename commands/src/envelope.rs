//! Wrapping the decider's payloads into stored events, and the request headers commands share.

use chrono::{DateTime, Utc};
use events::{AggregateType, EventEnvelope, EventPayload};
use http_api::context::header;
use http_api::{Problem, RequestMeta};
use lambda_http::Request;
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

/// The `Idempotency-Key` header: 1-255 visible ASCII characters, when present.
pub fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let Some(raw) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match raw.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Problem::malformed(
            "Idempotency-Key must be 1-255 visible ASCII characters, e.g. a UUID",
        )),
    }
}

/// The versions an `If-Match` header accepts: `None` when absent, or any version for `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    Any,
    Versions(Vec<u64>),
}

impl Precondition {
    pub fn holds_for(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(versions) => versions.contains(&version),
        }
    }
}

/// Reads `If-Match` (a list of strong ETags such as `"3"`, or `*`).
pub fn if_match(request: &Request) -> Result<Option<Precondition>, Problem> {
    let Some(raw) = header(request, "if-match") else {
        return Ok(None);
    };
    if raw.trim() == "*" {
        return Ok(Some(Precondition::Any));
    }
    raw.split(',')
        .map(|tag| {
            let tag = tag.trim();
            tag.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .and_then(|t| t.parse::<u64>().ok())
        })
        .collect::<Option<Vec<u64>>>()
        .map(|versions| Some(Precondition::Versions(versions)))
        .ok_or_else(|| Problem::malformed("If-Match must hold ETags such as \"3\""))
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
