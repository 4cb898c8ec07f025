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
    /// The debt after `history` (oldest first), or `None` when the history does not start with its creation.
    pub fn from_history(history: &[EventEnvelope]) -> Option<DebtView> {
        let (first, rest) = history.split_first()?;
        let DebtState::Open(fields) = Debt::evolve(DebtState::NotCreated, &first.payload) else {
            return None;
        };
        let created = DebtView {
            debt_id: first.aggregate_id.clone(),
            fields,
            version: first.version,
            created_at: first.occurred_at,
            updated_at: first.occurred_at,
            deleted: false,
        };
        Some(rest.iter().fold(created, DebtView::apply))
    }

    /// This view after one more event of the same debt: how a projection catches up from what it stored.
    pub fn apply(self, event: &EventEnvelope) -> DebtView {
        let state = if self.deleted {
            DebtState::Deleted(self.fields)
        } else {
            DebtState::Open(self.fields)
        };
        let (fields, deleted) = match Debt::evolve(state, &event.payload) {
            DebtState::Open(fields) => (fields, false),
            DebtState::Deleted(fields) => (fields, true),
            DebtState::NotCreated => unreachable!("evolve never un-creates a debt"),
        };
        DebtView {
            fields,
            deleted,
            version: event.version,
            updated_at: event.occurred_at,
            ..self
        }
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
