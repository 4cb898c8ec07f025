//! Converts item attributes between the port's JSON form and DynamoDB's `AttributeValue`s.
//!
//! The port writes strings, integers, booleans, nulls, lists and maps; amounts are decimal strings, so no
//! float is ever involved. Read back, a non-integer number (written by someone else) stays a decimal string
//! rather than becoming a lossy float.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Map, Number, Value};
use store::{Attributes, Item, ItemKey, StoreError};

pub type DynamoItem = HashMap<String, AttributeValue>;

pub fn to_attribute(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(values) => AttributeValue::L(values.iter().map(to_attribute).collect()),
        Value::Object(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| (k.clone(), to_attribute(v)))
                .collect(),
        ),
    }
}

fn number(text: &str) -> Value {
    if let Ok(i) = text.parse::<i64>() {
        Value::Number(Number::from(i))
    } else if let Ok(u) = text.parse::<u64>() {
        Value::Number(Number::from(u))
    } else {
        Value::String(text.to_owned())
    }
}

pub fn from_attribute(value: &AttributeValue) -> Result<Value, String> {
    Ok(match value {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => number(n),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(values) => Value::Array(
            values
                .iter()
                .map(from_attribute)
                .collect::<Result<_, _>>()?,
        ),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attribute(v)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
        AttributeValue::Ss(values) => {
            Value::Array(values.iter().cloned().map(Value::String).collect())
        }
        AttributeValue::Ns(values) => Value::Array(values.iter().map(|n| number(n)).collect()),
        other => return Err(format!("unsupported attribute type {other:?}")),
    })
}

/// The DynamoDB item for a key and its attributes.
pub fn to_item(key: &ItemKey, attributes: &Attributes) -> DynamoItem {
    let mut item: DynamoItem = attributes
        .iter()
        .map(|(k, v)| (k.clone(), to_attribute(v)))
        .collect();
    item.extend(key_attributes(key));
    item
}

/// Just the key attributes, as `Key` parameters and `ExclusiveStartKey`s want them.
pub fn key_attributes(key: &ItemKey) -> DynamoItem {
    HashMap::from([
        ("PK".to_owned(), AttributeValue::S(key.pk.clone())),
        ("SK".to_owned(), AttributeValue::S(key.sk.clone())),
    ])
}

/// The key of a DynamoDB item (or of a `LastEvaluatedKey`).
pub fn key_of(item: &DynamoItem) -> Result<ItemKey, StoreError> {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => Ok(s.clone()),
        _ => Err(StoreError::Corrupt {
            pk: String::new(),
            sk: String::new(),
            reason: format!("item has no string {name}"),
        }),
    };
    Ok(ItemKey::new(text("PK")?, text("SK")?))
}

/// A DynamoDB item as a port item: its key, and every other attribute as JSON.
pub fn from_item(mut item: DynamoItem) -> Result<Item, StoreError> {
    let key = key_of(&item)?;
    item.remove("PK");
    item.remove("SK");
    let attributes = item
        .iter()
        .map(|(k, v)| Ok((k.clone(), from_attribute(v)?)))
        .collect::<Result<Attributes, String>>()
        .map_err(|reason| StoreError::Corrupt {
            pk: key.pk.clone(),
            sk: key.sk.clone(),
            reason,
        })?;
    Ok(Item { key, attributes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_survives_the_round_trip_through_attribute_values() {
        let value = json!({
            "s": "text", "n": 42, "big": u64::MAX, "neg": -7, "b": true, "z": null,
            "l": [1, "two", {"three": 3}], "m": {"amount": "12.50", "empty": ""}
        });
        assert_eq!(from_attribute(&to_attribute(&value)).unwrap(), value);
    }

    #[test]
    fn a_foreign_decimal_number_reads_back_as_an_exact_string() {
        assert_eq!(
            from_attribute(&AttributeValue::N("0.1".into())).unwrap(),
            json!("0.1")
        );
    }

    #[test]
    fn items_carry_their_key_as_pk_and_sk() {
        let key = ItemKey::new("USER#alice", "USER#INFO");
        let attributes = json!({"full_name": "Alice"}).as_object().unwrap().clone();
        let item = to_item(&key, &attributes);
        assert_eq!(item["PK"], AttributeValue::S("USER#alice".into()));
        let back = from_item(item).unwrap();
        assert_eq!(back.key, key);
        assert_eq!(back.attributes, attributes);
    }
}
