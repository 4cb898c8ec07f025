//! The read models the projector keeps, registered in one place ([`PROJECTIONS`]): each says which aggregate
//! type it follows, which read items it writes (their kind, for replay), where an aggregate's item lives, and
//! the item an aggregate's history makes. Catch-up, replay and the engines go through this list, so a new
//! read model is a new entry here and touches neither engine.

use domain::{DebtView, UserView};
use events::{AggregateType, EventEnvelope, EventPayload};
use read_model::{debt_item, debt_view, erased_user_item, user_item};
use store::{keys, AggregateRef, ItemKey, ReadItem, ReadItemKind, SortKeyMatch};

/// One read model: how an aggregate's events become its read item.
pub trait Projection: Send + Sync {
    /// The read items it writes, as replay lists them.
    fn kind(&self) -> ReadItemKind;

    /// The aggregate type whose events it folds.
    fn aggregate_type(&self) -> AggregateType;

    /// The aggregate a read item of this kind reflects (its key names it).
    fn aggregate_of(&self, key: &ItemKey) -> Option<AggregateRef>;

    /// Where the aggregate's read item lives when that can be told without reading its events: from its id,
    /// or from `actor`, who a stream record says caused the event (a hint: a wrong one finds nothing there,
    /// and the item is rebuilt from the whole history under the key the events give).
    fn key_without_events(&self, aggregate_id: &str, actor: Option<&str>) -> Option<ItemKey>;

    /// Where the aggregate's read item lives, from its first event; `None` when that event cannot start
    /// this aggregate (a corrupt log).
    fn key_from_first(&self, first: &EventEnvelope) -> Option<ItemKey>;

    /// The read item the aggregate's whole history makes, or `None` when the history makes none.
    fn item_from_history(&self, history: &[EventEnvelope]) -> Option<ReadItem>;

    /// The stored item moved on by the events after its version, or `None` when it cannot be continued
    /// (then it is rebuilt from the whole history).
    fn continued(&self, stored: &ReadItem, events: &[EventEnvelope]) -> Option<ReadItem>;
}

/// Every read model the projector keeps.
pub static PROJECTIONS: [&dyn Projection; 2] = [&DebtItems, &UserItems];

/// The read models that follow `aggregate_type`.
pub fn following(aggregate_type: AggregateType) -> impl Iterator<Item = &'static dyn Projection> {
    PROJECTIONS
        .iter()
        .copied()
        .filter(move |projection| projection.aggregate_type() == aggregate_type)
}

/// The kinds of every registered read item.
pub fn kinds() -> Vec<ReadItemKind> {
    PROJECTIONS
        .iter()
        .map(|projection| projection.kind())
        .collect()
}

/// The aggregate the read item at `key` reflects, by the projection whose kind it is.
pub fn aggregate_of(key: &ItemKey) -> Option<AggregateRef> {
    PROJECTIONS
        .iter()
        .find(|projection| projection.kind().matches(key))
        .and_then(|projection| projection.aggregate_of(key))
}

/// A debt's view in its owner's partition: `USER#{owner}/DEBT#{id}`.
pub struct DebtItems;

impl Projection for DebtItems {
    fn kind(&self) -> ReadItemKind {
        ReadItemKind {
            name: "debt",
            pk_prefix: keys::USER_PK_PREFIX,
            sk: SortKeyMatch::Prefix(keys::DEBT_SK_PREFIX),
        }
    }

    fn aggregate_type(&self) -> AggregateType {
        AggregateType::Debt
    }

    fn aggregate_of(&self, key: &ItemKey) -> Option<AggregateRef> {
        key.sk
            .strip_prefix(keys::DEBT_SK_PREFIX)
            .map(AggregateRef::debt)
    }

    fn key_without_events(&self, debt_id: &str, actor: Option<&str>) -> Option<ItemKey> {
        // Every debt event the API writes has the owner as its actor.
        actor.map(|owner| keys::debt_read_key(owner, debt_id))
    }

    fn key_from_first(&self, first: &EventEnvelope) -> Option<ItemKey> {
        match &first.payload {
            EventPayload::DebtCreated(created) => {
                Some(keys::debt_read_key(&created.owner, &first.aggregate_id))
            }
            _ => None,
        }
    }

    fn item_from_history(&self, history: &[EventEnvelope]) -> Option<ReadItem> {
        DebtView::from_history(history).map(|view| debt_item(&view))
    }

    fn continued(&self, stored: &ReadItem, events: &[EventEnvelope]) -> Option<ReadItem> {
        match debt_view(stored) {
            Ok(view) => Some(debt_item(&events.iter().fold(view, DebtView::apply))),
            Err(error) => {
                tracing::warn!(%error, "read item unreadable; rebuilding from the event log");
                None
            }
        }
    }
}

/// A user's profile: `USER#{username}/USER#INFO`; after an erasure, a tombstone keeping only the username.
pub struct UserItems;

impl Projection for UserItems {
    fn kind(&self) -> ReadItemKind {
        ReadItemKind {
            name: "user",
            pk_prefix: keys::USER_PK_PREFIX,
            sk: SortKeyMatch::Exactly(keys::USER_INFO_SK),
        }
    }

    fn aggregate_type(&self) -> AggregateType {
        AggregateType::User
    }

    fn aggregate_of(&self, key: &ItemKey) -> Option<AggregateRef> {
        key.pk
            .strip_prefix(keys::USER_PK_PREFIX)
            .map(AggregateRef::user)
    }

    fn key_without_events(&self, username: &str, _actor: Option<&str>) -> Option<ItemKey> {
        Some(keys::user_info_key(username))
    }

    fn key_from_first(&self, first: &EventEnvelope) -> Option<ItemKey> {
        Some(keys::user_info_key(&first.aggregate_id))
    }

    fn item_from_history(&self, history: &[EventEnvelope]) -> Option<ReadItem> {
        let last = history.last()?;
        if history
            .iter()
            .any(|e| matches!(e.payload, EventPayload::UserErased(_)))
        {
            return Some(erased_user_item(&last.aggregate_id, last.version));
        }
        UserView::from_history(history).map(|view| user_item(&view, last.version))
    }

    fn continued(&self, _stored: &ReadItem, _events: &[EventEnvelope]) -> Option<ReadItem> {
        // A user's few events are folded from the start each time.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_read_item_key_names_its_aggregate_through_its_kind() {
        assert_eq!(
            aggregate_of(&keys::debt_read_key("ada", "d-1")),
            Some(AggregateRef::debt("d-1"))
        );
        assert_eq!(
            aggregate_of(&keys::user_info_key("ada")),
            Some(AggregateRef::user("ada"))
        );
        for other in [
            keys::credentials_key("ada"),
            keys::user_tallies_key("ada"),
            keys::user_ledger_tally_key("ada"),
            keys::data_key_key("ada"),
            keys::event_key(AggregateType::User, "ada", 1),
            keys::portfolio_debt_key("ada", "d-1"),
        ] {
            assert_eq!(aggregate_of(&other), None, "{other:?} is no read item");
        }
        assert_eq!(following(AggregateType::Debt).count(), 1);
    }
}
