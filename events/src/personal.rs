//! Personal fields (a user's email and full name, a debt's name and creditor, every free-text note or reason):
//! stored sealed under the owner's data key since schema version 2, so that destroying the key erases them
//! while the events around them stay in the log (crypto-shredding; see `docs/privacy.md`).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What a personal field reads as once its owner's data key is destroyed (and, in events written before
/// sealing, after the erasure redacted it in place).
pub const ERASED: &str = "[erased]";

/// A sealed personal field as it is stored and published: `enc` is the AES-256-GCM nonce, ciphertext and tag
/// (URL-safe base64 without padding), `kid` names the data key it was sealed under (its owner's username).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedText {
    pub enc: String,
    pub kid: String,
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
            "description": "Personal data. Since schema version 2 always sealed: {\"enc\", \"kid\"}, AES-256-GCM under the owner's data key with the event id and field name as associated data (see docs/privacy.md). Plain text only in events written at schema version 1, where \"[erased]\" means the owner's erasure redacted it.",
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
        });
        assert_eq!(json!(sealed), json!({"enc": "abc", "kid": "alice"}));
        let back: Personal = serde_json::from_value(json!({"enc": "abc", "kid": "alice"})).unwrap();
        assert_eq!(back, sealed);
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
        });
        assert_eq!(sealed.shown(), "[sealed]");
        assert_eq!(Personal::Erased.shown(), "[erased]");
    }
}
