//! The read items' shapes: a debt's item is its [`DebtView`] under `USER#{owner}/DEBT#{id}`, a user's is the
//! [`UserView`] under `USER#{username}/USER#INFO`; `version` and `deleted` are the guard attributes.

use domain::{DebtView, UserView};
use serde::de::value::MapDeserializer;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use store::{codec, keys, Attributes, ItemKey, ReadItem, StoreError};

fn attributes_of(view: &impl Serialize) -> Attributes {
    let mut attributes = codec::to_attributes(view);
    // The store owns these two: they are the read item's guard, not view data.
    attributes.remove("version");
    attributes.remove("deleted");
    attributes
}

/// The view stored in `item`, read from the item's attributes where they lie (the attribute map is not
/// copied: a copy was a third of a listing's time) with the store's `version` and `deleted` put back.
fn view_of<T: DeserializeOwned>(item: &ReadItem) -> Result<T, StoreError> {
    let version = Value::from(item.version);
    let deleted = Value::Bool(true);
    let guard =
        std::iter::once(("version", &version)).chain(item.deleted.then_some(("deleted", &deleted)));
    let entries = item
        .attributes
        .iter()
        .map(|(name, value)| (name.as_str(), value))
        .filter(|(name, _)| !matches!(*name, "version" | "deleted"))
        .chain(guard);
    T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries))
        .map_err(|e| corrupt(&item.key, &e))
}

/// The item at `key` does not hold what a read item of its kind holds.
fn corrupt(key: &ItemKey, reason: &serde_json::Error) -> StoreError {
    StoreError::Corrupt {
        pk: key.pk.clone(),
        sk: key.sk.clone(),
        reason: reason.to_string(),
    }
}

/// A view kept as a read item. A view that carries the item's guard itself (`version`, `deleted`) says so,
/// and is then read from the stored text in one pass; for another the guard is read in a pass of its own.
pub trait ReadView: DeserializeOwned {
    /// The item's version and whether it is a tombstone, when the view holds them.
    fn guard(&self) -> Option<(u64, bool)> {
        None
    }
}

impl ReadView for DebtView {
    fn guard(&self) -> Option<(u64, bool)> {
        Some((self.version, self.deleted))
    }
}

impl ReadView for UserView {}

/// A live read item's view and version, decoded straight from the JSON text of its attributes
/// ([`store::ReadModel::read_item_json`]) rather than through the attribute map: the same view [`view_of`]
/// reads from the item. `None` for a tombstone, and for an item without a numeric `version` (not a read
/// item), as [`ReadItem::from_item`] reads them.
pub fn live_view<T: ReadView>(key: &ItemKey, text: &str) -> Result<Option<(T, u64)>, StoreError> {
    let corrupt = |e: serde_json::Error| corrupt(key, &e);
    match serde_json::from_str::<T>(text) {
        Ok(view) => match view.guard().map_or_else(|| guard_of(text), |g| Ok(Some(g))) {
            Ok(Some((version, false))) => Ok(Some((view, version))),
            Ok(_) => Ok(None),
            Err(e) => Err(corrupt(e)),
        },
        // A tombstone, or an item that is not a read item, need not hold a whole view.
        Err(e) => match guard_of(text).map_err(corrupt)? {
            Some((_, false)) => Err(corrupt(e)),
            _ => Ok(None),
        },
    }
}

/// The read item's guard in `text` (every other attribute skipped), taken as loosely as
/// [`ReadItem::from_item`] takes it: `None` without a numeric `version`; a `deleted` that is not `true` is
/// live.
fn guard_of(text: &str) -> Result<Option<(u64, bool)>, serde_json::Error> {
    #[derive(Deserialize)]
    struct Guard {
        #[serde(default)]
        version: Option<Value>,
        #[serde(default)]
        deleted: Option<Value>,
    }
    let guard: Guard = serde_json::from_str(text)?;
    let deleted = guard.deleted.as_ref().and_then(Value::as_bool) == Some(true);
    Ok(guard
        .version
        .as_ref()
        .and_then(Value::as_u64)
        .map(|version| (version, deleted)))
}

pub fn debt_item(view: &DebtView) -> ReadItem {
    ReadItem {
        key: keys::debt_read_key(&view.fields.owner, &view.debt_id),
        version: view.version,
        deleted: view.deleted,
        attributes: attributes_of(view),
    }
}

pub fn debt_view(item: &ReadItem) -> Result<DebtView, StoreError> {
    view_of(item)
}

/// A user's read item; `version` is the user aggregate's.
pub fn user_item(view: &UserView, version: u64) -> ReadItem {
    ReadItem {
        key: keys::user_info_key(&view.username),
        version,
        deleted: false,
        attributes: attributes_of(view),
    }
}

/// An erased user's read item: a tombstone that keeps the username and nothing else of them.
pub fn erased_user_item(username: &str, version: u64) -> ReadItem {
    ReadItem {
        key: keys::user_info_key(username),
        version,
        deleted: true,
        attributes: codec::to_attributes(
            &serde_json::json!({ "username": username, "erased": true }),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn car_loan() -> DebtView {
        serde_json::from_value(json!({
            "debt_id": "0b6f0a8e-3f7c-4c4e-9d59-7c1f6a1b2c3d", "owner": "ada", "debt_name": "Car loan",
            "principal": "12000.50", "interest_rate": "4.9", "start_date": "2025-01-15",
            "payment_frequency": "monthly", "current_balance": "11000.25", "creditor": "Bank",
            "minimum_payment": "250.00", "total_paid": "1000.25", "total_charged": "0.00",
            "last_payment_on": "2025-02-15", "version": 3,
            "created_at": "2025-01-15T10:00:00Z", "updated_at": "2025-02-15T10:00:00.123Z"
        }))
        .expect("a debt view")
    }

    /// The text the store keeps for `item`: its attributes with the guard, as one JSON object.
    fn stored_text(item: &ReadItem) -> String {
        Value::Object(item.to_item().attributes).to_string()
    }

    #[test]
    fn a_live_view_from_the_text_is_the_view_from_the_item() {
        let item = debt_item(&car_loan());
        let live = live_view::<DebtView>(&item.key, &stored_text(&item)).unwrap();
        assert_eq!(live, Some((debt_view(&item).unwrap(), 3)));
        assert_eq!(live.unwrap().0, car_loan());

        let user: UserView =
            serde_json::from_value(json!({"username": "ada", "email": "ada@example.com",
            "full_name": "Ada L", "created_at": "2025-01-15T10:00:00Z"}))
            .unwrap();
        let item = user_item(&user, 1);
        let live = live_view::<UserView>(&item.key, &stored_text(&item)).unwrap();
        assert_eq!(live, Some((view_of::<UserView>(&item).unwrap(), 1)));
    }

    #[test]
    fn tombstones_and_items_without_a_version_read_as_absent() {
        let mut item = debt_item(&car_loan());
        item.deleted = true;
        assert_eq!(
            live_view::<DebtView>(&item.key, &stored_text(&item)).unwrap(),
            None
        );
        let erased = erased_user_item("ada", 4);
        assert_eq!(
            live_view::<UserView>(&erased.key, &stored_text(&erased)).unwrap(),
            None,
            "an erased user's tombstone lacks the view's fields and is never decoded as one"
        );
        for version in [json!(null), json!("3"), json!(-1), json!(1.5)] {
            let text = json!({"debt_name": "Car loan", "version": version}).to_string();
            assert!(ReadItem::from_item(store::Item {
                key: item.key.clone(),
                attributes: serde_json::from_str(&text).unwrap()
            })
            .is_none());
            assert_eq!(
                live_view::<DebtView>(&item.key, &text).unwrap(),
                None,
                "{text}"
            );
        }
    }

    #[test]
    fn text_that_is_not_an_object_or_not_the_view_is_corrupt() {
        let key = keys::debt_read_key("ada", "x");
        for text in [
            "[1]",
            "{\"version\": 1",
            r#"{"version": 1, "debt_name": "no id"}"#,
        ] {
            assert!(
                matches!(
                    live_view::<DebtView>(&key, text),
                    Err(StoreError::Corrupt { .. })
                ),
                "{text}"
            );
        }
    }
}
