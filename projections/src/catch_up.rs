//! Projects one aggregate: reads the events after the version its read item holds (consistently), folds them
//! onto that item, and writes the result with a version guard. Whatever order or number of times it runs,
//! the read item ends at the aggregate's latest version, and a tombstone stays a tombstone.

use chrono::{DateTime, Utc};
use events::{AggregateType, EventPayload};
use serde_json::json;
use store::ledger::{read_ledger_item, LedgerEntry};
use store::{
    keys, read_item, AggregateRef, EventLog, Item, ItemKey, Query, ReadItem, StoreError, Stores,
    WriteOutcome,
};
use tokio::task::JoinSet;

use crate::projection::{following, Projection};

/// What catching an aggregate up did.
#[derive(Debug, Clone, PartialEq)]
pub enum Projected {
    /// The read item was written at this state; `newest` is when the newest event it reflects occurred
    /// (the projection's lag is measured from it).
    Written {
        item: ReadItem,
        newest: DateTime<Utc>,
    },
    /// The read item already reflected every event.
    UpToDate,
    /// A concurrent writer stored the same or a newer version first.
    Stale,
    /// The aggregate has no events (nothing to project).
    NoEvents,
}

/// Catches up every read item that follows the aggregate ([`crate::projection::following`]) with its events.
/// `owner_hint` is who a stream record says caused the event (its `actor`): for a debt, its owner in every
/// event the API writes, which finds the debt's read item without reading its first event (three round
/// trips instead of four). A wrong hint finds nothing there, and the item is rebuilt from the whole history;
/// the key it is written under comes from the events (the owner in the debt's creation), never from the
/// hint. With several read models of one aggregate, the answer is the last one's that wrote.
pub async fn catch_up(
    stores: &Stores,
    aggregate: &AggregateRef,
    owner_hint: Option<&str>,
) -> Result<Projected, StoreError> {
    let mut answer = Projected::NoEvents;
    for projection in following(aggregate.aggregate_type) {
        let projected = catch_up_one(stores, projection, aggregate, owner_hint).await?;
        if matches!(projected, Projected::Written { .. }) || answer == Projected::NoEvents {
            answer = projected;
        }
    }
    Ok(answer)
}

async fn catch_up_one(
    stores: &Stores,
    projection: &dyn Projection,
    aggregate: &AggregateRef,
    owner_hint: Option<&str>,
) -> Result<Projected, StoreError> {
    let key = match projection.key_without_events(&aggregate.aggregate_id, owner_hint) {
        Some(key) => key,
        None => match read_key(stores.events.as_ref(), projection, aggregate).await? {
            Some(key) => key,
            None => return Ok(Projected::NoEvents),
        },
    };
    let stored = read_item(stores.read_model.as_ref(), &key).await?;
    let after = stored.as_ref().map_or(0, |item| item.version);
    let events = stores.events.load_events(aggregate, after).await?;
    let Some(newest) = events.last().map(|event| event.occurred_at) else {
        if stored.as_ref().is_some_and(is_erased_user) {
            // An erasure whose rewrite did not finish (a timeout, a crash): this retry goes on with it.
            finish_erasure_or_say_so(stores, &aggregate.aggregate_id).await?;
        }
        return Ok(if after == 0 {
            Projected::NoEvents
        } else {
            Projected::UpToDate
        });
    };
    let erasure = events
        .iter()
        .any(|e| matches!(&e.payload, EventPayload::UserErased(_)));
    if erasure {
        // First the events written in clear before sealing (the erasure listed them), so the rebuilt read
        // items read "[erased]" there too; each redaction is idempotent.
        for event in &events {
            if let EventPayload::LegacyEventRedacted(legacy) = &event.payload {
                for redaction in &legacy.events {
                    stores.events.redact_legacy_event(redaction).await?;
                }
            }
        }
    }
    let item = match &stored {
        Some(stored) => match projection.continued(stored, &events) {
            Some(item) => Some(item),
            None => rebuild(stores.events.as_ref(), projection, aggregate).await?,
        },
        // Without a stored item the events loaded are the whole history.
        None => projection.item_from_history(&events),
    };
    let Some(item) = item else {
        return Ok(Projected::NoEvents);
    };
    // An erased user's own item (email, name) goes first: a tombstone, before any of their debts.
    let outcome = stores.read_model.put_read_item(&item).await?;
    if erasure {
        finish_erasure_or_say_so(stores, &aggregate.aggregate_id).await?;
    }
    Ok(match outcome {
        WriteOutcome::Written => Projected::Written { item, newest },
        WriteOutcome::Stale => Projected::Stale,
    })
}

/// Whether a stored read item is an erased user's tombstone.
fn is_erased_user(item: &ReadItem) -> bool {
    item.deleted && item.attributes.get("erased") == Some(&serde_json::Value::Bool(true))
}

/// [`finish_erasure`], counting an attempt that did not finish (`ErasuresUnfinished`, which the stack alarms
/// on): the record is retried and goes on where it stopped, but an erasure that keeps failing leaves the
/// user's debts in clear in the read model until someone looks.
async fn finish_erasure_or_say_so(stores: &Stores, username: &str) -> Result<(), StoreError> {
    let finished = finish_erasure(stores, username).await;
    if let Err(error) = &finished {
        tracing::error!(%error, "an erasure's rewrite did not finish; the retry goes on from its record");
        lambda_support::metrics::emit(
            &[("Function", "projector")],
            &[(
                "ErasuresUnfinished",
                1.0,
                lambda_support::metrics::Unit::Count,
            )],
        );
    }
    finished
}

/// How many of an erased user's debts are rewritten at once.
const ERASURE_CONCURRENCY: usize = 16;

/// Rewrites the read items of every debt `username` ever created (their ledger's `Created` entries) from
/// the debts' events, whose personal fields now open as `"[erased]"`: one ledger page at a time, each page's
/// debts [`ERASURE_CONCURRENCY`] at a time, and after each page the position in the user's erasure record
/// ([`keys::erasure_progress_key`]), so that a retry goes on from the last finished page instead of starting
/// over, and a user with thousands of debts is erased over as many invocations as it takes. Then the engine's
/// files are purged of what the rewrites replaced, and the record says done (a later call does nothing).
pub async fn finish_erasure(stores: &Stores, username: &str) -> Result<(), StoreError> {
    let record = keys::erasure_progress_key(username);
    let progress = stores.records.get_item(&record).await?;
    let field = |name: &str| {
        progress
            .as_ref()
            .and_then(|p| p.attributes.get(name).cloned())
    };
    if field("done") == Some(json!(true)) {
        return Ok(());
    }
    let mut after = field("after").and_then(|a| a.as_str().map(str::to_owned));
    let ledger = keys::user_info_key(username).pk;
    loop {
        let page = stores
            .records
            .query(
                &Query::partition(&ledger, keys::LEDGER_SK_PREFIX)
                    .limit(100)
                    .after(after.clone()),
            )
            .await?;
        let debts: Vec<String> = page
            .items
            .iter()
            .filter_map(read_ledger_item)
            .filter(|(_, entry, _)| *entry == LedgerEntry::Created)
            .map(|(debt_id, _, _)| debt_id)
            .collect();
        erase_debt_items(stores, debts).await?;
        after = page.next_cursor;
        let done = after.is_none();
        if done {
            // The rewrites are done: nothing of what they replaced stays in the engine's files.
            stores.events.purge_residue().await?;
        }
        let attributes = store::codec::to_attributes(&json!({"after": after, "done": done}));
        stores
            .records
            .put_item(&Item {
                key: record.clone(),
                attributes,
            })
            .await?;
        if done {
            return Ok(());
        }
    }
}

/// Rewrites the read items of `debt_ids` from their events, [`ERASURE_CONCURRENCY`] at a time: same
/// version, so only a repair may replace them (deleted debts' tombstones included).
async fn erase_debt_items(stores: &Stores, debt_ids: Vec<String>) -> Result<(), StoreError> {
    let mut pending = debt_ids.into_iter();
    let mut tasks = JoinSet::new();
    loop {
        while tasks.len() < ERASURE_CONCURRENCY {
            let Some(debt_id) = pending.next() else {
                break;
            };
            let stores = stores.clone();
            tasks.spawn(async move {
                let debt = AggregateRef::debt(debt_id);
                for projection in following(AggregateType::Debt) {
                    if let Some(item) = rebuild(stores.events.as_ref(), projection, &debt).await? {
                        stores.read_model.repair_read_item(&item).await?;
                    }
                }
                Ok::<(), StoreError>(())
            });
        }
        let Some(done) = tasks.join_next().await else {
            return Ok(());
        };
        done.map_err(StoreError::engine)??;
    }
}

/// The read item the aggregate's whole history makes for `projection`, ignoring what is stored (replay's
/// source of truth).
pub async fn rebuild(
    events: &dyn EventLog,
    projection: &dyn Projection,
    aggregate: &AggregateRef,
) -> Result<Option<ReadItem>, StoreError> {
    let history = events.load_events(aggregate, 0).await?;
    Ok(projection.item_from_history(&history))
}

/// Where the aggregate's read item lives, from its first event (read by key: consistent, one item), or
/// `None` when it has no events.
async fn read_key(
    events: &dyn EventLog,
    projection: &dyn Projection,
    aggregate: &AggregateRef,
) -> Result<Option<ItemKey>, StoreError> {
    let Some(first) = events.first_event(aggregate).await? else {
        return Ok(None);
    };
    match projection.key_from_first(&first) {
        Some(key) => Ok(Some(key)),
        None => {
            let key = keys::event_key(aggregate.aggregate_type, &aggregate.aggregate_id, 1);
            Err(StoreError::Corrupt {
                pk: key.pk,
                sk: key.sk,
                reason: format!("first event is {}", first.payload.event_type()),
            })
        }
    }
}
