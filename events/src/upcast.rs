//! Upcasting: stored events keep the schema version they were written with; on load, each old `data` shape
//! is lifted one version at a time to the shape the current types expect, so history never needs rewriting.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;

use crate::envelope::EventEnvelope;
use crate::payload::EventPayload;

#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("stored event has no {0} field")]
    MissingField(&'static str),
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error(
        "{event_type} schema version {found} is newer than this build understands ({current})"
    )]
    FromTheFuture {
        event_type: String,
        found: u32,
        current: u32,
    },
    #[error("no upcaster registered for {event_type} from schema version {from}")]
    MissingUpcaster { event_type: String, from: u32 },
    #[error("upcasting {event_type} from schema version {from} failed: {reason}")]
    UpcastFailed {
        event_type: String,
        from: u32,
        reason: String,
    },
    #[error("event does not match its schema: {0}")]
    Shape(#[from] serde_json::Error),
}

/// One step: rewrites the `data` of `event_type` at schema version `from` into version `from + 1`.
type Step = fn(Value) -> Result<Value, String>;

/// The chain of upcasting steps, and the schema version each event type is lifted to.
pub struct Upcaster {
    steps: HashMap<(String, u32), Step>,
    current: fn(&str) -> Option<u32>,
}

impl Default for Upcaster {
    /// The production chain: every event type's current version comes from [`EventPayload`]. Version 2
    /// sealed the personal fields; version 1 data is valid version 2 data whose personal fields are clear
    /// text (which [`crate::Personal`] reads as it is), so each step from 1 keeps the data as it was.
    fn default() -> Self {
        let mut upcaster = Upcaster {
            steps: HashMap::new(),
            current: EventPayload::current_schema_version,
        };
        for event_type in EventPayload::sealing_types() {
            upcaster = upcaster.step(event_type, 1, personal_fields_in_clear);
        }
        upcaster
    }
}

/// Version 1 to 2 of a type with personal fields: the fields stay clear text, which version 2 still reads
/// (as written before sealing, and redacted in place at their owner's erasure).
fn personal_fields_in_clear(data: Value) -> Result<Value, String> {
    if data.is_object() {
        Ok(data)
    } else {
        Err("data is not an object".into())
    }
}

impl Upcaster {
    /// A chain whose current versions come from `current` instead of this build's types; used to show a
    /// type moving on to a new version.
    pub fn with_current_versions(current: fn(&str) -> Option<u32>) -> Self {
        Upcaster {
            steps: HashMap::new(),
            current,
        }
    }

    /// Registers the step that lifts `event_type`'s data from version `from` to `from + 1`.
    pub fn step(mut self, event_type: &str, from: u32, step: Step) -> Self {
        self.steps.insert((event_type.to_owned(), from), step);
        self
    }

    /// Lifts a stored event (as JSON) to its type's current schema version, without interpreting it.
    pub fn upcast(&self, mut stored: Value) -> Result<Value, DecodeError> {
        let event_type = stored
            .get("event_type")
            .and_then(Value::as_str)
            .ok_or(DecodeError::MissingField("event_type"))?
            .to_owned();
        let current = (self.current)(&event_type)
            .ok_or_else(|| DecodeError::UnknownType(event_type.clone()))?;
        let mut version = stored
            .get("schema_version")
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or(DecodeError::MissingField("schema_version"))?;
        if version > current {
            return Err(DecodeError::FromTheFuture {
                event_type,
                found: version,
                current,
            });
        }
        while version < current {
            let step = self
                .steps
                .get(&(event_type.clone(), version))
                .ok_or_else(|| DecodeError::MissingUpcaster {
                    event_type: event_type.clone(),
                    from: version,
                })?;
            let data = stored
                .get_mut("data")
                .map(Value::take)
                .ok_or(DecodeError::MissingField("data"))?;
            let lifted = step(data).map_err(|reason| DecodeError::UpcastFailed {
                event_type: event_type.clone(),
                from: version,
                reason,
            })?;
            version += 1;
            stored["data"] = lifted;
            stored["schema_version"] = Value::from(version);
        }
        Ok(stored)
    }

    /// Upcasts a stored event and reads it as `T` (an envelope of this build's or a test's own types).
    pub fn decode_as<T: DeserializeOwned>(&self, stored: Value) -> Result<T, DecodeError> {
        Ok(serde_json::from_value(self.upcast(stored)?)?)
    }

    /// Upcasts a stored event and reads it as this build's [`EventEnvelope`].
    pub fn decode(&self, stored: Value) -> Result<EventEnvelope, DecodeError> {
        self.decode_as(stored)
    }
}
