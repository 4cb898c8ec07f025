//! The EventBridge Pipe's enrichment: turns the DynamoDB stream records of event items into the documented
//! event envelope, so every bus consumer reads the same JSON the export writes and the schemas in `docs/`
//! describe, never DynamoDB's typed attribute format. Old schema versions are upcast on the way out.

use aws_lambda_events::dynamodb::EventRecord;
use events::EventEnvelope;
use serde_json::Value;
use store::codec;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("stream record {0} has no readable new image: {1}")]
    Image(String, String),
    #[error("stream record {0} is not a valid event: {1}")]
    Event(String, events::DecodeError),
}

/// The envelope of an event item's stream record; `None` for records of other items (the Pipe's filter
/// already drops them; this keeps a misconfigured filter from publishing credentials or read items).
pub fn envelope_of(record: &EventRecord) -> Result<Option<EventEnvelope>, PublishError> {
    let id = || record.event_id.clone();
    let image: Value = serde_dynamo::from_item(record.change.new_image.clone())
        .map_err(|e| PublishError::Image(id(), e.to_string()))?;
    let is_event = image
        .get("SK")
        .and_then(Value::as_str)
        .is_some_and(|sk| sk.starts_with(store::keys::EVENT_SK_PREFIX));
    if !is_event {
        return Ok(None);
    }
    let mut attributes = image;
    if let Some(map) = attributes.as_object_mut() {
        map.remove("PK");
        map.remove("SK");
    }
    codec::decode_envelope(attributes)
        .map(Some)
        .map_err(|e| PublishError::Event(id(), e))
}

/// The enrichment's answer: one envelope per event record, in the batch's order.
pub fn envelopes(records: &[EventRecord]) -> Result<Vec<EventEnvelope>, PublishError> {
    let mut published = Vec::with_capacity(records.len());
    for record in records {
        published.extend(envelope_of(record)?);
    }
    Ok(published)
}
