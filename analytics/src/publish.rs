//! The table stream's second reader: puts every committed event on the EventBridge bus with `PutEvents`,
//! `source` = `debts.events`, `detail-type` = the event type and `detail` = the documented envelope (upcast to
//! this build's schema versions), so a subscriber's rule matches on the event type itself and reads the same
//! JSON the export writes.
//!
//! Delivery is at least once. `PutEvents` can refuse some entries of a call and accept the rest; refused
//! entries are retried here a few times with backoff, and the records whose entries are still refused are
//! reported as batch item failures, so Lambda retries from the first of them. Entries already accepted may
//! then be put again: subscribers deduplicate on `event_id`, as `analytics` does.

use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use chrono::{DateTime, Utc};
use events::EventEnvelope;
use lambda_support::metrics;
use serde_json::Value;
use store::codec;

/// The `source` of every event this API puts on the bus.
pub const EVENT_SOURCE: &str = "debts.events";
/// `PutEvents` takes at most this many entries per call.
const ENTRIES_PER_CALL: usize = 10;
/// Attempts per entry before its record is reported for Lambda to retry.
const ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("stream record {0} has no readable new image: {1}")]
    Image(String, String),
    #[error("stream record {0} is not a valid event: {1}")]
    Event(String, events::DecodeError),
    #[error("the event bus refused the call: {0}")]
    Bus(String),
}

/// One event as the bus receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct BusEntry {
    pub detail_type: String,
    /// The envelope as JSON text.
    pub detail: String,
    pub time: DateTime<Utc>,
}

impl BusEntry {
    pub fn of(envelope: &EventEnvelope) -> Self {
        BusEntry {
            detail_type: envelope.event_type().to_owned(),
            detail: serde_json::to_string(envelope).expect("an envelope serialises"),
            time: envelope.occurred_at,
        }
    }
}

/// Where events are put: EventBridge, or a test's stand-in.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Puts at most ten entries in one call; answers, entry by entry, `None` when accepted or the error code
    /// of a refused one.
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, PublishError>;
}

/// The bus named by `EVENT_BUS_NAME`, through EventBridge's `PutEvents`.
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        EventBridgeBus {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, PublishError> {
        let request = entries.iter().map(|entry| {
            aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                .event_bus_name(&self.bus_name)
                .source(EVENT_SOURCE)
                .detail_type(&entry.detail_type)
                .detail(&entry.detail)
                .time(aws_sdk_eventbridge::primitives::DateTime::from_millis(
                    entry.time.timestamp_millis(),
                ))
                .build()
        });
        let output = self
            .client
            .put_events()
            .set_entries(Some(request.collect()))
            .send()
            .await
            .map_err(|e| {
                PublishError::Bus(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(output
            .entries()
            .iter()
            .map(|result| result.error_code().map(str::to_owned))
            .collect())
    }
}

/// The envelope of an event item's stream record; `None` for records of other items (the mapping's filter
/// already drops them; this keeps a misconfigured filter from publishing credentials or read items) and for
/// anything but the event's insertion: a DynamoDB mapping filters on the `dynamodb` key only (keys, images),
/// never on `eventName`, so a legacy event redacted in place (`MODIFY`) reaches this function and must not
/// be published a second time.
pub fn envelope_of(record: &EventRecord) -> Result<Option<EventEnvelope>, PublishError> {
    if record.event_name != "INSERT" {
        return Ok(None);
    }
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

/// One envelope per event record, in the batch's order.
pub fn envelopes(records: &[EventRecord]) -> Result<Vec<EventEnvelope>, PublishError> {
    let mut published = Vec::with_capacity(records.len());
    for record in records {
        published.extend(envelope_of(record)?);
    }
    Ok(published)
}

/// What the `publish-events` Lambda does with a batch of stream records: puts each event on the bus and
/// answers the records to retry (an unreadable record, or one whose entry the bus kept refusing).
pub async fn publish_batch(batch: &Event, bus: &dyn EventBus) -> DynamoDbEventResponse {
    let mut failed: Vec<String> = Vec::new();
    let mut pending: Vec<(String, BusEntry)> = Vec::new();
    for record in &batch.records {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        match envelope_of(record) {
            Ok(Some(envelope)) => pending.push((sequence, BusEntry::of(&envelope))),
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "stream record not published");
                failed.push(sequence);
            }
        }
    }
    let total = pending.len();
    for attempt in 1..=ATTEMPTS {
        if pending.is_empty() {
            break;
        }
        if attempt > 1 {
            tokio::time::sleep(Duration::from_millis(100 << (attempt - 2))).await;
        }
        pending = put_all(bus, pending).await;
        if !pending.is_empty() {
            metrics::count("publish-events", "EntriesRefused", pending.len() as u64);
            tracing::warn!(
                refused = pending.len(),
                attempt,
                "the bus refused entries; retrying"
            );
        }
    }
    tracing::info!(
        records = batch.records.len(),
        published = total - pending.len(),
        "published"
    );
    metrics::count(
        "publish-events",
        "EventsPublished",
        (total - pending.len()) as u64,
    );
    failed.extend(pending.into_iter().map(|(sequence, _)| sequence));
    metrics::count("publish-events", "RecordsReported", failed.len() as u64);
    let mut response = DynamoDbEventResponse::default();
    for sequence in failed {
        let mut failure = DynamoDbBatchItemFailure::default();
        failure.item_identifier = Some(sequence);
        response.batch_item_failures.push(failure);
    }
    response
}

/// Puts the entries ten at a time; answers the ones the bus refused (a failed call refuses its whole chunk).
async fn put_all(bus: &dyn EventBus, entries: Vec<(String, BusEntry)>) -> Vec<(String, BusEntry)> {
    let mut refused = Vec::new();
    for chunk in entries.chunks(ENTRIES_PER_CALL) {
        let bus_entries: Vec<BusEntry> = chunk.iter().map(|(_, entry)| entry.clone()).collect();
        match bus.put(&bus_entries).await {
            Ok(results) if results.len() == chunk.len() => refused.extend(
                chunk
                    .iter()
                    .zip(results)
                    .filter(|(_, error)| error.is_some())
                    .map(|(pending, _)| pending.clone()),
            ),
            Ok(_) => refused.extend(chunk.iter().cloned()),
            Err(error) => {
                tracing::warn!(%error, "PutEvents failed");
                refused.extend(chunk.iter().cloned());
            }
        }
    }
    refused
}
