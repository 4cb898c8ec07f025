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

/// What a call of the port answers.
pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a parallel scan: segment `segment` of the table, after `cursor` (a `next_cursor` of the
/// previous page of the same listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scan<'a> {
    pub segment: Segment,
    pub cursor: Option<&'a str>,
}

impl<'a> Scan<'a> {
    /// A page of the whole table (one segment), after `cursor`.
    pub fn whole(cursor: Option<&'a str>) -> Self {
        Scan {
            segment: Segment::WHOLE,
            cursor,
        }
    }
}

/// Something to count exactly once under at-least-once delivery (see [`Records::increment_once`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountOnce<'a> {
    /// Created with the count; when it exists already, the thing was counted.
    pub marker: &'a ItemKey,
    /// The item whose integer attributes move.
    pub counter: &'a ItemKey,
    /// Each attribute of `counter` and what is added to it.
    pub increments: &'a [(&'a str, i64)],
}

/// Which stored read item a write may replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// None, or one with a lower version that is not a tombstone: the projector's write. Out-of-order and
    /// repeated writes therefore converge on the newest state.
    Older,
    /// Also one of the same version (a corrupted one): replay's repair. Still never one with a higher
    /// version, so replay cannot undo newer live writes; a tombstone only with a tombstone.
    NotNewer,
}

/// The event log: append-only, one partition per aggregate, versions without gaps.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends the events with a conditional write on each new version, together with the guards, tallies
    /// and removals, atomically. A lost race is [`StoreError::VersionConflict`]; a used guard key is
    /// [`StoreError::GuardTaken`]; a tally past its limit is [`StoreError::LimitReached`].
    async fn append(&self, request: AppendRequest) -> StoreResult<()>;

    /// Every event of the aggregate `of` after version `after`, oldest first, however many pages that takes.
    /// Reads are strongly consistent, and old schema versions come back upcast to the current types.
    async fn load_events(&self, of: &AggregateRef, after: u64) -> StoreResult<Vec<EventEnvelope>> {
        self.load_events_through(of, after, crate::keys::MAX_VERSION)
            .await
    }

    /// The events of `of` after version `after` up to version `through` included, oldest first, as
    /// [`EventLog::load_events`] reads them: one key range, so a page of a history reads nothing past it.
    async fn load_events_through(
        &self,
        of: &AggregateRef,
        after: u64,
        through: u64,
    ) -> StoreResult<Vec<EventEnvelope>>;

    /// The aggregate's first event (one read by key), or `None` when it has no events.
    async fn first_event(&self, of: &AggregateRef) -> StoreResult<Option<EventEnvelope>>;

    /// One page of the aggregates that have events, within a scan segment, for replay.
    async fn list_aggregates(&self, scan: Scan<'_>) -> StoreResult<Page<AggregateRef>>;

    /// The one exception to an append-only log, audited by a `LegacyEventRedacted` event: rewrites the stored
    /// event `redaction` names (its key, checked against its id) with the named personal fields it holds in
    /// clear replaced by `"[erased]"` (see [`crate::codec::redact_legacy_event`]). Only events written before
    /// sealing existed hold personal fields in clear; no key can shred those. Repeating it changes nothing.
    async fn redact_legacy_event(&self, redaction: &RedactedEvent) -> StoreResult<()>;

    /// Makes what was deleted or overwritten unrecoverable from the engine's own files where the engine keeps
    /// such residue: SQLite checkpoints its write-ahead log and truncates it (with `secure_delete`, freed
    /// space is zeroed). DynamoDB keeps none a caller can reach (see `docs/privacy.md` for its backups).
    /// Called when an erasure has rewritten what it rewrites.
    async fn purge_residue(&self) -> StoreResult<()> {
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
    async fn read_item_json(&self, key: &ItemKey) -> StoreResult<Option<String>>;

    /// Writes `item` unless the stored one wins, as `rule` says; [`WriteOutcome::Stale`] when it did.
    async fn write_read_item(&self, item: &ReadItem, rule: Overwrite) -> StoreResult<WriteOutcome>;

    /// The projector's write: [`Overwrite::Older`].
    async fn put_read_item(&self, item: &ReadItem) -> StoreResult<WriteOutcome> {
        self.write_read_item(item, Overwrite::Older).await
    }

    /// Replay's write: [`Overwrite::NotNewer`].
    async fn repair_read_item(&self, item: &ReadItem) -> StoreResult<WriteOutcome> {
        self.write_read_item(item, Overwrite::NotNewer).await
    }

    /// Removes a read item outright (replay, for items whose aggregate has no events).
    async fn delete_read_item(&self, key: &ItemKey) -> StoreResult<()>;

    /// One page of every read item of the given kinds, tombstones included, within a scan segment: replay
    /// uses it to find read items whose aggregate has no events.
    async fn list_read_items(
        &self,
        kinds: &[ReadItemKind],
        scan: Scan<'_>,
    ) -> StoreResult<Page<ReadItem>>;

    /// One page of the live read items of a partition; an item there without a
    /// version is [`StoreError::Corrupt`].
    async fn query_read_items(&self, query: &Query) -> StoreResult<Page<ReadItem>>;
}

/// Plain records: items that are neither events nor read items. Event keys are refused for writes.
#[async_trait]
pub trait Records: Send + Sync {
    /// Any item by key, strongly consistent.
    async fn get_item(&self, key: &ItemKey) -> StoreResult<Option<Item>>;

    /// Writes the item, replacing any with its key.
    async fn put_item(&self, item: &Item) -> StoreResult<()>;

    /// Replaces the item at its key only if one is stored whose attribute `field` equals `expected`, in one
    /// conditional write (a user's credentials when their hash is upgraded: never recreated after an
    /// erasure removed them, never over a newer hash). Answers whether it wrote.
    async fn replace_item_if(
        &self,
        item: &Item,
        field: &str,
        expected: &serde_json::Value,
    ) -> StoreResult<bool>;

    /// Removes the item (an expired idempotency record, as DynamoDB's TTL would), whether or not it exists.
    async fn delete_item(&self, key: &ItemKey) -> StoreResult<()>;

    /// One page of items of a partition, tombstones left out.
    async fn query(&self, query: &Query) -> StoreResult<Page<Item>>;

    /// Adds `delta` to the integer attribute `field` of the item at `key` (created when missing, with the
    /// TTL attribute `expires_at`, epoch seconds) and answers the sum, in one atomic write: concurrent adds
    /// never lose one, so a limit checked against the answer holds however many requests race.
    async fn add_to_count(
        &self,
        key: &ItemKey,
        field: &str,
        delta: i64,
        expires_at: i64,
    ) -> StoreResult<i64>;

    /// Counts something exactly once under at-least-once delivery: in one transaction, creates the item
    /// `count.marker` and adds each `(field, delta)` of its increments to that integer attribute of the item
    /// `count.counter` (created when missing). When an item with the marker's key exists already, nothing
    /// changes and the answer is `false`.
    async fn increment_once(&self, count: &CountOnce<'_>) -> StoreResult<bool>;
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
pub async fn read_item(model: &dyn ReadModel, key: &ItemKey) -> StoreResult<Option<ReadItem>> {
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
pub async fn query_all(records: &dyn Records, query: Query) -> StoreResult<Vec<Item>> {
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
) -> StoreResult<Vec<ReadItem>> {
    all_pages(|cursor| {
        let page = query.clone().after(cursor);
        async move { model.query_read_items(&page).await }
    })
    .await
}

impl Page<Item> {
    /// The page's items as read items; one without a version is [`StoreError::Corrupt`].
    pub fn into_read_items(self) -> StoreResult<Page<ReadItem>> {
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
