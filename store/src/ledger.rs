//! A user's debt ledger: one immutable item when a debt is created and one when it is deleted, each written
//! in that event's transaction (`USER#{owner}` / `LEDGER#{debt_id}#CREATED` or `#DELETED`, with the event's
//! `occurred_at`). Reads `as_of` an instant list the debts a user had then from it, without a scan and
//! without a read item; replay writes the entries of debts created before the ledger existed.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use crate::codec::to_attributes;
use crate::item::{Item, ItemKey};
use crate::keys::{aggregate_pk, LEDGER_SK_PREFIX};

/// What a ledger entry records; its key ends in the name (`CREATED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum LedgerEntry {
    Created,
    Deleted,
}

impl LedgerEntry {
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// Key of one entry of `owner`'s debt ledger.
pub fn ledger_key(owner: &str, debt_id: &str, entry: LedgerEntry) -> ItemKey {
    ItemKey::new(
        aggregate_pk(events::AggregateType::User, owner),
        format!("{LEDGER_SK_PREFIX}{debt_id}#{}", entry.as_str()),
    )
}

/// The entry as stored: its key, the debt, and when its event occurred.
pub fn ledger_item(owner: &str, debt_id: &str, entry: LedgerEntry, at: DateTime<Utc>) -> Item {
    Item {
        key: ledger_key(owner, debt_id, entry),
        attributes: to_attributes(&json!({"debt_id": debt_id, "at": at})),
    }
}

/// The debt, the entry and its time of a stored ledger item, or `None` for any other item.
pub fn read_ledger_item(item: &Item) -> Option<(String, LedgerEntry, DateTime<Utc>)> {
    let rest = item.key.sk.strip_prefix(LEDGER_SK_PREFIX)?;
    let (debt_id, entry) = rest.rsplit_once('#')?;
    let entry: LedgerEntry = entry.parse().ok()?;
    let at = item
        .attributes
        .get("at")
        .and_then(Value::as_str)
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())?
        .to_utc();
    Some((debt_id.to_owned(), entry, at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ledger_items_round_trip_and_other_items_are_not_entries() {
        let at = Utc.with_ymd_and_hms(2026, 1, 3, 4, 5, 6).unwrap();
        let item = ledger_item("alice", "d-1", LedgerEntry::Created, at);
        assert_eq!(item.key, ItemKey::new("USER#alice", "LEDGER#d-1#CREATED"));
        assert_eq!(
            read_ledger_item(&item),
            Some(("d-1".to_owned(), LedgerEntry::Created, at))
        );
        let deleted = ledger_item("alice", "d-1", LedgerEntry::Deleted, at);
        assert_eq!(read_ledger_item(&deleted).unwrap().1, LedgerEntry::Deleted);
        let other = Item {
            key: crate::keys::debt_read_key("alice", "d-1"),
            attributes: item.attributes.clone(),
        };
        assert_eq!(read_ledger_item(&other), None);
    }
}
