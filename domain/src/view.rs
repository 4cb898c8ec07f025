//! How a user and a debt look to API clients, derived from their events alone. Command responses, read items
//! and queries all use these shapes, so a debt reads the same everywhere.

use chrono::{DateTime, Utc};
use events::EventEnvelope;
use serde::{Deserialize, Serialize};

use crate::debt::{Debt, DebtRecord, DebtState};
use crate::decider::Decider;
use crate::user::{User, UserState};

/// A debt as clients see it: its id, its fields (flattened), and its history's bounds. Amounts are decimal
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtView {
    pub debt_id: String,
    #[serde(flatten)]
    pub fields: DebtRecord,
    /// The debt's version: its number of events; also its `ETag`.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl DebtView {
    /// The debt after `history` (oldest first), or `None` when the history does not create one.
    pub fn from_history(history: &[EventEnvelope]) -> Option<DebtView> {
        let (first, last) = (history.first()?, history.last()?);
        let (record, deleted) = match Debt::fold(history.iter().map(|e| &e.payload)) {
            DebtState::NotCreated => return None,
            DebtState::Open(record) => (record, false),
            DebtState::Deleted(record) => (record, true),
        };
        Some(DebtView {
            debt_id: first.aggregate_id.clone(),
            fields: record,
            version: last.version,
            created_at: first.occurred_at,
            updated_at: last.occurred_at,
            deleted,
        })
    }
}

/// A user's profile as clients see it (never any credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub username: String,
    pub email: String,
    pub full_name: String,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    pub fn from_history(history: &[EventEnvelope]) -> Option<UserView> {
        let first = history.first()?;
        match User::fold(history.iter().map(|e| &e.payload)) {
            UserState::Unregistered => None,
            UserState::Registered(profile) => Some(UserView {
                username: profile.username,
                email: profile.email,
                full_name: profile.full_name,
                created_at: first.occurred_at,
            }),
        }
    }
}
