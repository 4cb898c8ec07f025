//! The envelope: metadata common to every event, with the event-specific payload flattened into it.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::names::snake_case_names;
use crate::payload::EventPayload;

snake_case_names! {
    /// Which kind of aggregate an event belongs to; also the prefix of the aggregate's partition key.
    pub enum AggregateType in "aggregate_type" { User, Debt }
}

/// One stored event. Serialised, it is a flat JSON object: the metadata fields below plus `event_type` and
/// `data` from the payload (see `docs/events.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "EventEnvelope")]
pub struct EventEnvelope {
    /// Unique id of this event; consumers deduplicate on it.
    pub event_id: Uuid,
    /// Version of the `data` shape for this `event_type`; starts at 1 and rises with each breaking change.
    pub schema_version: u32,
    /// The kind of aggregate the event belongs to.
    pub aggregate_type: AggregateType,
    /// The aggregate's id: the username for users, the debt's UUID for debts.
    pub aggregate_id: String,
    /// Position of the event in its aggregate's history: 1, 2, 3, ... with no gaps.
    pub version: u64,
    /// When the command that produced the event was decided, UTC.
    pub occurred_at: DateTime<Utc>,
    /// Username of whoever caused the event.
    pub actor: String,
    /// Id shared by everything one request caused; follows a request through logs and consumers. A client's
    /// own `X-Correlation-Id` when that is a UUID; when it is another string, that string's UUIDv5 (see
    /// `client_correlation_id`), so every event of one client id shares one `correlation_id`.
    pub correlation_id: Uuid,
    /// The client's `X-Correlation-Id`, verbatim, when it was not a UUID (visible ASCII, 1-128 characters).
    /// Absent otherwise, and in events written before the field existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 128), regex(pattern = r"^[!-~]{1,128}$"))]
    pub client_correlation_id: Option<String>,
    /// Id of the message (request or event) that directly caused this event, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub causation_id: Option<Uuid>,
    /// `event_type` and `data`.
    #[serde(flatten)]
    pub payload: EventPayload,
}

impl EventEnvelope {
    /// A new event (with a fresh id) at `version` of `aggregate_id`, in its payload type's current schema
    /// version; the aggregate type follows from the payload, and the causation is unknown.
    pub fn new(
        aggregate_id: impl Into<String>,
        version: u64,
        payload: EventPayload,
        occurred_at: DateTime<Utc>,
        actor: impl Into<String>,
        correlation_id: Uuid,
    ) -> Self {
        EventEnvelope {
            event_id: crate::ids::random_uuid(),
            schema_version: EventPayload::current_schema_version(payload.event_type())
                .expect("every payload type has a current schema version"),
            aggregate_type: payload.aggregate_type(),
            aggregate_id: aggregate_id.into(),
            version,
            occurred_at,
            actor: actor.into(),
            correlation_id,
            client_correlation_id: None,
            causation_id: None,
            payload,
        }
    }

    /// The same event, carrying the client's own correlation id (when it was not a UUID).
    #[must_use]
    pub fn with_client_correlation_id(mut self, client_correlation_id: Option<String>) -> Self {
        self.client_correlation_id = client_correlation_id;
        self
    }

    /// The event type's name as it appears in `event_type`.
    pub fn event_type(&self) -> &'static str {
        self.payload.event_type()
    }
}
