//! `Idempotency-Key` on commands that append to an existing debt (payments, charges). A record of the key is
//! written in the same transaction as the events: it holds what the request asked and the version it
//! produced, so a retry is answered as the first time without appending, and another request under the same
//! key is refused. Records are the caller's own (keyed by owner and key) and expire after a day.

use chrono::{DateTime, Duration, Utc};
use http_api::{Problem, Reply};
use serde_json::{json, Value};
use store::codec::to_attributes;
use store::{keys, AggregateRef, AppendRequest, Item, ItemKey};

use crate::debts::{view, DebtDeps};

/// How long a key is remembered (DynamoDB's TTL removes the record; reads enforce it exactly).
pub const IDEMPOTENCY_WINDOW: Duration = Duration::hours(24);

/// What a record keeps of a request: the SHA-256 of its canonical form, hex. A record outlives its user's
/// erasure by up to the window, so it holds no word of the request (a note, a name, an email).
pub(crate) fn request_digest(canonical: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(canonical.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Names the record's guard in a refused append.
const GUARD_NAME: &str = "idempotency key";

/// One use of an `Idempotency-Key`: the request it stands for, before the append.
pub(crate) struct KeyRecord {
    key: ItemKey,
    debt_id: String,
    /// The digest of the route, the debt and the parsed body as one canonical string: equal requests give
    /// equal digests.
    request: String,
    expires_at: i64,
}

impl KeyRecord {
    pub fn new(
        owner: &str,
        key: &str,
        route: &str,
        debt_id: &str,
        parsed_body: &Value,
        now: DateTime<Utc>,
    ) -> Self {
        KeyRecord {
            key: keys::debt_command_idempotency_key(owner, key),
            debt_id: debt_id.to_owned(),
            request: request_digest(
                &json!({"route": route, "debt_id": debt_id, "body": parsed_body}).to_string(),
            ),
            expires_at: (now + IDEMPOTENCY_WINDOW).timestamp(),
        }
    }

    /// `append` with this record, saying the request produced `version`; the append fails with
    /// [`store::StoreError::GuardTaken`] when the key was used meanwhile.
    pub fn attach(&self, append: AppendRequest, version: u64) -> AppendRequest {
        append.with_guard(
            GUARD_NAME,
            Item {
                key: self.key.clone(),
                attributes: to_attributes(&json!({
                    "request": self.request,
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
        if record.attributes.get("request").and_then(Value::as_str) != Some(&self.request) {
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
