//! Personal fields (a user's email and full name, a debt's name and creditor, every free-text note or reason):
//! stored sealed under the owner's data key since schema version 2, so that destroying the key erases them
//! while the events around them stay in the log (crypto-shredding; see `docs/privacy.md`).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a personal field reads as once its owner's data key is destroyed (and, in events written before
/// sealing, after the erasure redacted it in place).
pub const ERASED: &str = "[erased]";

/// A sealed personal field as it is stored and published: `enc` is the AES-256-GCM nonce, ciphertext and tag
/// (URL-safe base64 without padding), `kid` names the data key it was sealed under (its owner's username),
/// `v` the seal format, which says what the ciphertext is bound to (its associated data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedText {
    pub enc: String,
    pub kid: String,
    /// [`SealedText::BOUND_TO_EVENT`] when absent (fields sealed before the format had a number).
    #[serde(
        default = "SealedText::bound_to_event",
        skip_serializing_if = "SealedText::is_first"
    )]
    pub v: u8,
}

impl SealedText {
    /// Format 1: bound to the event id and the field's name.
    pub const BOUND_TO_EVENT: u8 = 1;
    /// Format 2: bound to the key's owner, the aggregate (type and id), the event id and the field's name,
    /// so that an event copied into another aggregate does not open there.
    pub const BOUND_TO_AGGREGATE: u8 = 2;

    fn bound_to_event() -> u8 {
        Self::BOUND_TO_EVENT
    }

    // serde's `skip_serializing_if` passes a reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn is_first(v: &u8) -> bool {
        *v == Self::BOUND_TO_EVENT
    }
}

/// One personal field of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Personal {
    /// The text itself: as the write side decides it (sealed before it is stored), as a reader sees it after
    /// opening, and as events written before schema version 2 hold it.
    Clear(String),
    /// As stored and published since schema version 2.
    Sealed(SealedText),
    /// Sealed under a data key that no longer exists: the owner was erased.
    Erased,
}

impl Personal {
    /// The text to show: the clear text, or `"[erased]"`. A field still sealed (a reader that did not open it)
    /// shows as `"[sealed]"`, never as its ciphertext.
    pub fn shown(&self) -> &str {
        match self {
            Personal::Clear(text) => text,
            Personal::Erased => ERASED,
            Personal::Sealed(_) => "[sealed]",
        }
    }

    /// The shown text, owned.
    pub fn to_shown(&self) -> String {
        self.shown().to_owned()
    }
}

impl From<&str> for Personal {
    fn from(text: &str) -> Self {
        Personal::Clear(text.to_owned())
    }
}

impl From<String> for Personal {
    fn from(text: String) -> Self {
        Personal::Clear(text)
    }
}

impl Serialize for Personal {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Personal::Clear(text) => serializer.serialize_str(text),
            Personal::Erased => serializer.serialize_str(ERASED),
            Personal::Sealed(sealed) => sealed.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for Personal {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Stored {
            Clear(String),
            Sealed(SealedText),
        }
        Ok(match Stored::deserialize(deserializer)? {
            Stored::Clear(text) => Personal::Clear(text),
            Stored::Sealed(sealed) => Personal::Sealed(sealed),
        })
    }
}

impl JsonSchema for Personal {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Personal".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Personal data. Since schema version 2 always sealed: {\"enc\", \"kid\", \"v\"}, AES-256-GCM under the owner's data key with associated data that binds it to its place (see docs/privacy.md). Plain text only in events written at schema version 1, where \"[erased]\" means the owner's erasure redacted it.",
            "oneOf": [
                {
                    "type": "object",
                    "properties": {
                        "enc": {
                            "type": "string",
                            "pattern": "^[A-Za-z0-9_-]+$",
                            "description": "Nonce (12 bytes), ciphertext and tag (16 bytes), URL-safe base64 without padding."
                        },
                        "kid": {
                            "type": "string",
                            "description": "The data key it was sealed under: its owner's username."
                        },
                        "v": {
                            "type": "integer",
                            "enum": [1, 2],
                            "default": 1,
                            "description": "The seal format, what the associated data binds: 1 (absent) the event id and field name; 2 the owner, the aggregate's type and id, the event id and field name."
                        }
                    },
                    "required": ["enc", "kid"],
                    "additionalProperties": false
                },
                {"type": "string"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clear_and_erased_are_strings_and_sealed_is_an_object() {
        assert_eq!(json!(Personal::from("Visa")), json!("Visa"));
        assert_eq!(json!(Personal::Erased), json!("[erased]"));
        let sealed = Personal::Sealed(SealedText {
            enc: "abc".into(),
            kid: "alice".into(),
            v: SealedText::BOUND_TO_AGGREGATE,
        });
        assert_eq!(json!(sealed), json!({"enc": "abc", "kid": "alice", "v": 2}));
        let back: Personal =
            serde_json::from_value(json!({"enc": "abc", "kid": "alice", "v": 2})).unwrap();
        assert_eq!(back, sealed);
        // A field sealed before the format had a number reads as format 1, and is written back the same.
        let first: Personal =
            serde_json::from_value(json!({"enc": "abc", "kid": "alice"})).unwrap();
        assert!(matches!(&first, Personal::Sealed(s) if s.v == SealedText::BOUND_TO_EVENT));
        assert_eq!(json!(first), json!({"enc": "abc", "kid": "alice"}));
        let clear: Personal = serde_json::from_value(json!("Visa")).unwrap();
        assert_eq!(clear, Personal::from("Visa"));
        assert!(serde_json::from_value::<Personal>(json!({"enc": "abc"})).is_err());
        assert!(serde_json::from_value::<Personal>(json!(12)).is_err());
    }

    #[test]
    fn a_sealed_field_never_shows_its_ciphertext() {
        let sealed = Personal::Sealed(SealedText {
            enc: "abc".into(),
            kid: "alice".into(),
            v: SealedText::BOUND_TO_AGGREGATE,
        });
        assert_eq!(sealed.shown(), "[sealed]");
        assert_eq!(Personal::Erased.shown(), "[erased]");
    }
}
