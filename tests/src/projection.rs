//! Support for read-side tests: stream records for every stored event (what the stream delivers, for the
//! engine that has no stream), a canonical snapshot of all read items, and a store that fails on purpose.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use events::EventEnvelope;
use store::{all_pages, AggregateRef, Engine, EventLog, ReadItem, ReadModel, Scan, StoreError};

use crate::intercept::{Call, Hook, Intercepted};

/// Every aggregate in the store.
pub async fn aggregates(store: &dyn EventLog) -> Vec<AggregateRef> {
    all_pages(|cursor| async move { store.list_aggregates(Scan::whole(cursor.as_deref())).await })
        .await
        .unwrap()
}

/// Every read item of every registered kind in the store, tombstones included.
pub async fn read_items(store: &dyn ReadModel) -> Vec<ReadItem> {
    let kinds = projections::projection::kinds();
    let kinds = &kinds;
    all_pages(|cursor| async move {
        store
            .list_read_items(kinds, Scan::whole(cursor.as_deref()))
            .await
    })
    .await
    .unwrap()
}

/// The INSERT stream record Lambda would deliver for an event item.
pub fn stream_record(event: &EventEnvelope, sequence: u64) -> EventRecord {
    tools::stream::insert_record_of(&store::codec::encode_event(event), sequence)
}

/// One record per stored event, in append order per aggregate.
pub async fn records_for_all_events(store: &dyn EventLog) -> Vec<EventRecord> {
    let mut records = Vec::new();
    for aggregate in aggregates(store).await {
        for event in store.load_events(&aggregate, 0).await.unwrap() {
            let sequence = records.len() as u64 + 1;
            records.push(stream_record(&event, sequence));
        }
    }
    records
}

pub fn batch(records: Vec<EventRecord>) -> Event {
    let mut event = Event::default();
    event.records = records;
    event
}

/// Every read item (tombstones included) as canonical JSON, sorted: equal snapshots mean equal read models.
pub async fn read_model_snapshot(store: &dyn ReadModel) -> Vec<String> {
    let mut items: Vec<String> = read_items(store)
        .await
        .into_iter()
        .map(|item| {
            let stored = item.to_item();
            let mut attributes = stored.attributes;
            attributes.insert("PK".into(), stored.key.pk.into());
            attributes.insert("SK".into(), stored.key.sk.into());
            crate::canonical(&serde_json::Value::Object(attributes))
        })
        .collect();
    items.sort();
    items
}

/// Deletes every read item.
pub async fn delete_read_model(store: &dyn ReadModel) {
    for item in read_items(store).await {
        store.delete_read_item(&item.key).await.unwrap();
    }
}

/// Fails the next `failures` event loads of one aggregate, as a throttled or broken read would, or (`slow`)
/// makes every load take longer and counts how many were under way at once.
pub struct FailingLoads {
    pub aggregate_id: String,
    pub failures: AtomicU32,
    /// How long each `load_events` takes on top of the store's own time.
    delay: std::time::Duration,
    in_flight: AtomicUsize,
    /// The most `load_events` calls that were ever under way at once.
    pub most_in_flight: AtomicUsize,
}

#[async_trait]
impl Hook for FailingLoads {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        let Call::LoadEvents(aggregate) = call else {
            return Ok(());
        };
        if aggregate.aggregate_id == self.aggregate_id
            && self
                .failures
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            return Err(StoreError::Engine("injected failure".into()));
        }
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.delay).await;
        Ok(())
    }

    fn after(&self, call: Call<'_>) {
        if let Call::LoadEvents(_) = call {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A store whose loads of one aggregate fail or take their time: see [`FailingLoads`].
pub type FailingStore = Intercepted<FailingLoads>;

/// `inner`, failing the next `failures` event loads of `aggregate_id`.
pub fn failing(inner: Arc<dyn Engine>, aggregate_id: &str, failures: u32) -> FailingStore {
    Intercepted::new(
        inner,
        FailingLoads {
            aggregate_id: aggregate_id.to_owned(),
            failures: AtomicU32::new(failures),
            delay: std::time::Duration::ZERO,
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        },
    )
}

/// `inner`, failing nothing and taking `delay` longer to load events, as a remote table would.
pub fn slow(inner: Arc<dyn Engine>, delay: std::time::Duration) -> FailingStore {
    let mut store = failing(inner, "", 0);
    store.hook.delay = delay;
    store
}

/// Drains the stream: polls until two polls in a row bring nothing.
pub async fn drain(
    poller: &mut tools::stream::StreamPoller,
) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    let mut records = Vec::new();
    let mut empty = 0;
    while empty < 2 {
        let polled = poller.poll().await.expect("poll the stream");
        if polled.records.is_empty() {
            empty += 1;
        } else {
            empty = 0;
            records.extend(polled.records);
        }
    }
    records
}

/// A poller on `table`'s stream from its oldest record, as the projector's event source mapping reads it.
pub async fn stream_poller(table: &store_dynamodb::DynamoStore) -> tools::stream::StreamPoller {
    let config = aws_clients::sdk_config().await;
    tools::stream::StreamPoller::for_table(
        table.client(),
        &config,
        table.table_name(),
        tools::stream::StartAt::TrimHorizon,
    )
    .await
    .expect("the table has a stream")
}
