//! Items of the one table: a key and a map of attributes, in the shape DynamoDB stores them. Read items add
//! the two attributes the projector's guard needs: `version` and `deleted`.

use serde_json::{Map, Value};

/// An item's attributes other than its key, as JSON (strings, integers, booleans, lists, maps).
pub type Attributes = Map<String, Value>;

/// Attribute names the engines own; callers' attributes may not use them.
pub const RESERVED_ATTRIBUTES: [&str; 4] = ["PK", "SK", "version", "deleted"];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ItemKey {
    pub pk: String,
    pub sk: String,
}

impl ItemKey {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        ItemKey {
            pk: pk.into(),
            sk: sk.into(),
        }
    }
}

/// Any item: an event, a guard, credentials or a read item, with every attribute but the key.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub key: ItemKey,
    pub attributes: Attributes,
}

/// A projection's item (`USER#INFO`, `DEBT#...`). Writes are guarded by `version`; a `deleted` item is a
/// tombstone: queries never return it and no write replaces it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadItem {
    pub key: ItemKey,
    /// Version of the aggregate the item reflects.
    pub version: u64,
    pub deleted: bool,
    pub attributes: Attributes,
}

impl ReadItem {
    /// The item as stored: its attributes plus `version` and `deleted`.
    pub fn to_item(&self) -> Item {
        let mut attributes = self.attributes.clone();
        attributes.insert("version".into(), Value::from(self.version));
        attributes.insert("deleted".into(), Value::Bool(self.deleted));
        Item {
            key: self.key.clone(),
            attributes,
        }
    }

    /// Reads an item the store listed as a read item; one without a numeric `version` is corrupt.
    pub fn decode(item: Item) -> Result<ReadItem, crate::StoreError> {
        let key = item.key.clone();
        ReadItem::from_item(item).ok_or(crate::StoreError::Corrupt {
            pk: key.pk,
            sk: key.sk,
            reason: "read item without a version".into(),
        })
    }

    /// Reads a stored item as a read item; `None` when it lacks a numeric `version`.
    pub fn from_item(item: Item) -> Option<ReadItem> {
        let Item {
            key,
            mut attributes,
        } = item;
        let version = attributes.remove("version")?.as_u64()?;
        let deleted = attributes
            .remove("deleted")
            .and_then(|d| d.as_bool())
            .unwrap_or(false);
        Some(ReadItem {
            key,
            version,
            deleted,
            attributes,
        })
    }
}

/// Reads stored attributes from the text of one JSON object (what [`crate::ReadModel::read_item_json`]
/// answers, and what the SQLite engine keeps); anything else is [`crate::StoreError::Corrupt`].
pub fn attributes_from_json(key: &ItemKey, text: &str) -> Result<Attributes, crate::StoreError> {
    let mut reader = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut reader, SizedMap)
        .and_then(|map| reader.end().map(|()| map))
        .map_err(|_| crate::StoreError::Corrupt {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            reason: "attributes are not a JSON object".into(),
        })
}

/// Reads a JSON object into a map sized for a read item up front: grown from empty, its index was
/// rehashed four times per item (issue 16's instruction count).
struct SizedMap;

impl<'de> serde::de::Visitor<'de> for SizedMap {
    type Value = Attributes;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut entries: A,
    ) -> Result<Attributes, A::Error> {
        let mut map = Attributes::with_capacity(entries.size_hint().unwrap_or(32));
        while let Some((name, value)) = entries.next_entry::<String, Value>()? {
            map.insert(name, value);
        }
        Ok(map)
    }
}
