//! Projects one aggregate: reads the events after the version its read item holds (consistently), folds them
//! onto that item, and writes the result with a version guard. Whatever order or number of times it runs,
//! the read item ends at the aggregate's latest version, and a tombstone stays a tombstone.

use chrono::{DateTime, Utc};
use events::{AggregateType, EventPayload};
use store::{
    keys, read_item, AggregateRef, EventLog, ItemKey, ReadItem, StoreError, Stores, WriteOutcome,
};

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
        return Ok(if after == 0 {
            Projected::NoEvents
        } else {
            Projected::UpToDate
        });
    };
    let erasure = events.iter().find_map(|e| match &e.payload {
        EventPayload::UserErased(erased) => Some(erased),
        _ => None,
    });
    if let Some(erasure) = erasure {
        // Before the user's own item: a retry of this record redoes all of it until the tombstone is written.
        // First the events written in clear before sealing (the erasure listed them), so the rebuilt read
        // items read "[erased]" there too.
        for event in &events {
            if let EventPayload::LegacyEventRedacted(legacy) = &event.payload {
                for redaction in &legacy.events {
                    stores.events.redact_legacy_event(redaction).await?;
                }
            }
        }
        erase_debt_items(stores, &erasure.debt_ids).await?;
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
    let outcome = stores.read_model.put_read_item(&item).await?;
    if erasure.is_some() {
        // The erasure's rewrites are done: nothing of what they replaced stays in the engine's files.
        stores.events.purge_residue().await?;
    }
    Ok(match outcome {
        WriteOutcome::Written => Projected::Written { item, newest },
        WriteOutcome::Stale => Projected::Stale,
    })
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

/// Rewrites the read items of an erased user's debts from their events, whose personal fields now open as
/// `"[erased]"`: same version, so only a repair may replace them (deleted debts' tombstones included).
async fn erase_debt_items(stores: &Stores, debt_ids: &[String]) -> Result<(), StoreError> {
    for debt_id in debt_ids {
        let debt = AggregateRef::debt(debt_id);
        for projection in following(AggregateType::Debt) {
            if let Some(item) = rebuild(stores.events.as_ref(), projection, &debt).await? {
                stores.read_model.repair_read_item(&item).await?;
            }
        }
    }
    Ok(())
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
