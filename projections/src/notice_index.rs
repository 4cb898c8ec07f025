//! The projector's part in the notice sweep's time index ([`store::notice_index`]): when a debt changes, or
//! its owner's notice settings do, the debt gets an entry at the hour its next notice falls due. Entries are
//! only ever added here, never moved: an earlier entry that went stale costs the sweep one read, while a
//! missing one would cost a notice. The sweep itself removes what it swept and writes each debt's next.

use chrono::{DateTime, Utc};
use domain::{DebtView, NoticesSent};
use read_model::notices::{notice_entry, notice_settings, NoticeSettings};
use read_model::{debt_view, live_view};
use store::{keys, query_all_read_items, Query, ReadItem, StoreError, Stores};

/// Every debt a user may have, so the re-index after a settings change is one page.
const DEBTS_PER_QUERY: u32 = 1000;

/// Writes the entry of the debt whose read item is `item`, as of `now`; nothing for a deleted or paid-off
/// debt, or an erased owner's.
pub async fn index_debt_item(
    stores: &Stores,
    item: &ReadItem,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let view = debt_view(item)?;
    let Some(settings) = notice_settings(stores.read_model.as_ref(), &view.fields.owner).await?
    else {
        return Ok(());
    };
    index_debt(stores, &view, &settings, now).await
}

/// Writes the entry of the debt `key` names, when its read item is there (a retried batch finds it
/// written already).
pub async fn index_debt_at(
    stores: &Stores,
    key: &store::ItemKey,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    match stores.read_model.read_item_json(key).await? {
        Some(text) => match live_view::<DebtView>(key, &text)? {
            Some((view, _)) => {
                let settings =
                    notice_settings(stores.read_model.as_ref(), &view.fields.owner).await?;
                match settings {
                    Some(settings) => index_debt(stores, &view, &settings, now).await,
                    None => Ok(()),
                }
            }
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// Writes an entry for every open debt of `owner` (their zone or notification settings changed).
pub async fn index_owners_debts(
    stores: &Stores,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(settings) = notice_settings(stores.read_model.as_ref(), owner).await? else {
        return Ok(0);
    };
    let pk = keys::user_info_key(owner).pk;
    let items = query_all_read_items(
        stores.read_model.as_ref(),
        Query::partition(pk, keys::DEBT_SK_PREFIX).limit(DEBTS_PER_QUERY),
    )
    .await?;
    let mut indexed = 0;
    for item in &items {
        index_debt(stores, &debt_view(item)?, &settings, now).await?;
        indexed += 1;
    }
    Ok(indexed)
}

async fn index_debt(
    stores: &Stores,
    view: &DebtView,
    settings: &NoticeSettings,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if view.deleted {
        return Ok(());
    }
    // The read item does not hold the notices sent: on a day one went out, the entry may name that day
    // again, and the sweep, which decides from the events, finds nothing more to send and moves it on.
    let entry = notice_entry(
        &view.debt_id,
        &view.fields,
        &NoticesSent::default(),
        view.created_at.date_naive(),
        settings,
        now,
    );
    match entry {
        Some(entry) => stores.records.put_item(&entry.to_item()).await,
        None => Ok(()),
    }
}
