//! What the storage port's calls take and answer: appends with their guards and tallies, aggregate
//! references, queries, scan segments and pages. The roles that take them are in [`crate::roles`].

use events::{AggregateType, EventEnvelope};

use crate::error::StoreError;
use crate::item::{Item, ItemKey};
use crate::keys;

/// An item created in the same transaction as events, only if no item has its key yet (e.g. the email
/// reservation and credentials written with `UserCreated`).
#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    /// Names the guard in [`StoreError::GuardTaken`] when its key is already used (`"email"`).
    pub name: String,
    pub item: Item,
}

/// An integer attribute moved by `delta` in the same transaction as events (created at 0 when missing). When
/// the move would take it above `at_most`, the whole append is refused with [`StoreError::LimitReached`]: a
/// limit that holds under any concurrency (e.g. a user's live debts).
#[derive(Debug, Clone, PartialEq)]
pub struct Tally {
    /// Names the tally in [`StoreError::LimitReached`] (`"debts"`).
    pub name: String,
    pub key: ItemKey,
    pub field: String,
    pub delta: i64,
    pub at_most: i64,
}

/// An item that must exist when an append commits: a condition in its transaction, not a write (e.g. the
/// user's credentials, which their erasure removes, so that nothing is appended for an erased user however
/// the append and the erasure interleave).
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Names the requirement in [`StoreError::RequirementMissing`] (`"account"`).
    pub name: String,
    pub key: ItemKey,
}

/// Events to append to one aggregate, all or nothing, with any guards, tallies, removals and requirements.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendRequest {
    /// The version the caller loaded (0 for a new aggregate); the events must be numbered from the next.
    pub expected_version: u64,
    pub events: Vec<EventEnvelope>,
    pub guards: Vec<Guard>,
    pub tallies: Vec<Tally>,
    /// Items (never events) deleted in the same transaction, whether or not they exist: what an event makes
    /// obsolete at the moment it is committed (an erased user's data key and credentials).
    pub removals: Vec<ItemKey>,
    /// Items that must exist for the append to commit.
    pub requirements: Vec<Requirement>,
}

impl AppendRequest {
    /// The most items one append may write: DynamoDB's transaction limit.
    pub const MAX_ITEMS: usize = 100;

    pub fn new(expected_version: u64, events: Vec<EventEnvelope>) -> Self {
        AppendRequest {
            expected_version,
            events,
            guards: Vec::new(),
            tallies: Vec::new(),
            removals: Vec::new(),
            requirements: Vec::new(),
        }
    }

    /// Commits the append only if the item `key` exists then; otherwise refuses it with
    /// [`StoreError::RequirementMissing`] naming `name`.
    pub fn with_requirement(mut self, name: impl Into<String>, key: ItemKey) -> Self {
        self.requirements.push(Requirement {
            name: name.into(),
            key,
        });
        self
    }

    /// Deletes the item `key` (not an event) with the events.
    pub fn with_removal(mut self, key: ItemKey) -> Self {
        self.removals.push(key);
        self
    }

    /// Moves the integer `field` of the item `key` by `delta` with the events, refusing the append when that
    /// would take it above `at_most`.
    pub fn with_tally(
        mut self,
        name: impl Into<String>,
        key: ItemKey,
        field: impl Into<String>,
        delta: i64,
        at_most: i64,
    ) -> Self {
        self.tallies.push(Tally {
            name: name.into(),
            key,
            field: field.into(),
            delta,
            at_most,
        });
        self
    }

    pub fn with_guard(mut self, name: impl Into<String>, item: Item) -> Self {
        self.guards.push(Guard {
            name: name.into(),
            item,
        });
        self
    }

    /// Checks the request is well formed and returns the aggregate it appends to: at least one event, all of
    /// one aggregate, numbered `expected_version + 1, + 2, ...`, within the transaction limit.
    pub fn aggregate(&self) -> Result<AggregateRef, StoreError> {
        let invalid = |why: &str| Err(StoreError::InvalidRequest(why.to_owned()));
        let Some(first) = self.events.first() else {
            return invalid("an append needs at least one event");
        };
        let items = self.events.len()
            + self.guards.len()
            + self.tallies.len()
            + self.removals.len()
            + self.requirements.len();
        if items > Self::MAX_ITEMS {
            return invalid("an append writes at most 100 items");
        }
        for key in self
            .removals
            .iter()
            .chain(self.requirements.iter().map(|r| &r.key))
        {
            ensure_not_event(key)?;
        }
        // DynamoDB refuses a transaction that names an item twice; the rule holds on every engine.
        let mut named: Vec<&ItemKey> = self.guards.iter().map(|g| &g.item.key).collect();
        named.extend(self.tallies.iter().map(|t| &t.key));
        named.extend(&self.removals);
        named.extend(self.requirements.iter().map(|r| &r.key));
        for (index, key) in named.iter().enumerate() {
            if named[..index].contains(key) {
                return invalid("an append names each item once");
            }
        }
        for tally in &self.tallies {
            ensure_not_event(&tally.key)?;
            if tally.field.is_empty() || crate::RESERVED_ATTRIBUTES.contains(&tally.field.as_str())
            {
                return invalid("a tally's field cannot be empty or an attribute the engines own");
            }
        }
        for (offset, event) in self.events.iter().enumerate() {
            if event.aggregate_type != first.aggregate_type
                || event.aggregate_id != first.aggregate_id
            {
                return invalid("all events of an append belong to one aggregate");
            }
            if event.version != self.expected_version + 1 + offset as u64 {
                return invalid("event versions must follow the expected version without gaps");
            }
            if event.version > keys::MAX_VERSION {
                return invalid("event version exceeds the key format");
            }
        }
        Ok(AggregateRef {
            aggregate_type: first.aggregate_type,
            aggregate_id: first.aggregate_id.clone(),
        })
    }
}

/// Refuses a plain write to an event key: the event log is append-only.
pub fn ensure_not_event(key: &ItemKey) -> Result<(), StoreError> {
    if key.sk.starts_with(keys::EVENT_SK_PREFIX) {
        return Err(StoreError::InvalidRequest(
            "events are appended, never overwritten".into(),
        ));
    }
    Ok(())
}

/// Names one aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AggregateRef {
    pub aggregate_type: AggregateType,
    pub aggregate_id: String,
}

impl AggregateRef {
    pub fn debt(debt_id: impl Into<String>) -> Self {
        AggregateRef {
            aggregate_type: AggregateType::Debt,
            aggregate_id: debt_id.into(),
        }
    }

    pub fn user(username: impl Into<String>) -> Self {
        AggregateRef {
            aggregate_type: AggregateType::User,
            aggregate_id: username.into(),
        }
    }

    /// The aggregate an event item's key belongs to, or `None` for any other item.
    pub fn of_event_key(key: &ItemKey) -> Option<Self> {
        let (aggregate_type, aggregate_id, _) = keys::parse_event_key(key)?;
        Some(AggregateRef {
            aggregate_type,
            aggregate_id,
        })
    }
}

/// What a guarded read-item write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    Written,
    /// The stored item is as new or newer, or a tombstone; nothing changed.
    Stale,
}

/// A slice of a parallel scan: segment `index` of `total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    pub index: u32,
    pub total: u32,
}

impl Segment {
    pub const WHOLE: Segment = Segment { index: 0, total: 1 };

    /// Refuses a segment that does not exist (index not below a non-zero total).
    pub fn validate(self) -> Result<Self, StoreError> {
        if self.total == 0 || self.index >= self.total {
            return Err(StoreError::InvalidRequest(
                "segment index must be below the total".into(),
            ));
        }
        Ok(self)
    }
}

/// Which items a query reads: one partition of the table (strongly consistent), SK beginning with
/// `sk_prefix`. The table has no secondary index: every read names its partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTarget {
    pub pk: String,
    pub sk_prefix: String,
}

/// A page request. Tombstones are never returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub target: QueryTarget,
    /// Ascending by SK unless false.
    pub ascending: bool,
    /// At most this many items (1-1000).
    pub limit: u32,
    /// A `next_cursor` from the previous page of this same query.
    pub cursor: Option<String>,
}

impl Query {
    pub fn partition(pk: impl Into<String>, sk_prefix: impl Into<String>) -> Self {
        Query {
            target: QueryTarget {
                pk: pk.into(),
                sk_prefix: sk_prefix.into(),
            },
            ascending: true,
            limit: 100,
            cursor: None,
        }
    }

    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    pub fn descending(mut self) -> Self {
        self.ascending = false;
        self
    }

    pub fn after(mut self, cursor: Option<String>) -> Self {
        self.cursor = cursor;
        self
    }

    /// The position to continue after, checked against this query.
    pub fn start_after(&self) -> Result<Option<ItemKey>, StoreError> {
        if !(1..=1000).contains(&self.limit) {
            return Err(StoreError::InvalidRequest("a query limit is 1-1000".into()));
        }
        self.cursor
            .as_deref()
            .map(|c| crate::cursor::decode_for(c, &self.target))
            .transpose()
    }
}

/// One page of results; `next_cursor` is `None` on the last page. A page may hold fewer than `limit` items
/// while more follow (DynamoDB applies filters after its limit), so only the cursor says when to stop.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Every item of a paged listing: calls `page` with each `next_cursor` until the last page.
pub async fn all_pages<T, F, Fut>(mut page: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let next = page(cursor).await?;
        items.extend(next.items);
        match next.next_cursor {
            Some(next_cursor) => cursor = Some(next_cursor),
            None => return Ok(items),
        }
    }
}

/// Refuses a counter increment that would touch an event or an attribute the engines own, that names a field
/// twice, or that adds nothing at all.
pub fn ensure_countable(count: &crate::CountOnce<'_>) -> Result<(), StoreError> {
    ensure_not_event(count.marker)?;
    ensure_not_event(count.counter)?;
    if count.increments.is_empty() {
        return Err(StoreError::InvalidRequest(
            "an increment names at least one field".into(),
        ));
    }
    for (index, (field, _)) in count.increments.iter().enumerate() {
        if field.is_empty()
            || crate::RESERVED_ATTRIBUTES.contains(field)
            || count.increments[..index].iter().any(|(f, _)| f == field)
        {
            return Err(StoreError::InvalidRequest(format!(
                "`{field}` cannot be a counter attribute here"
            )));
        }
    }
    Ok(())
}
