//! Sealing one personal field: AES-256-GCM under the owner's data key, with the key's name (its owner), the
//! aggregate, the event id and the field name as associated data, so that a sealed value copied into another
//! aggregate, event or field does not open. Fields sealed in the first format (event id and field only) still
//! open; every new seal is in the second.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

use crate::PrivacyError;

/// A user's data key: 256 bits, only ever stored wrapped. Its `Debug` shows nothing of it, and its bytes are
/// overwritten when it is dropped.
pub struct DataKey {
    /// The only form kept: ring's expanded key schedule cannot be zeroed, so it is made for each seal or open
    /// (an AES-256 key expansion, far below a microsecond) and dropped with it.
    bytes: [u8; 32],
}

impl Drop for DataKey {
    fn drop(&mut self) {
        for byte in &mut self.bytes {
            // Volatile, so the compiler keeps a write to memory that is about to be freed.
            // SAFETY: `byte` is a valid, aligned, exclusive reference into `self.bytes`.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// Where a sealed value belongs: the aggregate and event it is part of and the field's name. All are bound
/// into the ciphertext (associated data), with the name of the key it is sealed under.
#[derive(Debug, Clone, Copy)]
pub struct SealContext<'a> {
    /// The aggregate as `{type}#{id}` (for example `debt#0b9f...`), see [`SealContext::aggregate_of`].
    pub aggregate: &'a str,
    pub event_id: &'a str,
    pub field: &'a str,
}

/// A separator that no username, aggregate type, UUID or field name contains.
const SEPARATOR: char = '\u{1f}';

impl SealContext<'_> {
    /// How an aggregate is named in the associated data.
    pub fn aggregate_of(event: &events::EventEnvelope) -> String {
        format!("{}#{}", event.aggregate_type.as_str(), event.aggregate_id)
    }

    /// The associated data of format `v` for a value sealed under the key named `kid`. Format 1 is kept only
    /// to open what was sealed in it; a format-2 value relabelled as 1 does not open (its associated data
    /// differs), so nothing can be downgraded.
    fn aad(&self, v: u8, kid: &str) -> Result<Vec<u8>, PrivacyError> {
        let text = match v {
            Sealed::BOUND_TO_EVENT => format!("{}{SEPARATOR}{}", self.event_id, self.field),
            Sealed::BOUND_TO_AGGREGATE => {
                ["v2", kid, self.aggregate, self.event_id, self.field].join(&SEPARATOR.to_string())
            }
            _ => return Err(PrivacyError::Malformed("seal format")),
        };
        Ok(text.into_bytes())
    }
}

/// A sealed field as it is stored and published (the event contract's type): `enc` is the nonce, ciphertext
/// and tag (URL-safe base64, no padding); `kid` names the data key it was sealed under.
pub type Sealed = events::SealedText;

impl DataKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, PrivacyError> {
        let mut bytes = [0u8; 32];
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| PrivacyError::NoRandomness)?;
        Self::from_bytes(&bytes)
    }

    /// The key of these 32 bytes (an unwrapped key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PrivacyError> {
        Ok(DataKey {
            bytes: bytes
                .try_into()
                .map_err(|_| PrivacyError::Malformed("data key"))?,
        })
    }

    /// The AEAD key for one seal or open.
    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &self.bytes).expect("32 bytes are an AES-256 key"),
        )
    }

    /// Seals `plaintext` for `context`, naming this key `kid`. Each seal draws a fresh random 96-bit nonce: a
    /// key seals one person's fields, far below the 2^32 seals under which random nonces stay safe.
    pub fn seal(
        &self,
        kid: &str,
        plaintext: &str,
        context: SealContext<'_>,
    ) -> Result<Sealed, PrivacyError> {
        let v = Sealed::BOUND_TO_AGGREGATE;
        Ok(Sealed {
            enc: URL_SAFE_NO_PAD.encode(seal_bytes(
                &self.aead(),
                plaintext.as_bytes(),
                &context.aad(v, kid)?,
            )?),
            kid: kid.to_owned(),
            v,
        })
    }

    /// The plaintext of `sealed`, if it was sealed under this key for exactly this `context`.
    pub fn open(&self, sealed: &Sealed, context: SealContext<'_>) -> Result<String, PrivacyError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(&sealed.enc)
            .map_err(|_| PrivacyError::Malformed("sealed value"))?;
        let plain = open_bytes(&self.aead(), bytes, &context.aad(sealed.v, &sealed.kid)?)?;
        String::from_utf8(plain).map_err(|_| PrivacyError::Malformed("sealed value"))
    }

    /// The key's bytes, to wrap.
    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
}

/// `nonce || ciphertext || tag` of `plaintext` under `key` with `aad`.
pub(crate) fn seal_bytes(
    key: &LessSafeKey,
    plaintext: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, PrivacyError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| PrivacyError::NoRandomness)?;
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| PrivacyError::Unopenable)?;
    let mut sealed = nonce.to_vec();
    sealed.append(&mut in_out);
    Ok(sealed)
}

/// The plaintext of `nonce || ciphertext || tag`, if `key` and `aad` are the ones it was sealed with.
pub(crate) fn open_bytes(
    key: &LessSafeKey,
    mut sealed: Vec<u8>,
    aad: &[u8],
) -> Result<Vec<u8>, PrivacyError> {
    if sealed.len() < NONCE_LEN {
        return Err(PrivacyError::Malformed("sealed value"));
    }
    let mut in_out = sealed.split_off(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(&sealed).map_err(|_| PrivacyError::Malformed("nonce"))?;
    let plain = key
        .open_in_place(nonce, Aad::from(aad), &mut in_out)
        .map_err(|_| PrivacyError::Unopenable)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: SealContext<'static> = SealContext {
        aggregate: "debt#6c1e4c1a-2f4e-4d7b-8b1a-3e5f7a9c0d2e",
        event_id: "0b9f3c2e-8d4f-4b6e-9a51-7f0c2d1e4a33",
        field: "debt_name",
    };

    #[test]
    fn a_sealed_field_opens_with_its_key_in_its_place() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal("alice/1", "Visa ending 4242", HERE).unwrap();
        assert_eq!(sealed.kid, "alice/1");
        assert!(!sealed.enc.contains("Visa"), "no plaintext in {sealed:?}");
        assert_eq!(key.open(&sealed, HERE).unwrap(), "Visa ending 4242");
    }

    #[test]
    fn the_same_text_seals_differently_each_time() {
        let key = DataKey::generate().unwrap();
        let (a, b) = (
            key.seal("k", "same", HERE).unwrap(),
            key.seal("k", "same", HERE).unwrap(),
        );
        assert_ne!(a.enc, b.enc, "a fresh nonce per seal");
    }

    #[test]
    fn a_sealed_field_moved_to_another_event_or_field_does_not_open() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal("k", "Visa", HERE).unwrap();
        let other_event = SealContext {
            event_id: "5f1d2c3b-6a7e-5d8f-9a0b-1c2d3e4f5a6b",
            ..HERE
        };
        let other_field = SealContext {
            field: "creditor",
            ..HERE
        };
        assert!(matches!(
            key.open(&sealed, other_event),
            Err(PrivacyError::Unopenable)
        ));
        assert!(matches!(
            key.open(&sealed, other_field),
            Err(PrivacyError::Unopenable)
        ));
    }

    /// Finding 17 of the trust review: an event copied into another user's debt opened there (the data key
    /// is found by `kid`, and nothing bound the aggregate). Now the aggregate and the key's name are bound.
    #[test]
    fn a_sealed_field_moved_to_another_aggregate_or_relabelled_does_not_open() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal("alice", "Visa", HERE).unwrap();
        assert_eq!(sealed.v, Sealed::BOUND_TO_AGGREGATE);
        let other_debt = SealContext {
            aggregate: "debt#5f1d2c3b-6a7e-5d8f-9a0b-1c2d3e4f5a6b",
            ..HERE
        };
        assert!(matches!(
            key.open(&sealed, other_debt),
            Err(PrivacyError::Unopenable)
        ));
        let renamed = Sealed {
            kid: "mallory".into(),
            ..sealed.clone()
        };
        assert!(matches!(
            key.open(&renamed, HERE),
            Err(PrivacyError::Unopenable)
        ));
        let downgraded = Sealed {
            v: Sealed::BOUND_TO_EVENT,
            ..sealed.clone()
        };
        assert!(matches!(
            key.open(&downgraded, other_debt),
            Err(PrivacyError::Unopenable)
        ));
        let unknown = Sealed { v: 9, ..sealed };
        assert!(matches!(
            key.open(&unknown, HERE),
            Err(PrivacyError::Malformed(_))
        ));
    }

    /// What was sealed before the format had a number (event id and field only) opens where it is, and
    /// nowhere else.
    #[test]
    fn a_field_sealed_in_the_first_format_still_opens() {
        let key = DataKey::generate().unwrap();
        let aad = format!("{}\u{1f}{}", HERE.event_id, HERE.field);
        let enc = URL_SAFE_NO_PAD.encode(seal_bytes(&key.aead(), b"Visa", aad.as_bytes()).unwrap());
        let stored: Sealed =
            serde_json::from_value(serde_json::json!({"enc": enc, "kid": "alice"})).unwrap();
        assert_eq!(key.open(&stored, HERE).unwrap(), "Visa");
        let other_field = SealContext {
            field: "creditor",
            ..HERE
        };
        assert!(key.open(&stored, other_field).is_err());
    }

    #[test]
    fn another_key_or_an_altered_value_does_not_open() {
        let key = DataKey::generate().unwrap();
        let sealed = key.seal("k", "Visa", HERE).unwrap();
        let other = DataKey::generate().unwrap();
        assert!(matches!(
            other.open(&sealed, HERE),
            Err(PrivacyError::Unopenable)
        ));
        let mut bytes = URL_SAFE_NO_PAD.decode(&sealed.enc).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = Sealed {
            enc: URL_SAFE_NO_PAD.encode(bytes),
            ..sealed
        };
        assert!(matches!(
            key.open(&altered, HERE),
            Err(PrivacyError::Unopenable)
        ));
        let short = Sealed {
            enc: "AAAA".into(),
            kid: "k".into(),
            v: Sealed::BOUND_TO_AGGREGATE,
        };
        assert!(matches!(
            key.open(&short, HERE),
            Err(PrivacyError::Malformed(_))
        ));
    }

    #[test]
    fn a_data_key_debug_shows_nothing() {
        assert_eq!(format!("{:?}", DataKey::generate().unwrap()), "DataKey(..)");
    }
}
