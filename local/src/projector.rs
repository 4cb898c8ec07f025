//! The in-process stream readers: committed events reach the Streams projector as the records DynamoDB
//! Streams would deliver, either from the SQLite change feed or from a polled DynamoDB stream; records of
//! aggregates that fail are delivered again, as Lambda retries a failed batch. The same events reach the
//! analytics consumer as envelopes, as the publisher and the bus deliver them, and to the notice emailer
//! (its outbox); failed deliveries are retried too. The two are separate loops, as they are separate readers on AWS, so analytics never holds up the
//! read items. On shutdown the source is drained first and both loops finish what they were given, so no
//! committed event is left unprojected; what a crash leaves behind, the start-up catch-up (a replay) picks up.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::dynamodb::{Event, EventRecord};
use notices::email::EmailDeps;
use privacy::SealedStores;
use projections::project_batch;
use projections::projector::{event_key_of, group_by_aggregate};
use store::{AggregateRef, ItemKey, Stores};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tools::stream::{insert_record, StreamPoller};

/// Projects `records`, returning the records of aggregates that failed, to deliver again.
async fn project(stores: &Stores, records: Vec<EventRecord>) -> Vec<EventRecord> {
    if records.is_empty() {
        return records;
    }
    let mut batch = Event::default();
    batch.records = records;
    let response = project_batch(&batch, stores).await;
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
async fn publish(engine: &Stores, email: Option<&EmailDeps>, keys: Vec<ItemKey>) -> Vec<ItemKey> {
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
        if let Err(error) = deliver(engine, email, &aggregate, &wanted).await {
            tracing::warn!(%error, aggregate = %aggregate.aggregate_id, "analytics delivery failed; retrying");
            // Redelivering the ones that did arrive is harmless: the consumer is idempotent.
            failed.extend(wanted.into_iter().map(|(_, key)| key));
        }
    }
    failed
}

async fn deliver(
    engine: &Stores,
    email: Option<&EmailDeps>,
    aggregate: &AggregateRef,
    wanted: &[(u64, ItemKey)],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let oldest = wanted.first().map_or(1, |(version, _)| *version);
    let history = engine.events.load_events(aggregate, oldest - 1).await?;
    for (version, _) in wanted {
        let event = history
            .iter()
            .find(|e| e.version == *version)
            .ok_or("a committed event is missing")?;
        analytics::record_event(engine, event).await?;
        // The bus's second rule: notices, to the users who want them by email (the outbox here).
        if let Some(email) = email {
            notices::email::deliver(email, event).await?;
        }
    }
    Ok(())
}

/// How long what failed waits before it is tried again (Lambda retries a failed batch about as soon).
const RETRY_AFTER: Duration = Duration::from_millis(200);

/// Waits for input when there is nothing left to retry, then takes everything that has arrived; `false` once
/// the input is closed and drained.
async fn gather<T>(input: &mut mpsc::UnboundedReceiver<T>, into: &mut Vec<T>) -> bool {
    if into.is_empty() {
        match input.recv().await {
            Some(value) => into.push(value),
            None => return false,
        }
    }
    loop {
        match input.try_recv() {
            Ok(value) => into.push(value),
            Err(mpsc::error::TryRecvError::Empty) => return true,
            Err(mpsc::error::TryRecvError::Disconnected) => return false,
        }
    }
}

/// One reader's loop: hands what arrives to `round`, which returns what failed, and retries that until the
/// input closes; then one last round (what still fails is left for the start-up catch-up). The projector and
/// the publisher each have one, as each is a stream reader of its own on AWS, so that a slow analytics
/// delivery never holds up the read items (on DynamoDB it takes more round trips per event than projecting).
async fn run_reader<T, Round>(
    mut input: mpsc::UnboundedReceiver<T>,
    mut round: impl FnMut(Vec<T>) -> Round,
) where
    Round: std::future::Future<Output = Vec<T>>,
{
    let mut pending = Vec::new();
    loop {
        let open = gather(&mut input, &mut pending).await;
        pending = round(std::mem::take(&mut pending)).await;
        if !open {
            return;
        }
        if !pending.is_empty() {
            tokio::time::sleep(RETRY_AFTER).await;
        }
    }
}

/// The two readers of the change source; dropping it closes their inputs, and [`Readers::finish`] waits for
/// their last rounds.
struct Readers {
    projector: mpsc::UnboundedSender<EventRecord>,
    publisher: mpsc::UnboundedSender<ItemKey>,
    handles: [JoinHandle<()>; 2],
}

impl Readers {
    /// The projector reads events opened, as on AWS through its sealing store; the publisher reads them as
    /// the table's stream carries them, sealed, so the bus and analytics get what they get on AWS.
    fn start(store: &SealedStores, email: Option<Arc<EmailDeps>>) -> Self {
        let opened = Arc::new(store.stores.clone());
        let sealed = Arc::new(
            store
                .stores
                .clone()
                .with_events(Arc::clone(&store.engine_events)),
        );
        let (projector, projector_input) = mpsc::unbounded_channel();
        let (publisher, publisher_input) = mpsc::unbounded_channel();
        Readers {
            projector,
            publisher,
            handles: [
                tokio::spawn(run_reader(projector_input, {
                    let store = opened;
                    move |records| {
                        let store = Arc::clone(&store);
                        async move { project(&store, records).await }
                    }
                })),
                tokio::spawn(run_reader(publisher_input, {
                    let store = sealed;
                    move |keys| {
                        let store = Arc::clone(&store);
                        let email = email.clone();
                        async move { publish(&store, email.as_deref(), keys).await }
                    }
                })),
            ],
        }
    }

    /// Hands a committed event's stream record to both readers.
    fn deliver(&self, record: EventRecord) {
        if let Some(key) = event_key_of(&record) {
            let _ = self.publisher.send(key);
        }
        let _ = self.projector.send(record);
    }

    async fn finish(self) {
        let Readers {
            projector,
            publisher,
            handles,
        } = self;
        drop((projector, publisher));
        for handle in handles {
            let _ = handle.await;
        }
    }
}

/// Starts projecting from the SQLite change feed; ends, after draining it, when `shutdown` turns true.
pub fn spawn(
    store: SealedStores,
    email: Option<Arc<EmailDeps>>,
    mut feed: mpsc::UnboundedReceiver<ItemKey>,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let readers = Readers::start(&store, email);
        let mut sequence = 0u64;
        loop {
            tokio::select! {
                key = feed.recv() => match key {
                    Some(key) => {
                        sequence += 1;
                        readers.deliver(insert_record(&key, sequence));
                    }
                    None => break,
                },
                _ = shutdown.changed() => {
                    while let Ok(key) = feed.try_recv() {
                        sequence += 1;
                        readers.deliver(insert_record(&key, sequence));
                    }
                    break;
                }
            }
        }
        readers.finish().await;
    })
}

/// Starts projecting from a DynamoDB stream, polled as Lambda's event source mapping would; ends, after a
/// last poll, when `shutdown` turns true.
pub fn spawn_stream(
    store: SealedStores,
    email: Option<Arc<EmailDeps>>,
    mut poller: StreamPoller,
    mut shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let readers = Readers::start(&store, email);
        loop {
            let stopping = *shutdown.borrow();
            match poller.poll().await {
                Ok(polled) => polled.records.into_iter().for_each(|r| readers.deliver(r)),
                Err(error) => tracing::warn!(%error, "stream poll failed; retrying"),
            }
            if stopping {
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                _ = shutdown.changed() => {}
            }
        }
        readers.finish().await;
    })
}
