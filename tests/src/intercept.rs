//! A store that hands every port call to a [`Hook`] before and after the engine answers it: the one decorator
//! the tests need, so that counting calls ([`crate::counting`]) and failing or slowing them on purpose
//! ([`crate::projection::FailingLoads`]) are each a hook of a few lines, not another forwarder of every role.

use std::sync::Arc;

use async_trait::async_trait;
use events::{EventEnvelope, RedactedEvent};
use store::{
    AggregateRef, AppendRequest, CountOnce, Engine, EventLog, Item, ItemKey, Overwrite, Page,
    Query, ReadItem, ReadItemKind, ReadModel, Records, Scan, StoreError, StoreResult, WriteOutcome,
};

/// One call of the port, as a hook sees it.
#[derive(Debug, Clone, Copy)]
pub enum Call<'a> {
    /// An append writing this many items (events, guards, tallies and removals).
    Append {
        items: usize,
    },
    LoadEvents(&'a AggregateRef),
    FirstEvent(&'a AggregateRef),
    ListAggregates,
    RedactLegacyEvent,
    PurgeResidue,
    ReadItemJson,
    WriteReadItem,
    DeleteReadItem,
    ListReadItems,
    QueryReadItems(&'a Query),
    GetItem,
    PutItem,
    DeleteItem,
    Query(&'a Query),
    IncrementOnce,
    AddToCount,
}

/// What a decorator does around each call: `before` may refuse it (or take its time), `after` sees that
/// it ended.
#[async_trait]
pub trait Hook: Send + Sync {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError>;

    fn after(&self, _call: Call<'_>) {}
}

/// A shared hook, so the test keeps a handle on what it counts.
#[async_trait]
impl<H: Hook + ?Sized> Hook for Arc<H> {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        (**self).before(call).await
    }

    fn after(&self, call: Call<'_>) {
        (**self).after(call);
    }
}

/// `inner` with `hook` around every call of every role.
pub struct Intercepted<H> {
    pub inner: Arc<dyn Engine>,
    pub hook: H,
}

impl<H: Hook> Intercepted<H> {
    pub fn new(inner: Arc<dyn Engine>, hook: H) -> Self {
        Intercepted { inner, hook }
    }

    async fn around<T>(
        &self,
        call: Call<'_>,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> StoreResult<T> {
        self.hook.before(call).await?;
        let result = work.await;
        self.hook.after(call);
        result
    }
}

#[async_trait]
impl<H: Hook> EventLog for Intercepted<H> {
    async fn append(&self, request: AppendRequest) -> StoreResult<()> {
        let items = request.events.len()
            + request.guards.len()
            + request.tallies.len()
            + request.removals.len()
            + request.requirements.len();
        let work = self.inner.append(request);
        self.around(Call::Append { items }, work).await
    }

    async fn load_events_through(
        &self,
        of: &AggregateRef,
        after: u64,
        through: u64,
    ) -> StoreResult<Vec<EventEnvelope>> {
        let work = self.inner.load_events_through(of, after, through);
        self.around(Call::LoadEvents(of), work).await
    }

    async fn first_event(&self, of: &AggregateRef) -> StoreResult<Option<EventEnvelope>> {
        let work = self.inner.first_event(of);
        self.around(Call::FirstEvent(of), work).await
    }

    async fn list_aggregates(&self, scan: Scan<'_>) -> StoreResult<Page<AggregateRef>> {
        let work = self.inner.list_aggregates(scan);
        self.around(Call::ListAggregates, work).await
    }

    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> StoreResult<()> {
        let work = self.inner.redact_legacy_event(redaction);
        self.around(Call::RedactLegacyEvent, work).await
    }

    async fn purge_residue(&self) -> StoreResult<()> {
        let work = self.inner.purge_residue();
        self.around(Call::PurgeResidue, work).await
    }
}

#[async_trait]
impl<H: Hook> ReadModel for Intercepted<H> {
    async fn read_item_json(&self, key: &ItemKey) -> StoreResult<Option<String>> {
        let work = self.inner.read_item_json(key);
        self.around(Call::ReadItemJson, work).await
    }

    async fn write_read_item(&self, item: &ReadItem, rule: Overwrite) -> StoreResult<WriteOutcome> {
        let work = self.inner.write_read_item(item, rule);
        self.around(Call::WriteReadItem, work).await
    }

    async fn delete_read_item(&self, key: &ItemKey) -> StoreResult<()> {
        let work = self.inner.delete_read_item(key);
        self.around(Call::DeleteReadItem, work).await
    }

    async fn list_read_items(
        &self,
        kinds: &[ReadItemKind],
        scan: Scan<'_>,
    ) -> StoreResult<Page<ReadItem>> {
        let work = self.inner.list_read_items(kinds, scan);
        self.around(Call::ListReadItems, work).await
    }

    async fn query_read_items(&self, query: &Query) -> StoreResult<Page<ReadItem>> {
        let work = self.inner.query_read_items(query);
        self.around(Call::QueryReadItems(query), work).await
    }
}

#[async_trait]
impl<H: Hook> Records for Intercepted<H> {
    async fn get_item(&self, key: &ItemKey) -> StoreResult<Option<Item>> {
        let work = self.inner.get_item(key);
        self.around(Call::GetItem, work).await
    }

    async fn put_item(&self, item: &Item) -> StoreResult<()> {
        let work = self.inner.put_item(item);
        self.around(Call::PutItem, work).await
    }

    async fn replace_item_if(
        &self,
        item: &Item,
        field: &str,
        expected: &serde_json::Value,
    ) -> StoreResult<bool> {
        let work = self.inner.replace_item_if(item, field, expected);
        self.around(Call::PutItem, work).await
    }

    async fn delete_item(&self, key: &ItemKey) -> StoreResult<()> {
        let work = self.inner.delete_item(key);
        self.around(Call::DeleteItem, work).await
    }

    async fn query(&self, query: &Query) -> StoreResult<Page<Item>> {
        let work = self.inner.query(query);
        self.around(Call::Query(query), work).await
    }

    async fn increment_once(&self, count: &CountOnce<'_>) -> StoreResult<bool> {
        let work = self.inner.increment_once(count);
        self.around(Call::IncrementOnce, work).await
    }

    async fn add_to_count(
        &self,
        key: &ItemKey,
        field: &str,
        delta: i64,
        expires_at: i64,
    ) -> StoreResult<i64> {
        let work = self.inner.add_to_count(key, field, delta, expires_at);
        self.around(Call::AddToCount, work).await
    }
}
