//! The read items' shapes: a debt's item is its [`DebtView`] under `USER#{owner}/DEBT#{id}`, a user's is the
//! [`UserView`] under `USER#{username}/USER#INFO`; `version` and `deleted` are the guard attributes.

use domain::{DebtView, UserView};
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

fn view_of<T: DeserializeOwned>(item: &ReadItem) -> Result<T, StoreError> {
    let mut attributes = item.attributes.clone();
    attributes.insert("version".into(), Value::from(item.version));
    if item.deleted {
        attributes.insert("deleted".into(), Value::Bool(true));
    }
    serde_json::from_value(Value::Object(attributes)).map_err(|e| StoreError::Corrupt {
        pk: item.key.pk.clone(),
        sk: item.key.sk.clone(),
        reason: e.to_string(),
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

pub fn user_view(item: &ReadItem) -> Result<UserView, StoreError> {
    view_of(item)
}
