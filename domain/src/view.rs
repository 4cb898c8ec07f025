//! How a user and a debt look to API clients, derived from their events alone. Command responses, read items
//! and queries all use these shapes, so a debt reads the same everywhere.

use chrono::{DateTime, NaiveDate, Utc};
use events::{EventEnvelope, EventPayload, PaymentFrequency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::debt::{zero_cents, Debt, DebtRecord, DebtState, DebtStatus};
use crate::decider::Decider;
use crate::user::{User, UserState};
use crate::values::{DueDays, StatementDay};
use crate::wire;
use events::{InterestMethod, StatementRecorded};

/// A debt as clients see it: its id, its fields (flattened), and its history's bounds. Amounts are decimal
/// strings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "FlatDebtView")]
pub struct DebtView {
    pub debt_id: String,
    #[serde(flatten)]
    pub fields: DebtRecord,
    /// The debt's version: its number of events; also its `ETag`.
    pub version: u64,
    #[serde(serialize_with = "wire::write_instant")]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "wire::write_instant")]
    pub updated_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// A [`DebtView`] as it is stored and sent: one flat object. Reading it field by field here, instead of
/// through `#[serde(flatten)]`, spares serde buffering every value of every item before it can tell which
/// struct a field belongs to (that buffering was a fifth of a 50-debt listing). The defaults are
/// [`DebtRecord`]'s, for read items stored before payments and charges.
#[derive(Deserialize)]
struct FlatDebtView {
    debt_id: String,
    owner: String,
    debt_name: String,
    principal: Decimal,
    interest_rate: Decimal,
    #[serde(deserialize_with = "wire::read_day")]
    start_date: NaiveDate,
    payment_frequency: PaymentFrequency,
    current_balance: Decimal,
    creditor: Option<String>,
    #[serde(default)]
    minimum_payment: Option<Decimal>,
    #[serde(default)]
    status: DebtStatus,
    #[serde(default = "zero_cents")]
    total_paid: Decimal,
    #[serde(default = "zero_cents")]
    total_charged: Decimal,
    #[serde(default, deserialize_with = "wire::read_optional_day")]
    last_payment_on: Option<NaiveDate>,
    #[serde(default, deserialize_with = "wire::read_optional_day")]
    paid_off_on: Option<NaiveDate>,
    version: u64,
    #[serde(deserialize_with = "wire::read_instant")]
    created_at: DateTime<Utc>,
    #[serde(deserialize_with = "wire::read_instant")]
    updated_at: DateTime<Utc>,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    rate_schedule: Vec<crate::debt::RateStep>,
    // Terms and statements came later: items stored before them read with the defaults a debt without
    // stated terms has.
    #[serde(default)]
    statement_day: Option<u8>,
    #[serde(default)]
    due_days: Option<u16>,
    #[serde(default)]
    interest_method: Option<InterestMethod>,
    #[serde(default)]
    last_statement: Option<StatementRecorded>,
    #[serde(default)]
    payments_by_day: std::collections::BTreeMap<NaiveDate, Decimal>,
}

impl From<FlatDebtView> for DebtView {
    fn from(flat: FlatDebtView) -> Self {
        DebtView {
            debt_id: flat.debt_id,
            fields: DebtRecord {
                owner: flat.owner,
                debt_name: flat.debt_name,
                principal: flat.principal,
                interest_rate: flat.interest_rate,
                start_date: flat.start_date,
                payment_frequency: flat.payment_frequency,
                current_balance: flat.current_balance,
                creditor: flat.creditor,
                minimum_payment: flat.minimum_payment,
                status: flat.status,
                total_paid: flat.total_paid,
                total_charged: flat.total_charged,
                last_payment_on: flat.last_payment_on,
                paid_off_on: flat.paid_off_on,
                rate_schedule: flat.rate_schedule,
                statement_day: flat
                    .statement_day
                    .unwrap_or_else(|| StatementDay::of_start(flat.start_date).day()),
                due_days: flat.due_days.unwrap_or(DueDays::DEFAULT.days()),
                interest_method: flat.interest_method.unwrap_or(InterestMethod::Monthly),
                last_statement: flat.last_statement,
                payments_by_day: flat.payments_by_day,
            },
            version: flat.version,
            created_at: flat.created_at,
            updated_at: flat.updated_at,
            deleted: flat.deleted,
        }
    }
}

impl DebtView {
    /// The debt after `history` (oldest first), or `None` when the history does not start with its creation.
    pub fn from_history(history: &[EventEnvelope]) -> Option<DebtView> {
        let (first, rest) = history.split_first()?;
        let DebtState::Open(fields) = DebtState::NotCreated.evolve(&first.payload) else {
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

    /// The debt after `history`, by effective date `day`: its balance is every movement dated on or before
    /// `day` (as `history` records them), and so are what was paid and charged, the last payment's day and
    /// whether it was paid off by then. `None` when the history does not start with its creation or the debt
    /// had not started by `day`.
    pub fn on_day(history: &[EventEnvelope], day: NaiveDate) -> Option<DebtView> {
        let mut view = DebtView::from_history(history)?;
        let fields = &mut view.fields;
        if day < fields.start_date {
            return None;
        }
        let dated = Debt::fold(history.iter().map(|e| &e.payload)).dated;
        fields.current_balance = dated.on(fields.start_date, day);
        let (mut paid, mut charged) = (zero_cents(), zero_cents());
        let mut last_payment_on = None;
        for event in history {
            match &event.payload {
                EventPayload::PaymentRecorded(p) if p.paid_on <= day => {
                    paid += p.amount;
                    last_payment_on = last_payment_on.max(Some(p.paid_on));
                }
                EventPayload::ChargeAdded(c) if c.charged_on <= day => charged += c.amount,
                EventPayload::StatementRecorded(s) if s.closing_date <= day => {
                    charged += s.difference;
                }
                _ => {}
            }
        }
        fields.total_paid = paid;
        fields.total_charged = charged;
        fields.last_payment_on = last_payment_on;
        if fields.paid_off_on.is_none_or(|paid_off| paid_off > day) {
            fields.status = DebtStatus::Open;
            fields.paid_off_on = None;
        }
        Some(view)
    }

    /// Its due dates on `day` (the owner's date), checking only the cycles since it was recorded (see
    /// [`DebtRecord::due_state`]).
    pub fn due_state(&self, day: NaiveDate) -> crate::debt::DueState {
        self.fields.due_state(day, self.created_at.date_naive())
    }

    /// The status a read shows on `day`: `overdue` for an open debt whose last due date passed unmet, else
    /// the stored one.
    pub fn status_on(&self, day: NaiveDate) -> DebtStatus {
        self.status_with(&self.due_state(day))
    }

    /// [`Self::status_on`] from the due dates already worked out for that day.
    pub fn status_with(&self, due: &crate::debt::DueState) -> DebtStatus {
        if self.fields.status == DebtStatus::Open && due.missed.is_some() {
            DebtStatus::Overdue
        } else {
            self.fields.status
        }
    }

    /// This view after one more event of the same debt: how a projection catches up from what it stored.
    pub fn apply(self, event: &EventEnvelope) -> DebtView {
        let state = if self.deleted {
            DebtState::Deleted(self.fields)
        } else {
            DebtState::Open(self.fields)
        };
        let (fields, deleted) = match state.evolve(&event.payload) {
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
    /// An IANA name: the user's due dates end at midnight there. Items stored before it read as `UTC`.
    #[serde(default = "utc_name")]
    pub time_zone: String,
    /// How the user hears of notices; items stored before them read as the defaults.
    #[serde(default)]
    pub notifications: events::NotificationSettings,
}

fn utc_name() -> String {
    crate::values::TimeZoneName::utc().as_str().to_owned()
}

impl UserView {
    pub fn from_history(history: &[EventEnvelope]) -> Option<UserView> {
        let first = history.first()?;
        match User::fold(history.iter().map(|e| &e.payload)) {
            UserState::Unregistered | UserState::Erased => None,
            UserState::Registered(profile) => Some(UserView {
                username: profile.username,
                email: profile.email,
                full_name: profile.full_name,
                created_at: first.occurred_at,
                time_zone: profile.time_zone,
                notifications: profile.notifications,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stored_before_payments() -> serde_json::Value {
        json!({
            "debt_id": "0b7e6c1e-3f0c-4c57-9a53-2f0e1f5d9a11",
            "owner": "alice",
            "debt_name": "Visa",
            "principal": "1200.00",
            "interest_rate": "19.99",
            "start_date": "2026-01-15",
            "payment_frequency": "monthly",
            "current_balance": "950.50",
            "creditor": null,
            "version": 3,
            "created_at": "2026-01-15T09:00:00Z",
            "updated_at": "2026-02-01T10:30:00.123456789Z",
        })
    }

    #[test]
    fn a_view_stored_before_payments_reads_with_their_defaults() {
        let view: DebtView = serde_json::from_value(stored_before_payments()).unwrap();
        assert_eq!(view.fields.status, DebtStatus::Open);
        assert_eq!(view.fields.total_paid.to_string(), "0.00");
        assert_eq!(view.fields.total_charged.to_string(), "0.00");
        assert_eq!(view.fields.minimum_payment, None);
        assert_eq!(view.fields.last_payment_on, None);
        assert!(!view.deleted);
        assert_eq!(view.version, 3);
    }

    #[test]
    fn a_view_reads_back_as_it_was_written() {
        let mut view: DebtView = serde_json::from_value(stored_before_payments()).unwrap();
        view.fields.status = DebtStatus::PaidOff;
        view.fields.minimum_payment = Some(Decimal::new(2500, 2));
        view.fields.paid_off_on = NaiveDate::from_ymd_opt(2026, 3, 1);
        view.fields.creditor = Some("Bank".to_owned());
        view.deleted = true;
        let written = serde_json::to_value(&view).unwrap();
        assert_eq!(written["owner"], "alice", "the fields are flat on the wire");
        assert_eq!(serde_json::from_value::<DebtView>(written).unwrap(), view);
    }
}
