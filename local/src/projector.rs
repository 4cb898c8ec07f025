//! The in-process projector: takes committed event keys from the SQLite change feed, hands them to the
//! Streams projector as the records DynamoDB Streams would deliver, and retries what fails. On shutdown it
//! drains the feed first, so no committed event is left unprojected; what a crash leaves behind, the
//! start-up catch-up (a replay) picks up.

use std::sync::Arc;
use std::time::Duration;

use projections::project_batch;
use projections::stream::insert_record;
use store::{EventStore, ItemKey};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Starts projecting; the task ends, after draining, when `shutdown` turns true.
pub fn spawn(
    store: Arc<dyn EventStore>,
    mut feed: mpsc::UnboundedReceiver<ItemKey>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut sequence = 0u64;
        let mut pending: Vec<ItemKey> = Vec::new();
        loop {
            if pending.is_empty() {
                tokio::select! {
                    key = feed.recv() => match key {
                        Some(key) => pending.push(key),
                        None => return,
                    },
                    _ = shutdown.changed() => {
                        while let Ok(key) = feed.try_recv() {
                            pending.push(key);
                        }
                        project(&store, &mut pending, &mut sequence).await;
                        return;
                    }
                }
            }
            while let Ok(key) = feed.try_recv() {
                pending.push(key);
            }
            project(&store, &mut pending, &mut sequence).await;
            if !pending.is_empty() {
                // Something failed: back off a little, as Lambda retries a failed batch.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    })
}

/// Projects `pending`, leaving in it the keys whose aggregate failed.
async fn project(store: &Arc<dyn EventStore>, pending: &mut Vec<ItemKey>, sequence: &mut u64) {
    if pending.is_empty() {
        return;
    }
    let records = pending
        .iter()
        .map(|key| {
            *sequence += 1;
            insert_record(key, *sequence)
        })
        .collect();
    let mut batch = aws_lambda_events::dynamodb::Event::default();
    batch.records = records;
    let response = project_batch(&batch, store.as_ref()).await;
    let failed: Vec<String> = response
        .batch_item_failures
        .into_iter()
        .filter_map(|f| f.item_identifier)
        .collect();
    let keys = std::mem::take(pending);
    *pending = batch
        .records
        .into_iter()
        .zip(keys)
        .filter(|(record, _)| {
            record
                .change
                .sequence_number
                .as_ref()
                .is_some_and(|s| failed.contains(s))
        })
        .map(|(_, key)| key)
        .collect();
}

/// Starts projecting from a DynamoDB stream, polled as Lambda's event source mapping would; records of
/// aggregates that fail are delivered again on the next poll. Ends, after a last poll, on `shutdown`.
pub fn spawn_stream(
    store: Arc<dyn EventStore>,
    mut poller: projections::stream::StreamPoller,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut retry: Vec<aws_lambda_events::dynamodb::EventRecord> = Vec::new();
        loop {
            let stopping = *shutdown.borrow();
            match poller.poll().await {
                Ok(polled) => retry.extend(polled.records),
                Err(error) => tracing::warn!(%error, "stream poll failed; retrying"),
            }
            if !retry.is_empty() {
                let mut batch = aws_lambda_events::dynamodb::Event::default();
                batch.records = std::mem::take(&mut retry);
                let response = project_batch(&batch, store.as_ref()).await;
                let failed: Vec<String> = response
                    .batch_item_failures
                    .into_iter()
                    .filter_map(|f| f.item_identifier)
                    .collect();
                retry = batch
                    .records
                    .into_iter()
                    .filter(|r| {
                        r.change
                            .sequence_number
                            .as_ref()
                            .is_some_and(|s| failed.contains(s))
                    })
                    .collect();
            }
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
