//! The in-process stream readers: committed events reach the Streams projector as the records DynamoDB
//! Streams would deliver, either from the SQLite change feed or from a polled DynamoDB stream; records of
//! aggregates that fail are delivered again, as Lambda retries a failed batch. The same events then reach the
//! analytics consumer as envelopes, as the Pipe and the bus deliver them; failed deliveries are retried too.
//! On shutdown the source is drained first, so no committed event is left unprojected; what a crash leaves
//! behind, the start-up catch-up (a replay) picks up.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use projections::project_batch;
use projections::projector::{event_key_of, group_by_aggregate};
use store::{AggregateRef, EventStore, ItemKey};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tools::stream::{insert_record, StreamPoller};

/// Projects `records`, returning the records of aggregates that failed, to deliver again.
async fn project(store: &Arc<dyn EventStore>, records: Vec<EventRecord>) -> Vec<EventRecord> {
    if records.is_empty() {
        return records;
    }
    let mut batch = Event::default();
    batch.records = records;
    let response = project_batch(&batch, store.as_ref()).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect();
    batch
        .records
        .into_iter()
        .filter(|r| {
            r.change
                .sequence_number
                .as_ref()
                .is_some_and(|s| failed.contains(s))
        })
        .collect()
}

/// The local Pipe and bus: hands each event's envelope to the analytics consumer; returns the keys of the
/// events whose delivery failed, to deliver again. Each aggregate's events are loaded (and upcast) by the
/// store once per round, from the oldest one to deliver.
async fn publish(store: &Arc<dyn EventStore>, keys: Vec<ItemKey>) -> Vec<ItemKey> {
    let by_aggregate = group_by_aggregate(keys.into_iter().filter_map(|key| {
        let (aggregate_type, aggregate_id, version) = store::keys::parse_event_key(&key)?;
        let aggregate = AggregateRef {
            aggregate_type,
            aggregate_id,
        };
        Some((aggregate, (version, key)))
    }));
    let mut failed = Vec::new();
    for (aggregate, mut wanted) in by_aggregate {
        wanted.sort_by_key(|(version, _)| *version);
        if let Err(error) = deliver(store.as_ref(), &aggregate, &wanted).await {
            tracing::warn!(%error, aggregate = %aggregate.aggregate_id, "analytics delivery failed; retrying");
            // Redelivering the ones that did arrive is harmless: the consumer is idempotent.
            failed.extend(wanted.into_iter().map(|(_, key)| key));
        }
    }
    failed
}

async fn deliver(
    store: &dyn EventStore,
    aggregate: &AggregateRef,
    wanted: &[(u64, ItemKey)],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let oldest = wanted.first().map_or(1, |(version, _)| *version);
    let history = store.load_events(aggregate, oldest - 1).await?;
    for (version, _) in wanted {
        let event = history
            .iter()
            .find(|e| e.version == *version)
            .ok_or("a committed event is missing")?;
        analytics::record_event(store, event).await?;
    }
    Ok(())
}

/// Starts projecting from the SQLite change feed; ends, after draining it, when `shutdown` turns true.
pub fn spawn(
    store: Arc<dyn EventStore>,
    mut feed: mpsc::UnboundedReceiver<ItemKey>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sequence = 0u64;
        let mut pending: Vec<EventRecord> = Vec::new();
        let mut fresh: Vec<EventRecord> = Vec::new();
        let mut unpublished: Vec<ItemKey> = Vec::new();
        let mut record = |key: ItemKey| {
            sequence += 1;
            insert_record(&key, sequence)
        };
        loop {
            let stopping = if pending.is_empty() && unpublished.is_empty() {
                tokio::select! {
                    key = feed.recv() => match key {
                        Some(key) => { fresh.push(record(key)); false }
                        None => return,
                    },
                    _ = shutdown.changed() => true,
                }
            } else {
                *shutdown.borrow()
            };
            while let Ok(key) = feed.try_recv() {
                fresh.push(record(key));
            }
            // Retried records are projected again but were published already (or are still unpublished).
            unpublished.extend(fresh.iter().filter_map(event_key_of));
            pending.append(&mut fresh);
            pending = project(&store, std::mem::take(&mut pending)).await;
            unpublished = publish(&store, std::mem::take(&mut unpublished)).await;
            if stopping {
                return;
            }
            if !pending.is_empty() || !unpublished.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
}

/// Starts projecting from a DynamoDB stream, polled as Lambda's event source mapping would; ends, after a
/// last poll, when `shutdown` turns true.
pub fn spawn_stream(
    store: Arc<dyn EventStore>,
    mut poller: StreamPoller,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut pending: Vec<EventRecord> = Vec::new();
        let mut unpublished: Vec<ItemKey> = Vec::new();
        loop {
            let stopping = *shutdown.borrow();
            match poller.poll().await {
                Ok(polled) => {
                    unpublished.extend(polled.records.iter().filter_map(event_key_of));
                    pending.extend(polled.records);
                }
                Err(error) => tracing::warn!(%error, "stream poll failed; retrying"),
            }
            pending = project(&store, std::mem::take(&mut pending)).await;
            unpublished = publish(&store, std::mem::take(&mut unpublished)).await;
            if stopping {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = shutdown.changed() => {}
            }
        }
    })
}
