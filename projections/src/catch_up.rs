//! Projects one aggregate: reads the events after the version its read item holds (consistently), folds them
//! onto that item, and writes the result with a version guard. Whatever order or number of times it runs,
//! the read item ends at the aggregate's latest version, and a tombstone stays a tombstone.

use chrono::{DateTime, Utc};
use domain::{DebtView, UserView};
use events::{AggregateType, EventPayload};
use read_model::{debt_item, debt_view, erased_user_item, user_item};
use store::{codec, keys, AggregateRef, EventStore, ItemKey, ReadItem, StoreError, WriteOutcome};

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

/// Catches the aggregate's read item up with its events. `owner_hint` is who a stream record says caused
/// the event (its `actor`): for a debt, its owner in every event the API writes, which finds the debt's read
/// item without reading its first event (three round trips instead of four). A wrong hint finds nothing
/// there, and the item is rebuilt from the whole history; the key it is written under comes from the
/// events (the owner in the debt's creation), never from the hint.
pub async fn catch_up(
    store: &dyn EventStore,
    aggregate: &AggregateRef,
    owner_hint: Option<&str>,
) -> Result<Projected, StoreError> {
    let key = match (aggregate.aggregate_type, owner_hint) {
        (AggregateType::Debt, Some(owner)) => keys::debt_read_key(owner, &aggregate.aggregate_id),
        _ => match read_key(store, aggregate).await? {
            Some(key) => key,
            None => return Ok(Projected::NoEvents),
        },
    };
    let stored = store.get_item(&key).await?.and_then(ReadItem::from_item);
    let after = stored.as_ref().map_or(0, |item| item.version);
    let events = store.load_events(aggregate, after).await?;
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
                    store.redact_legacy_event(redaction).await?;
                }
            }
        }
        erase_debt_items(store, &erasure.debt_ids).await?;
    }
    let erased = erasure.is_some();
    let item = match (aggregate.aggregate_type, &stored) {
        (AggregateType::Debt, Some(stored)) => match debt_view(stored) {
            Ok(view) => Some(debt_item(&events.iter().fold(view, DebtView::apply))),
            Err(error) => {
                // An unreadable item cannot be continued: rebuild from the whole history instead.
                tracing::warn!(%error, "read item unreadable; rebuilding from the event log");
                rebuild(store, aggregate).await?
            }
        },
        // Users have one event; debts without a read item start from their first event.
        _ if after == 0 => project(aggregate.aggregate_type, &events),
        _ => rebuild(store, aggregate).await?,
    };
    let Some(item) = item else {
        return Ok(Projected::NoEvents);
    };
    let outcome = store.put_read_item(&item).await?;
    if erased {
        // The erasure's rewrites are done: nothing of what they replaced stays in the engine's files.
        store.purge_residue().await?;
    }
    Ok(match outcome {
        WriteOutcome::Written => Projected::Written { item, newest },
        WriteOutcome::Stale => Projected::Stale,
    })
}

/// The read item the aggregate's whole history makes, ignoring what is stored (replay's source of truth).
pub async fn rebuild(
    store: &dyn EventStore,
    aggregate: &AggregateRef,
) -> Result<Option<ReadItem>, StoreError> {
    let events = store.load_events(aggregate, 0).await?;
    Ok(project(aggregate.aggregate_type, &events))
}

fn project(aggregate_type: AggregateType, history: &[events::EventEnvelope]) -> Option<ReadItem> {
    match aggregate_type {
        AggregateType::Debt => DebtView::from_history(history).map(|view| debt_item(&view)),
        AggregateType::User => {
            let last = history.last()?;
            if history
                .iter()
                .any(|e| matches!(e.payload, EventPayload::UserErased(_)))
            {
                return Some(erased_user_item(&last.aggregate_id, last.version));
            }
            UserView::from_history(history).map(|view| user_item(&view, last.version))
        }
    }
}

/// Rewrites the read items of an erased user's debts from their events, whose personal fields now open as
/// `"[erased]"`: same version, so only a repair may replace them (deleted debts' tombstones included).
async fn erase_debt_items(store: &dyn EventStore, debt_ids: &[String]) -> Result<(), StoreError> {
    for debt_id in debt_ids {
        if let Some(item) = rebuild(store, &AggregateRef::debt(debt_id)).await? {
            store.repair_read_item(&item).await?;
        }
    }
    Ok(())
}

/// Where the aggregate's read item lives, or `None` when it has no events. A debt's item sits in its owner's
/// partition; the owner is in the debt's first event, read by key (consistent, one item).
async fn read_key(
    store: &dyn EventStore,
    aggregate: &AggregateRef,
) -> Result<Option<ItemKey>, StoreError> {
    match aggregate.aggregate_type {
        AggregateType::User => Ok(Some(keys::user_info_key(&aggregate.aggregate_id))),
        AggregateType::Debt => {
            let first_key = keys::event_key(AggregateType::Debt, &aggregate.aggregate_id, 1);
            let Some(first) = store.get_item(&first_key).await? else {
                return Ok(None);
            };
            match codec::decode_event(first)?.payload {
                EventPayload::DebtCreated(created) => Ok(Some(keys::debt_read_key(
                    &created.owner,
                    &aggregate.aggregate_id,
                ))),
                other => Err(StoreError::Corrupt {
                    pk: first_key.pk,
                    sk: first_key.sk,
                    reason: format!("first event is {}", other.event_type()),
                }),
            }
        }
    }
}
