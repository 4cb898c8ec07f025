//! The one event codec: how an event envelope becomes a stored item and how a stored item (or a delivered
//! envelope) becomes an event of this build's types, upcast from whatever schema version it was written in.
//! Engines move plain attributes; nothing else in the workspace serialises, decodes or upcasts events.

use std::sync::LazyLock;

use events::{DecodeError, EventEnvelope, Personal, RedactedEvent, Upcaster};
use serde::Serialize;
use serde_json::Value;

use crate::error::StoreError;
use crate::item::{Attributes, Item};
use crate::keys;

/// The production upcasting chain, built once per process.
static UPCASTER: LazyLock<Upcaster> = LazyLock::new(Upcaster::default);

/// The attributes of one of our own types (an envelope, a view, a contribution).
///
/// Every type passed here is a struct with named fields and string-keyed maps only, so it always
/// serialises to a JSON object; anything else is a programming error, caught by the first test that stores one.
pub fn to_attributes<T: Serialize>(value: &T) -> Attributes {
    match serde_json::to_value(value) {
        Ok(Value::Object(attributes)) => attributes,
        other => panic!(
            "{} must serialise to a JSON object, got {other:?}",
            std::any::type_name::<T>()
        ),
    }
}

/// The item an event is stored as: its key in the aggregate's partition and the envelope's fields.
pub fn encode_event(event: &EventEnvelope) -> Item {
    Item {
        key: keys::event_key(event.aggregate_type, &event.aggregate_id, event.version),
        attributes: to_attributes(event),
    }
}

/// Reads an envelope delivered as JSON (a bus event's `detail`, a stream image without its key), upcast to
/// this build's schema versions.
pub fn decode_envelope(stored: Value) -> Result<EventEnvelope, DecodeError> {
    UPCASTER.decode(stored)
}

/// Reads a stored event item; one that does not decode is [`StoreError::Corrupt`], naming its key.
pub fn decode_event(item: Item) -> Result<EventEnvelope, StoreError> {
    let Item { key, attributes } = item;
    decode_envelope(Value::Object(attributes)).map_err(|e| StoreError::Corrupt {
        pk: key.pk,
        sk: key.sk,
        reason: e.to_string(),
    })
}

/// The one rewrite an event ever gets (see `EventStore::redact_legacy_event`): `stored` with each personal
/// field named in `redaction` that it holds in clear replaced by `"[erased]"`. Sealed fields, every other
/// field and the stored schema version stay as they are. Refused when the item is not the event named.
pub fn redact_legacy_event(stored: Item, redaction: &RedactedEvent) -> Result<Item, StoreError> {
    let stored_version = stored.attributes.get("schema_version").cloned();
    let key = stored.key.clone();
    let mut event = decode_event(stored)?;
    if event.event_id != redaction.event_id || event.version != redaction.version {
        return Err(StoreError::InvalidRequest(format!(
            "{}/{} is not event {}",
            key.pk, key.sk, redaction.event_id
        )));
    }
    for (name, field) in event.payload.personal_fields_mut() {
        if matches!(field, Personal::Clear(_)) && redaction.fields.iter().any(|f| f == name) {
            *field = Personal::from(events::ERASED);
        }
    }
    let mut item = encode_event(&event);
    if let Some(version) = stored_version {
        item.attributes.insert("schema_version".into(), version);
    }
    Ok(item)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use events::{AggregateType, DebtDeleted, EventPayload};

    fn deleted_debt() -> EventEnvelope {
        EventEnvelope {
            event_id: uuid_v4(),
            schema_version: 2,
            aggregate_type: AggregateType::Debt,
            aggregate_id: "d-1".into(),
            version: 3,
            occurred_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap(),
            actor: "alice".into(),
            correlation_id: uuid_v4(),
            client_correlation_id: None,
            causation_id: None,
            payload: EventPayload::DebtDeleted(DebtDeleted { reason: None }),
        }
    }

    fn uuid_v4() -> uuid::Uuid {
        uuid::Uuid::new_v4()
    }

    #[test]
    fn an_event_round_trips_through_its_item() {
        let event = deleted_debt();
        let item = encode_event(&event);
        assert_eq!(item.key, keys::event_key(AggregateType::Debt, "d-1", 3));
        assert_eq!(item.attributes["event_type"], "DebtDeleted");
        assert_eq!(decode_event(item).unwrap(), event);
    }

    #[test]
    fn an_undecodable_item_is_corrupt_and_names_its_key() {
        let mut item = encode_event(&deleted_debt());
        item.attributes
            .insert("schema_version".into(), Value::from(99));
        match decode_event(item) {
            Err(StoreError::Corrupt { pk, sk, reason }) => {
                assert_eq!(
                    (pk.as_str(), sk.as_str()),
                    ("DEBT#d-1", "EVENT#d-1#0000000003")
                );
                assert!(reason.contains("newer"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }
}
