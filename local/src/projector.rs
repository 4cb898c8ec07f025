//! The in-process projector: committed events reach the Streams projector as the records DynamoDB Streams
//! would deliver, either from the SQLite change feed or from a polled DynamoDB stream; records of aggregates
//! that fail are delivered again, as Lambda retries a failed batch. On shutdown the source is drained first,
//! so no committed event is left unprojected; what a crash leaves behind, the start-up catch-up (a replay)
//! picks up.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use projections::project_batch;
use projections::stream::{insert_record, StreamPoller};
use store::{EventStore, ItemKey};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

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

/// Starts projecting from the SQLite change feed; ends, after draining it, when `shutdown` turns true.
pub fn spawn(
    store: Arc<dyn EventStore>,
    mut feed: mpsc::UnboundedReceiver<ItemKey>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sequence = 0u64;
        let mut pending: Vec<EventRecord> = Vec::new();
        let mut record = |key: ItemKey| {
            sequence += 1;
            insert_record(&key, sequence)
        };
        loop {
            let stopping = if pending.is_empty() {
                tokio::select! {
                    key = feed.recv() => match key {
                        Some(key) => { pending.push(record(key)); false }
                        None => return,
                    },
                    _ = shutdown.changed() => true,
                }
            } else {
                *shutdown.borrow()
            };
            while let Ok(key) = feed.try_recv() {
                pending.push(record(key));
            }
            pending = project(&store, std::mem::take(&mut pending)).await;
            if stopping {
                return;
            }
            if !pending.is_empty() {
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
        loop {
            let stopping = *shutdown.borrow();
            match poller.poll().await {
                Ok(polled) => pending.extend(polled.records),
                Err(error) => tracing::warn!(%error, "stream poll failed; retrying"),
            }
            pending = project(&store, std::mem::take(&mut pending)).await;
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
