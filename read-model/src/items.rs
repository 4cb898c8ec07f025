//! The read items' shapes: a debt's item is its [`DebtView`] under `USER#{owner}/DEBT#{id}`, a user's is the
//! [`UserView`] under `USER#{username}/USER#INFO`; `version` and `deleted` are the guard attributes.

use domain::{DebtView, UserView};
use serde::de::value::MapDeserializer;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use store::{codec, keys, Attributes, ReadItem, StoreError};

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
    T::deserialize(MapDeserializer::<_, serde_json::Error>::new(entries)).map_err(|e| {
        StoreError::Corrupt {
            pk: item.key.pk.clone(),
            sk: item.key.sk.clone(),
            reason: e.to_string(),
        }
    })
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

pub fn user_view(item: &ReadItem) -> Result<UserView, StoreError> {
    view_of(item)
}
