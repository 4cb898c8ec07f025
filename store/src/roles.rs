//! The storage port by role. The event log is what the write side appends and everyone folds; the read model
//! holds the projections' version-guarded items; records are every other item (credentials, idempotency
//! records, ledger entries, counters). Each engine plays all three on one table ([`Engine`]); a caller takes
//! only the roles it uses, and a decorator wraps only the role it changes (the sealing store, the event log).

use std::sync::Arc;

use async_trait::async_trait;
use events::{EventEnvelope, RedactedEvent};

use crate::error::StoreError;
use crate::item::{Item, ItemKey, ReadItem};
use crate::port::{all_pages, AggregateRef, AppendRequest, Page, Query, Segment, WriteOutcome};

/// The event log: append-only, one partition per aggregate, versions without gaps.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends the events with a conditional write on each new version, together with the guards, tallies
    /// and removals, atomically. A lost race is [`StoreError::VersionConflict`]; a used guard key is
    /// [`StoreError::GuardTaken`]; a tally past its limit is [`StoreError::LimitReached`].
    async fn append(&self, request: AppendRequest) -> Result<(), StoreError>;

    /// Every event of the aggregate after `after_version`, oldest first, however many pages that takes.
    /// Reads are strongly consistent, and old schema versions come back upcast to the current types.
    async fn load_events(
        &self,
        aggregate: &AggregateRef,
        after_version: u64,
    ) -> Result<Vec<EventEnvelope>, StoreError>;

    /// The aggregate's first event (one read by key), or `None` when it has no events.
    async fn first_event(
        &self,
        aggregate: &AggregateRef,
    ) -> Result<Option<EventEnvelope>, StoreError>;

    /// One page of the aggregates that have events, within a scan segment, for replay.
    async fn list_aggregates(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<AggregateRef>, StoreError>;

    /// The one exception to an append-only log, audited by a `LegacyEventRedacted` event: rewrites the stored
    /// event `redaction` names (its key, checked against its id) with the named personal fields it holds in
    /// clear replaced by `"[erased]"` (see [`crate::codec::redact_legacy_event`]). Only events written before
    /// sealing existed hold personal fields in clear; no key can shred those. Repeating it changes nothing.
    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> Result<(), StoreError>;

    /// Makes what was deleted or overwritten unrecoverable from the engine's own files where the engine keeps
    /// such residue: SQLite checkpoints its write-ahead log and truncates it (with `secure_delete`, freed
    /// space is zeroed). DynamoDB keeps none a caller can reach (see `docs/privacy.md` for its backups).
    /// Called when an erasure has rewritten what it rewrites.
    async fn purge_residue(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The read items one projection writes, as replay finds them: partition key beginning with `pk_prefix`,
/// sort key as `sk` says. Registered by the read side (`projections::PROJECTIONS`), so an engine knows no
/// projection by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadItemKind {
    /// What the projection is called in logs (`"debt"`).
    pub name: &'static str,
    pub pk_prefix: &'static str,
    pub sk: SortKeyMatch,
}

/// How a kind of read item's sort key is recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKeyMatch {
    Exactly(&'static str),
    Prefix(&'static str),
}

impl ReadItemKind {
    /// Whether the item at `key` is one of this kind.
    pub fn matches(&self, key: &ItemKey) -> bool {
        key.pk.starts_with(self.pk_prefix)
            && match self.sk {
                SortKeyMatch::Exactly(sk) => key.sk == sk,
                SortKeyMatch::Prefix(prefix) => key.sk.starts_with(prefix),
            }
    }
}

/// The read model: the projections' items. A write lands only over an older, live item, so duplicated and
/// reordered writes converge; a tombstone (`deleted`) is final and no query returns it.
#[async_trait]
pub trait ReadModel: Send + Sync {
    /// The attributes stored at `key` (with `version` and `deleted`) as the text of one JSON object, strongly
    /// consistent, for a reader that decodes its own type straight from it: an attribute map costs a map
    /// entry and an allocation per attribute, most of a read's cost on SQLite. [`read_item`] decodes it.
    async fn read_item_json(&self, key: &ItemKey) -> Result<Option<String>, StoreError>;

    /// Writes a read item only if none exists, or the stored one has a lower version and is not a
    /// tombstone. Out-of-order and repeated writes therefore converge on the newest state.
    async fn put_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError>;

    /// Replay's write: like [`ReadModel::put_read_item`] but also replaces an item of the *same* version (a
    /// corrupted one); still never one with a higher version, so replay cannot undo newer live writes. A
    /// tombstone is only ever replaced by a tombstone.
    async fn repair_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError>;

    /// Removes a read item outright (replay, for items whose aggregate has no events).
    async fn delete_read_item(&self, key: &ItemKey) -> Result<(), StoreError>;

    /// One page of every read item of the given kinds, tombstones included, within a scan segment: replay
    /// uses it to find read items whose aggregate has no events.
    async fn list_read_items(
        &self,
        kinds: &[ReadItemKind],
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<ReadItem>, StoreError>;

    /// One page of the live read items of a partition or of the `SK-PK-index` (items without a version are
    /// not read items and are left out).
    async fn query_read_items(&self, query: &Query) -> Result<Page<ReadItem>, StoreError>;
}

/// Plain records: items that are neither events nor read items. Event keys are refused for writes.
#[async_trait]
pub trait Records: Send + Sync {
    /// Any item by key, strongly consistent.
    async fn get_item(&self, key: &ItemKey) -> Result<Option<Item>, StoreError>;

    /// Writes the item, replacing any with its key (a user's credentials when their hash is upgraded).
    async fn put_item(&self, item: &Item) -> Result<(), StoreError>;

    /// Removes the item (an expired idempotency record, as DynamoDB's TTL would), whether or not it exists.
    async fn delete_item(&self, key: &ItemKey) -> Result<(), StoreError>;

    /// One page of items of a partition or of the `SK-PK-index`, tombstones left out.
    async fn query(&self, query: &Query) -> Result<Page<Item>, StoreError>;

    /// Counts something exactly once under at-least-once delivery: in one transaction, creates the item
    /// `marker` and adds each `(field, delta)` of `increments` to that integer attribute of the item `counter`
    /// (created when missing). When an item with the marker's key exists already, nothing changes and the
    /// answer is `false`.
    async fn increment_once(
        &self,
        marker: &ItemKey,
        counter: &ItemKey,
        increments: &[(&str, i64)],
    ) -> Result<bool, StoreError>;
}

/// A storage engine: all three roles over one table. Both engines pass one conformance suite
/// (`tests/tests/conformance.rs`).
pub trait Engine: EventLog + ReadModel + Records {}

impl<T: EventLog + ReadModel + Records + ?Sized> Engine for T {}

/// The three roles of one table as a process wires them: usually one engine, with the event log wrapped
/// (sealed) on its way to the handlers.
#[derive(Clone)]
pub struct Stores {
    pub events: Arc<dyn EventLog>,
    pub read_model: Arc<dyn ReadModel>,
    pub records: Arc<dyn Records>,
}

impl Stores {
    /// Every role played by `engine`.
    pub fn of(engine: Arc<dyn Engine>) -> Self {
        Stores {
            events: Arc::clone(&engine) as Arc<dyn EventLog>,
            read_model: Arc::clone(&engine) as Arc<dyn ReadModel>,
            records: engine,
        }
    }

    /// The same roles, with the event log replaced by `events` (a decorator of the one here).
    pub fn with_events(self, events: Arc<dyn EventLog>) -> Self {
        Stores { events, ..self }
    }
}

/// The read item stored at `key`, tombstone or not; `None` when there is none, or the item there is not a
/// read item (no numeric `version`).
pub async fn read_item(
    model: &dyn ReadModel,
    key: &ItemKey,
) -> Result<Option<ReadItem>, StoreError> {
    match model.read_item_json(key).await? {
        None => Ok(None),
        Some(text) => {
            let attributes = crate::item::attributes_from_json(key, &text)?;
            Ok(ReadItem::from_item(Item {
                key: key.clone(),
                attributes,
            }))
        }
    }
}

/// Every item a query matches, however many pages that takes (for partitions known to stay small).
pub async fn query_all(records: &dyn Records, query: Query) -> Result<Vec<Item>, StoreError> {
    all_pages(|cursor| {
        let page = query.clone().after(cursor);
        async move { records.query(&page).await }
    })
    .await
}

/// Every live read item a query matches, however many pages that takes.
pub async fn query_all_read_items(
    model: &dyn ReadModel,
    query: Query,
) -> Result<Vec<ReadItem>, StoreError> {
    all_pages(|cursor| {
        let page = query.clone().after(cursor);
        async move { model.query_read_items(&page).await }
    })
    .await
}

impl Page<Item> {
    /// The page's items as read items; one without a version is [`StoreError::Corrupt`].
    pub fn into_read_items(self) -> Result<Page<ReadItem>, StoreError> {
        Ok(Page {
            items: self
                .items
                .into_iter()
                .map(ReadItem::decode)
                .collect::<Result<_, _>>()?,
            next_cursor: self.next_cursor,
        })
    }
}
