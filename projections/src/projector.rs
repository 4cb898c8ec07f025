//! The DynamoDB Streams Lambda: each record of an event item names an aggregate to catch up; everything else
//! (read items, guards, credentials) is ignored. Each aggregate is caught up once per batch, whatever the
//! number of its records; when it fails, all its records are reported (`ReportBatchItemFailures`) and the
//! other aggregates' progress stands.

use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde_json::Value;
use store::{keys, AggregateRef, EventStore, ItemKey};

use crate::catch_up::{catch_up, Projected};

/// The key of the event item a stream record is about, or `None` for any other item.
pub fn event_key_of(record: &EventRecord) -> Option<ItemKey> {
    let keys_json = serde_json::to_value(&record.change.keys).ok()?;
    let text = |name: &str| {
        keys_json
            .get(name)?
            .get("S")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let key = ItemKey::new(text("PK")?, text("SK")?);
    keys::parse_event_key(&key).map(|_| key)
}

/// The aggregate an event item's stream record names, or `None` for any other item.
pub fn aggregate_of(record: &EventRecord) -> Option<AggregateRef> {
    AggregateRef::of_event_key(&event_key_of(record)?)
}

/// Groups values by aggregate: aggregates in order of first appearance, each with its values in order.
pub fn group_by_aggregate<T>(
    values: impl IntoIterator<Item = (AggregateRef, T)>,
) -> Vec<(AggregateRef, Vec<T>)> {
    let mut groups: Vec<(AggregateRef, Vec<T>)> = Vec::new();
    for (aggregate, value) in values {
        match groups.iter_mut().find(|(a, _)| *a == aggregate) {
            Some((_, group)) => group.push(value),
            None => groups.push((aggregate, vec![value])),
        }
    }
    groups
}

/// Projects a batch of stream records; the response lists the records to retry.
pub async fn project_batch(event: &Event, store: &dyn EventStore) -> DynamoDbEventResponse {
    // Each aggregate once, with the sequence numbers of its records.
    let order = group_by_aggregate(event.records.iter().filter_map(|record| {
        let sequence = record.change.sequence_number.clone().unwrap_or_default();
        Some((aggregate_of(record)?, sequence))
    }));
    let mut response = DynamoDbEventResponse::default();
    // A record without a creation time (the epoch) says nothing about lag.
    let oldest = event
        .records
        .iter()
        .map(|record| record.change.approximate_creation_date_time)
        .filter(|created| created.timestamp() > 0)
        .min();
    for (aggregate, sequences) in order {
        match catch_up(store, &aggregate).await {
            Ok(outcome) => {
                let written = matches!(outcome, Projected::Written(_));
                tracing::info!(aggregate = %aggregate.aggregate_id, written, "projected");
            }
            Err(error) => {
                tracing::error!(aggregate = %aggregate.aggregate_id, %error, "projection failed; records reported for retry");
                for sequence in sequences {
                    let mut failure = DynamoDbBatchItemFailure::default();
                    failure.item_identifier = Some(sequence);
                    response.batch_item_failures.push(failure);
                }
            }
        }
    }
    if let Some(oldest) = oldest {
        // How far behind the writes the read items are: from the oldest record's commit to now.
        let lag = (chrono::Utc::now() - oldest).num_milliseconds().max(0) as f64;
        lambda_support::metrics::emit(
            &[("Function", "projector")],
            &[(
                "ProjectionLag",
                lag,
                lambda_support::metrics::Unit::Milliseconds,
            )],
        );
    }
    response
}
