//! `Idempotency-Key` on commands that append to an existing debt (payments, charges). A record of the key is
//! written in the same transaction as the events: it holds what the request asked and the version it
//! produced, so a retry is answered as the first time without appending, and another request under the same
//! key is refused. Records are the caller's own (keyed by owner and key) and expire after a day, on SQLite
//! as on DynamoDB (each engine removes expired items; reads enforce the window exactly).
//!
//! What a record keeps of a request is an HMAC under its owner's digest key, a secret in their credentials
//! item: the erasure deletes that item, so from then on no guess ("rent") can be tested against a record
//! that outlives it.

use chrono::{DateTime, Duration, Utc};
use http_api::{Problem, Reply};
use ring::hmac;
use serde_json::{json, Value};
use store::codec::to_attributes;
use store::{keys, AggregateRef, AppendRequest, Item, ItemKey, Records, StoreError};

use crate::debts::{view, DebtDeps};

/// How long a key is remembered (DynamoDB's TTL removes the record; reads enforce it exactly).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// The credentials item's attribute holding the owner's digest key (64 hex digits).
pub const DIGEST_KEY_FIELD: &str = "digest_key";

/// What marks a keyed digest; a record without it holds the unkeyed SHA-256 written before digests were
/// keyed, and is still recognised until it expires.
const KEYED: &str = "hmac-sha256:";

/// A user's secret for the digests of their requests: 256 random bits, kept in their credentials item (never
/// logged, never in an event), destroyed with it by the erasure.
pub struct DigestKey(hmac::Key);

impl std::fmt::Debug for DigestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestKey(..)")
    }
}

impl DigestKey {
    /// A fresh key, with its secret as a credentials item keeps it (hex).
    pub fn generate() -> Result<(Self, String), Problem> {
        use ring::rand::SecureRandom;
        let mut bytes = [0u8; 32];
        ring::rand::SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Problem::internal("no randomness"))?;
        let secret = hex(&bytes);
        let key = Self::from_hex(&secret).ok_or_else(|| Problem::internal("a digest key"))?;
        Ok((key, secret))
    }

    fn from_hex(text: &str) -> Option<Self> {
        let bytes: Vec<u8> = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
            .collect::<Option<_>>()?;
        (bytes.len() == 32).then(|| DigestKey(hmac::Key::new(hmac::HMAC_SHA256, &bytes)))
    }

    /// `owner`'s digest key from their credentials item; one is added, conditionally on the item being the
    /// one read, to credentials written before digests were keyed. `None` when `owner` has no credentials:
    /// they were erased (or never registered).
    pub async fn of(records: &dyn Records, owner: &str) -> Result<Option<Self>, Problem> {
        let key = keys::credentials_key(owner);
        // Two tries: a concurrent write of the same item (another first use, a hash upgrade) leaves a key
        // to read on the second.
        for _ in 0..2 {
            let Some(mut credentials) = records.get_item(&key).await? else {
                return Ok(None);
            };
            if let Some(secret) = credentials.attributes.get(DIGEST_KEY_FIELD) {
                return secret
                    .as_str()
                    .and_then(Self::from_hex)
                    .map(Some)
                    .ok_or_else(|| Problem::internal("a malformed digest key"));
            }
            let read_at = credentials
                .attributes
                .get("updated_at")
                .cloned()
                .unwrap_or(Value::Null);
            let (made, secret) = Self::generate()?;
            credentials
                .attributes
                .insert(DIGEST_KEY_FIELD.to_owned(), Value::String(secret.clone()));
            credentials
                .attributes
                .insert("updated_at".to_owned(), json!(Utc::now()));
            if records
                .replace_item_if(&credentials, "updated_at", &read_at)
                .await?
            {
                return Ok(Some(made));
            }
        }
        Err(StoreError::Busy.into())
    }

    /// The keyed digest of `canonical`.
    pub fn digest(&self, canonical: &str) -> String {
        format!(
            "{KEYED}{}",
            hex(hmac::sign(&self.0, canonical.as_bytes()).as_ref())
        )
    }

    /// Whether `stored` (a record's `request`) is the digest of `canonical`: keyed, or, for a record written
    /// before digests were keyed, its plain SHA-256.
    pub fn matches(&self, stored: &str, canonical: &str) -> bool {
        if stored.starts_with(KEYED) {
            return stored == self.digest(canonical);
        }
        let plain = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        stored == hex(plain.as_ref())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Names the record's guard in a refused append.
const GUARD_NAME: &str = "idempotency key";

/// One use of an `Idempotency-Key`: the request it stands for, before the append.
pub(crate) struct KeyRecord {
    key: ItemKey,
    debt_id: String,
    /// The route, the debt and the parsed body as one canonical string: equal requests give equal strings.
    canonical: String,
    digest_key: DigestKey,
    expires_at: i64,
}

impl KeyRecord {
    /// The record of `owner`'s use of `key` for this request; refused as [`StoreError::OwnerErased`] when the
    /// owner has no credentials left.
    pub async fn new(
        records: &dyn Records,
        owner: &str,
        key: &str,
        route: &str,
        debt_id: &str,
        parsed_body: &Value,
        now: DateTime<Utc>,
    ) -> Result<Self, Problem> {
        let digest_key =
            DigestKey::of(records, owner)
                .await?
                .ok_or_else(|| StoreError::OwnerErased {
                    owner: owner.to_owned(),
                })?;
        Ok(KeyRecord {
            key: keys::debt_command_idempotency_key(owner, key),
            debt_id: debt_id.to_owned(),
            canonical: json!({"route": route, "debt_id": debt_id, "body": parsed_body}).to_string(),
            digest_key,
            expires_at: (now + IDEMPOTENCY_WINDOW).timestamp(),
        })
    }

    /// `append` with this record, saying the request produced `version`; the append fails with
    /// [`store::StoreError::GuardTaken`] when the key was used meanwhile.
    pub fn attach(&self, append: AppendRequest, version: u64) -> AppendRequest {
        append.with_guard(
            GUARD_NAME,
            Item {
                key: self.key.clone(),
                attributes: to_attributes(&json!({
                    "request": self.digest_key.digest(&self.canonical),
                    "version": version,
                    keys::TTL_ATTRIBUTE: self.expires_at,
                })),
            },
        )
    }

    /// The first answer when the key was already used for this request (the debt as that request left it,
    /// 201 with its `ETag`), a 422 when it was used for another, and `None` when the key is new.
    pub async fn earlier_answer(
        &self,
        deps: &DebtDeps,
        now: DateTime<Utc>,
    ) -> Result<Option<Reply>, Problem> {
        let Some(record) = deps.records.get_item(&self.key).await? else {
            return Ok(None);
        };
        // DynamoDB's TTL deletes an expired record only eventually (SQLite never): the window is kept here.
        let expires_at = record
            .attributes
            .get(keys::TTL_ATTRIBUTE)
            .and_then(Value::as_i64);
        if expires_at.is_none_or(|at| at <= now.timestamp()) {
            deps.records.delete_item(&self.key).await?;
            return Ok(None);
        }
        let stored = record.attributes.get("request").and_then(Value::as_str);
        if !stored.is_some_and(|stored| self.digest_key.matches(stored, &self.canonical)) {
            return Err(Problem::idempotency_mismatch(
                "this Idempotency-Key was used for a different request",
            ));
        }
        let version = record
            .attributes
            .get("version")
            .and_then(Value::as_u64)
            .ok_or_else(|| Problem::internal("an idempotency record without its version"))?;
        let history = deps
            .events
            .load_events(&AggregateRef::debt(&self.debt_id), 0)
            .await?;
        let produced = history
            .get(..usize::try_from(version).unwrap_or(usize::MAX))
            .ok_or_else(|| Problem::internal("an idempotency record ahead of its debt"))?;
        tracing::info!(
            debt_id = self.debt_id,
            version,
            "idempotent retry answered from the original events"
        );
        Ok(Some(view(produced)?.as_created()))
    }
}
