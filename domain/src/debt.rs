//! The Debt aggregate: created by its owner, updated field by field, paid down by payments, raised by
//! charges, deleted once and for good.

use chrono::NaiveDate;
use events::{
    ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted, DebtUpdated, EventPayload,
    PaymentFrequency, PaymentRecorded, Personal,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decider::Decider;
use crate::values::{Creditor, Day, DebtName, InterestRate, Money, Note, StartDate, Username};

/// Every field of a new debt, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDebt {
    pub debt_name: DebtName,
    pub principal: Money,
    pub interest_rate: InterestRate,
    pub start_date: StartDate,
    pub payment_frequency: PaymentFrequency,
    pub current_balance: Money,
    pub creditor: Option<Creditor>,
    pub minimum_payment: Option<Money>,
}

/// The fields a caller wants to set; `None` leaves a field alone, `creditor: Some(None)` clears it.
/// There is no owner here: a debt's owner never changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebtPatch {
    pub debt_name: Option<DebtName>,
    pub principal: Option<Money>,
    pub interest_rate: Option<InterestRate>,
    pub start_date: Option<StartDate>,
    pub payment_frequency: Option<PaymentFrequency>,
    pub current_balance: Option<Money>,
    pub creditor: Option<Option<Creditor>>,
    pub minimum_payment: Option<Option<Money>>,
}

/// A payment as the caller reports it; `amount` is more than zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub amount: Money,
    pub paid_on: Day,
    pub note: Option<Note>,
}

/// A charge as the caller reports it; `amount` is more than zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub amount: Money,
    pub charged_on: Day,
    pub kind: ChargeKind,
    pub note: Option<Note>,
}

impl Payment {
    /// The event data this payment is recorded as, once the decider accepts it.
    pub fn recorded(&self) -> PaymentRecorded {
        PaymentRecorded {
            amount: self.amount.amount(),
            paid_on: self.paid_on.date(),
            note: self.note.as_ref().map(|n| Personal::from(n.as_str())),
        }
    }
}

impl Charge {
    /// The event data this charge is recorded as, once the decider accepts it.
    pub fn added(&self) -> ChargeAdded {
        ChargeAdded {
            amount: self.amount.amount(),
            charged_on: self.charged_on.date(),
            kind: self.kind,
            note: self.note.as_ref().map(|n| Personal::from(n.as_str())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebtCommand {
    Create {
        owner: Username,
        debt: NewDebt,
    },
    Update {
        actor: Username,
        patch: DebtPatch,
    },
    Delete {
        actor: Username,
        reason: Option<String>,
    },
    /// `today` is the UTC date the command is decided on: no payment is dated after it.
    RecordPayment {
        actor: Username,
        payment: Payment,
        today: NaiveDate,
    },
    AddCharge {
        actor: Username,
        charge: Charge,
        today: NaiveDate,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DebtError {
    #[error("a debt with this id already exists")]
    AlreadyExists,
    /// The debt does not exist or belongs to someone else; the two are indistinguishable on purpose.
    #[error("debt not found")]
    NotFound,
    #[error("the debt has been deleted")]
    Deleted,
    #[error("principal must be greater than zero")]
    PrincipalNotPositive,
    #[error("the debt is paid off")]
    PaidOff,
    #[error("the payment is more than the balance of {balance}")]
    PaymentExceedsBalance { balance: Decimal },
    #[error("the balance would exceed {max}", max = Money::MAX)]
    BalanceTooLarge,
    #[error("{field} is after today ({today})")]
    DayInFuture {
        field: &'static str,
        today: NaiveDate,
    },
    #[error("{field} is before the debt's start date ({start_date})")]
    DayBeforeStart {
        field: &'static str,
        start_date: NaiveDate,
    },
}

/// Whether anything is still owed on a debt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DebtStatus {
    /// Something may still be owed (an update can set the balance to zero without paying it off).
    #[default]
    Open,
    /// A payment took the balance to zero, and no charge or update has raised it since.
    PaidOff,
}

impl DebtStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DebtStatus::Open => "open",
            DebtStatus::PaidOff => "paid_off",
        }
    }

    /// Parses a status by its exact name (`paid_off`).
    pub fn parse(raw: &str) -> Option<Self> {
        [DebtStatus::Open, DebtStatus::PaidOff]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

pub(crate) fn zero_cents() -> Decimal {
    Decimal::new(0, 2)
}

/// A debt's fields as its events describe them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtRecord {
    pub owner: String,
    pub debt_name: String,
    pub principal: Decimal,
    pub interest_rate: Decimal,
    #[serde(
        serialize_with = "crate::wire::write_day",
        deserialize_with = "crate::wire::read_day"
    )]
    pub start_date: NaiveDate,
    pub payment_frequency: PaymentFrequency,
    pub current_balance: Decimal,
    pub creditor: Option<String>,
    // The fields below came with payments and charges; `default` reads read items stored before them.
    #[serde(default)]
    pub minimum_payment: Option<Decimal>,
    #[serde(default)]
    pub status: DebtStatus,
    /// The sum of every payment recorded.
    #[serde(default = "zero_cents")]
    pub total_paid: Decimal,
    /// The sum of every charge added.
    #[serde(default = "zero_cents")]
    pub total_charged: Decimal,
    /// The latest `paid_on` of any payment.
    #[serde(
        default,
        serialize_with = "crate::wire::write_optional_day",
        deserialize_with = "crate::wire::read_optional_day"
    )]
    pub last_payment_on: Option<NaiveDate>,
    /// While paid off: the latest `paid_on` of the payments that cleared the balance.
    #[serde(
        default,
        serialize_with = "crate::wire::write_optional_day",
        deserialize_with = "crate::wire::read_optional_day"
    )]
    pub paid_off_on: Option<NaiveDate>,
}

impl DebtRecord {
    fn from_created(created: &DebtCreated) -> Self {
        DebtRecord {
            owner: created.owner.clone(),
            debt_name: created.debt_name.to_shown(),
            principal: created.principal,
            interest_rate: created.interest_rate,
            start_date: created.start_date,
            payment_frequency: created.payment_frequency,
            current_balance: created.current_balance,
            creditor: created.creditor.as_ref().map(Personal::to_shown),
            minimum_payment: created.minimum_payment,
            status: DebtStatus::Open,
            total_paid: zero_cents(),
            total_charged: zero_cents(),
            last_payment_on: None,
            paid_off_on: None,
        }
    }

    /// This record after a payment: the balance goes down, and at zero the debt is paid off.
    fn paid(mut self, payment: &PaymentRecorded) -> Self {
        self.current_balance -= payment.amount;
        self.total_paid += payment.amount;
        let last = self
            .last_payment_on
            .map_or(payment.paid_on, |d| d.max(payment.paid_on));
        self.last_payment_on = Some(last);
        if self.current_balance.is_zero() {
            self.status = DebtStatus::PaidOff;
            self.paid_off_on = Some(last);
        }
        self
    }

    /// This record after a charge: the balance goes up, and a paid-off debt is open again.
    fn charged(mut self, charge: &ChargeAdded) -> Self {
        self.current_balance += charge.amount;
        self.total_charged += charge.amount;
        self.reopen_if_owed();
        self
    }

    fn reopen_if_owed(&mut self) {
        if self.current_balance > Decimal::ZERO {
            self.status = DebtStatus::Open;
            self.paid_off_on = None;
        }
    }

    /// The event of `payment` on this debt on `today`, or why it is refused.
    fn payment(&self, payment: &Payment, today: NaiveDate) -> Result<EventPayload, DebtError> {
        if self.status == DebtStatus::PaidOff {
            return Err(DebtError::PaidOff);
        }
        self.check_day("paid_on", payment.paid_on, today)?;
        if payment.amount.amount() > self.current_balance {
            return Err(DebtError::PaymentExceedsBalance {
                balance: self.current_balance,
            });
        }
        Ok(EventPayload::PaymentRecorded(payment.recorded()))
    }

    /// The event of `charge` on this debt on `today`, or why it is refused.
    fn charge(&self, charge: &Charge, today: NaiveDate) -> Result<EventPayload, DebtError> {
        self.check_day("charged_on", charge.charged_on, today)?;
        if self.current_balance + charge.amount.amount() > Money::MAX {
            return Err(DebtError::BalanceTooLarge);
        }
        Ok(EventPayload::ChargeAdded(charge.added()))
    }

    /// Refuses a payment or charge day after `today` or before the debt started.
    fn check_day(&self, field: &'static str, day: Day, today: NaiveDate) -> Result<(), DebtError> {
        if day.date() > today {
            return Err(DebtError::DayInFuture { field, today });
        }
        if day.date() < self.start_date {
            return Err(DebtError::DayBeforeStart {
                field,
                start_date: self.start_date,
            });
        }
        Ok(())
    }

    /// This record with `changes` applied.
    pub fn apply(mut self, changes: &DebtChanges) -> Self {
        let DebtChanges {
            debt_name,
            principal,
            interest_rate,
            start_date,
            payment_frequency,
            current_balance,
            creditor,
            minimum_payment,
        } = changes;
        if let Some(v) = debt_name {
            self.debt_name = v.to_shown();
        }
        if let Some(v) = principal {
            self.principal = *v;
        }
        if let Some(v) = interest_rate {
            self.interest_rate = *v;
        }
        if let Some(v) = start_date {
            self.start_date = *v;
        }
        if let Some(v) = payment_frequency {
            self.payment_frequency = *v;
        }
        if let Some(v) = current_balance {
            self.current_balance = *v;
        }
        if let Some(v) = creditor {
            self.creditor = v.as_ref().map(Personal::to_shown);
        }
        if let Some(v) = minimum_payment {
            self.minimum_payment = *v;
        }
        // A corrected balance above zero means something is owed again.
        if current_balance.is_some() {
            self.reopen_if_owed();
        }
        self
    }

    /// The part of `patch` that differs from this record, as event data.
    fn changes_from(&self, patch: &DebtPatch) -> DebtChanges {
        fn differing<T: PartialEq>(new: Option<T>, current: &T) -> Option<T> {
            new.filter(|value| value != current)
        }
        DebtChanges {
            debt_name: differing(
                patch.debt_name.as_ref().map(|n| n.as_str().to_owned()),
                &self.debt_name,
            )
            .map(Personal::Clear),
            principal: differing(patch.principal.map(Money::amount), &self.principal),
            interest_rate: differing(
                patch.interest_rate.map(InterestRate::percent),
                &self.interest_rate,
            ),
            start_date: differing(patch.start_date.map(StartDate::date), &self.start_date),
            payment_frequency: differing(patch.payment_frequency, &self.payment_frequency),
            current_balance: differing(
                patch.current_balance.map(Money::amount),
                &self.current_balance,
            ),
            creditor: differing(
                patch
                    .creditor
                    .as_ref()
                    .map(|c| c.as_ref().map(|c| c.as_str().to_owned())),
                &self.creditor,
            )
            .map(|c| c.map(Personal::Clear)),
            minimum_payment: differing(
                patch.minimum_payment.map(|m| m.map(Money::amount)),
                &self.minimum_payment,
            ),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum DebtState {
    #[default]
    NotCreated,
    Open(DebtRecord),
    /// Deleted debts keep their last fields: history and audits still read them.
    Deleted(DebtRecord),
}

pub struct Debt;

impl Debt {
    /// The open debt `actor` may change, or why not. Someone else's debt reads as not found.
    pub fn owned_by<'s>(
        state: &'s DebtState,
        actor: &Username,
    ) -> Result<&'s DebtRecord, DebtError> {
        match state {
            DebtState::NotCreated => Err(DebtError::NotFound),
            DebtState::Open(debt) | DebtState::Deleted(debt) if debt.owner != actor.as_str() => {
                Err(DebtError::NotFound)
            }
            DebtState::Deleted(_) => Err(DebtError::Deleted),
            DebtState::Open(debt) => Ok(debt),
        }
    }
}

impl Decider for Debt {
    type Command = DebtCommand;
    type State = DebtState;
    type Error = DebtError;

    fn decide(command: &DebtCommand, state: &DebtState) -> Result<Vec<EventPayload>, DebtError> {
        match command {
            DebtCommand::Create { owner, debt } => {
                if *state != DebtState::NotCreated {
                    return Err(DebtError::AlreadyExists);
                }
                if debt.principal.is_zero() {
                    return Err(DebtError::PrincipalNotPositive);
                }
                Ok(vec![EventPayload::DebtCreated(DebtCreated {
                    owner: owner.as_str().to_owned(),
                    debt_name: debt.debt_name.as_str().into(),
                    principal: debt.principal.amount(),
                    interest_rate: debt.interest_rate.percent(),
                    start_date: debt.start_date.date(),
                    payment_frequency: debt.payment_frequency,
                    current_balance: debt.current_balance.amount(),
                    creditor: debt.creditor.as_ref().map(|c| c.as_str().into()),
                    minimum_payment: debt.minimum_payment.map(Money::amount),
                })])
            }
            DebtCommand::Update { actor, patch } => {
                let current = Self::owned_by(state, actor)?;
                if patch.principal.is_some_and(Money::is_zero) {
                    return Err(DebtError::PrincipalNotPositive);
                }
                let changes = current.changes_from(patch);
                if changes.is_empty() {
                    return Ok(vec![]);
                }
                Ok(vec![EventPayload::DebtUpdated(DebtUpdated { changes })])
            }
            DebtCommand::Delete { actor, reason } => {
                Self::owned_by(state, actor)?;
                Ok(vec![EventPayload::DebtDeleted(DebtDeleted {
                    reason: reason.as_deref().map(Personal::from),
                })])
            }
            DebtCommand::RecordPayment {
                actor,
                payment,
                today,
            } => {
                let debt = Self::owned_by(state, actor)?;
                Ok(vec![debt.payment(payment, *today)?])
            }
            DebtCommand::AddCharge {
                actor,
                charge,
                today,
            } => {
                let debt = Self::owned_by(state, actor)?;
                Ok(vec![debt.charge(charge, *today)?])
            }
        }
    }

    fn evolve(state: DebtState, event: &EventPayload) -> DebtState {
        match (state, event) {
            (DebtState::NotCreated, EventPayload::DebtCreated(created)) => {
                DebtState::Open(DebtRecord::from_created(created))
            }
            (DebtState::Open(debt), EventPayload::DebtUpdated(updated)) => {
                DebtState::Open(debt.apply(&updated.changes))
            }
            (DebtState::Open(debt), EventPayload::PaymentRecorded(payment)) => {
                DebtState::Open(debt.paid(payment))
            }
            (DebtState::Open(debt), EventPayload::ChargeAdded(charge)) => {
                DebtState::Open(debt.charged(charge))
            }
            (DebtState::Open(debt), EventPayload::DebtDeleted(_)) => DebtState::Deleted(debt),
            (state, _) => state,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decider::test_kit::given;
    use std::str::FromStr;

    fn alice() -> Username {
        Username::parse("alice").unwrap()
    }

    fn money(s: &str) -> Money {
        Money::parse_str("amount", s).unwrap()
    }

    fn new_debt(principal: &str) -> NewDebt {
        NewDebt {
            debt_name: DebtName::parse("Car loan").unwrap(),
            principal: money(principal),
            interest_rate: InterestRate::parse(Decimal::from_str("4.5").unwrap()).unwrap(),
            start_date: StartDate::parse("2025-06-01").unwrap(),
            payment_frequency: PaymentFrequency::Monthly,
            current_balance: money("12000.50"),
            creditor: Some(Creditor::parse("First Bank").unwrap()),
            minimum_payment: None,
        }
    }

    fn created() -> EventPayload {
        EventPayload::DebtCreated(DebtCreated {
            owner: "alice".into(),
            debt_name: "Car loan".into(),
            principal: Decimal::from_str("15000.00").unwrap(),
            interest_rate: Decimal::from_str("4.5").unwrap(),
            start_date: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            payment_frequency: PaymentFrequency::Monthly,
            current_balance: Decimal::from_str("12000.50").unwrap(),
            creditor: Some("First Bank".into()),
            minimum_payment: None,
        })
    }

    fn updated(changes: DebtChanges) -> EventPayload {
        EventPayload::DebtUpdated(DebtUpdated { changes })
    }

    fn deleted() -> EventPayload {
        EventPayload::DebtDeleted(DebtDeleted { reason: None })
    }

    fn update(actor: Username, patch: DebtPatch) -> DebtCommand {
        DebtCommand::Update { actor, patch }
    }

    fn delete(actor: Username) -> DebtCommand {
        DebtCommand::Delete {
            actor,
            reason: None,
        }
    }

    #[test]
    fn creating_a_debt_records_every_field() {
        let state = given::<Debt>([])
            .when(DebtCommand::Create {
                owner: alice(),
                debt: new_debt("15000"),
            })
            .then_expect([created()]);
        assert!(matches!(state, DebtState::Open(d) if d.owner == "alice"));
    }

    #[test]
    fn principal_must_be_positive_on_create() {
        given::<Debt>([])
            .when(DebtCommand::Create {
                owner: alice(),
                debt: new_debt("0"),
            })
            .then_error(DebtError::PrincipalNotPositive);
    }

    #[test]
    fn principal_must_stay_positive_on_update() {
        given::<Debt>([created()])
            .when(update(
                alice(),
                DebtPatch {
                    principal: Some(money("0.00")),
                    ..DebtPatch::default()
                },
            ))
            .then_error(DebtError::PrincipalNotPositive);
    }

    #[test]
    fn a_debt_id_is_created_once() {
        given::<Debt>([created()])
            .when(DebtCommand::Create {
                owner: alice(),
                debt: new_debt("15000"),
            })
            .then_error(DebtError::AlreadyExists);
    }

    #[test]
    fn an_update_records_only_what_changed() {
        let state = given::<Debt>([created()])
            .when(update(
                alice(),
                DebtPatch {
                    debt_name: Some(DebtName::parse("Car loan").unwrap()),
                    current_balance: Some(money("11000")),
                    creditor: Some(None),
                    ..DebtPatch::default()
                },
            ))
            .then_expect([updated(DebtChanges {
                current_balance: Some(Decimal::from_str("11000.00").unwrap()),
                creditor: Some(None),
                ..DebtChanges::default()
            })]);
        let DebtState::Open(debt) = state else {
            panic!("still open")
        };
        assert_eq!(debt.current_balance.to_string(), "11000.00");
        assert_eq!(debt.creditor, None);
        assert_eq!(debt.debt_name, "Car loan");
    }

    #[test]
    fn an_update_that_changes_nothing_yields_no_event() {
        given::<Debt>([created()])
            .when(update(
                alice(),
                DebtPatch {
                    principal: Some(money("15000")),
                    payment_frequency: Some(PaymentFrequency::Monthly),
                    creditor: Some(Some(Creditor::parse("First Bank").unwrap())),
                    ..DebtPatch::default()
                },
            ))
            .then_expect([]);
        given::<Debt>([created()])
            .when(update(alice(), DebtPatch::default()))
            .then_expect([]);
    }

    #[test]
    fn a_deleted_debt_cannot_be_updated_or_deleted_again() {
        let patch = DebtPatch {
            current_balance: Some(money("1")),
            ..DebtPatch::default()
        };
        given::<Debt>([created(), deleted()])
            .when(update(alice(), patch))
            .then_error(DebtError::Deleted);
        given::<Debt>([created(), deleted()])
            .when(delete(alice()))
            .then_error(DebtError::Deleted);
    }

    #[test]
    fn only_the_owner_can_change_a_debt_and_others_see_not_found() {
        let mallory = Username::parse("mallory").unwrap();
        given::<Debt>([created()])
            .when(update(
                mallory.clone(),
                DebtPatch {
                    current_balance: Some(money("0")),
                    ..DebtPatch::default()
                },
            ))
            .then_error(DebtError::NotFound);
        given::<Debt>([created()])
            .when(delete(mallory.clone()))
            .then_error(DebtError::NotFound);
        given::<Debt>([created(), deleted()])
            .when(delete(mallory))
            .then_error(DebtError::NotFound);
    }

    #[test]
    fn the_owner_never_changes_through_updates() {
        let state = given::<Debt>([
            created(),
            updated(DebtChanges {
                debt_name: Some("Renamed".into()),
                ..DebtChanges::default()
            }),
        ])
        .when(update(
            alice(),
            DebtPatch {
                current_balance: Some(money("5")),
                ..DebtPatch::default()
            },
        ))
        .then_expect([updated(DebtChanges {
            current_balance: Some(Decimal::from_str("5.00").unwrap()),
            ..DebtChanges::default()
        })]);
        assert!(
            matches!(state, DebtState::Open(d) if d.owner == "alice" && d.debt_name == "Renamed")
        );
    }

    #[test]
    fn a_missing_debt_cannot_be_updated_or_deleted() {
        given::<Debt>([])
            .when(update(alice(), DebtPatch::default()))
            .then_error(DebtError::NotFound);
        given::<Debt>([])
            .when(delete(alice()))
            .then_error(DebtError::NotFound);
    }

    #[test]
    fn deleting_an_open_debt_closes_it_and_keeps_its_fields() {
        let state = given::<Debt>([created()])
            .when(DebtCommand::Delete {
                actor: alice(),
                reason: Some("paid off".into()),
            })
            .then_expect([EventPayload::DebtDeleted(DebtDeleted {
                reason: Some("paid off".into()),
            })]);
        assert!(matches!(state, DebtState::Deleted(d) if d.debt_name == "Car loan"));
    }

    #[test]
    fn events_after_deletion_do_not_revive_the_debt() {
        let state = Debt::fold(&[
            created(),
            deleted(),
            updated(DebtChanges {
                debt_name: Some("Zombie".into()),
                ..DebtChanges::default()
            }),
        ]);
        assert!(matches!(state, DebtState::Deleted(d) if d.debt_name == "Car loan"));
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    const TODAY: &str = "2026-03-10";

    fn pay(amount: &str, paid_on: &str) -> DebtCommand {
        DebtCommand::RecordPayment {
            actor: alice(),
            payment: Payment {
                amount: money(amount),
                paid_on: Day::parse("paid_on", paid_on).unwrap(),
                note: None,
            },
            today: day(TODAY),
        }
    }

    fn charge(amount: &str, charged_on: &str) -> DebtCommand {
        DebtCommand::AddCharge {
            actor: alice(),
            charge: Charge {
                amount: money(amount),
                charged_on: Day::parse("charged_on", charged_on).unwrap(),
                kind: ChargeKind::Fee,
                note: Some(Note::parse("late fee").unwrap()),
            },
            today: day(TODAY),
        }
    }

    fn paid(amount: &str, paid_on: &str) -> EventPayload {
        EventPayload::PaymentRecorded(PaymentRecorded {
            amount: money(amount).amount(),
            paid_on: day(paid_on),
            note: None,
        })
    }

    fn charged(amount: &str, charged_on: &str) -> EventPayload {
        EventPayload::ChargeAdded(ChargeAdded {
            amount: money(amount).amount(),
            charged_on: day(charged_on),
            kind: ChargeKind::Fee,
            note: Some("late fee".into()),
        })
    }

    fn open(state: DebtState) -> DebtRecord {
        match state {
            DebtState::Open(debt) => debt,
            other => panic!("expected an open debt, got {other:?}"),
        }
    }

    #[test]
    fn a_payment_lowers_the_balance_and_adds_to_what_was_paid() {
        let debt = open(
            given::<Debt>([created()])
                .when(pay("500.50", "2026-03-01"))
                .then_expect([paid("500.50", "2026-03-01")]),
        );
        assert_eq!(debt.current_balance.to_string(), "11500.00");
        assert_eq!(debt.total_paid.to_string(), "500.50");
        assert_eq!(debt.last_payment_on, Some(day("2026-03-01")));
        assert_eq!(debt.status, DebtStatus::Open);
        assert_eq!(debt.paid_off_on, None);
    }

    #[test]
    fn paying_the_whole_balance_pays_the_debt_off_on_the_latest_payment_day() {
        let debt = open(
            given::<Debt>([created(), paid("12000.00", "2026-03-05")])
                // Recorded later but paid earlier: the debt was clear once both had been paid.
                .when(pay("0.50", "2026-02-20"))
                .then_expect([paid("0.50", "2026-02-20")]),
        );
        assert_eq!(debt.current_balance.to_string(), "0.00");
        assert_eq!(debt.status, DebtStatus::PaidOff);
        assert_eq!(debt.paid_off_on, Some(day("2026-03-05")));
        assert_eq!(debt.last_payment_on, Some(day("2026-03-05")));
    }

    #[test]
    fn a_payment_is_at_most_the_balance() {
        given::<Debt>([created(), paid("12000.00", "2026-03-01")])
            .when(pay("0.51", "2026-03-01"))
            .then_error(DebtError::PaymentExceedsBalance {
                balance: Decimal::from_str("0.50").unwrap(),
            });
    }

    #[test]
    fn a_paid_off_debt_takes_no_payment() {
        given::<Debt>([created(), paid("12000.50", "2026-03-01")])
            .when(pay("1", "2026-03-02"))
            .then_error(DebtError::PaidOff);
    }

    #[test]
    fn payment_and_charge_days_are_neither_in_the_future_nor_before_the_start() {
        given::<Debt>([created()])
            .when(pay("1", "2026-03-11"))
            .then_error(DebtError::DayInFuture {
                field: "paid_on",
                today: day(TODAY),
            });
        given::<Debt>([created()])
            .when(pay("1", "2025-05-31"))
            .then_error(DebtError::DayBeforeStart {
                field: "paid_on",
                start_date: day("2025-06-01"),
            });
        given::<Debt>([created()])
            .when(pay("1", "2025-06-01"))
            .then_expect([paid("1", "2025-06-01")]);
        given::<Debt>([created()])
            .when(charge("1", "2026-03-11"))
            .then_error(DebtError::DayInFuture {
                field: "charged_on",
                today: day(TODAY),
            });
        given::<Debt>([created()])
            .when(charge("1", "2025-05-31"))
            .then_error(DebtError::DayBeforeStart {
                field: "charged_on",
                start_date: day("2025-06-01"),
            });
    }

    #[test]
    fn a_charge_raises_the_balance_and_reopens_a_paid_off_debt() {
        let debt = open(
            given::<Debt>([created(), paid("12000.50", "2026-03-01")])
                .when(charge("35.00", TODAY))
                .then_expect([charged("35.00", TODAY)]),
        );
        assert_eq!(debt.current_balance.to_string(), "35.00");
        assert_eq!(debt.total_charged.to_string(), "35.00");
        assert_eq!(debt.total_paid.to_string(), "12000.50");
        assert_eq!(debt.status, DebtStatus::Open);
        assert_eq!(debt.paid_off_on, None);
    }

    #[test]
    fn a_charge_cannot_take_the_balance_past_the_largest_amount() {
        let huge = updated(DebtChanges {
            current_balance: Some(Money::MAX),
            ..DebtChanges::default()
        });
        given::<Debt>([created(), huge])
            .when(charge("0.01", TODAY))
            .then_error(DebtError::BalanceTooLarge);
    }

    #[test]
    fn payments_and_charges_need_the_owners_live_debt() {
        let mallory = Username::parse("mallory").unwrap();
        let DebtCommand::RecordPayment { payment, today, .. } = pay("1", TODAY) else {
            unreachable!()
        };
        given::<Debt>([created()])
            .when(DebtCommand::RecordPayment {
                actor: mallory,
                payment,
                today,
            })
            .then_error(DebtError::NotFound);
        given::<Debt>([created(), deleted()])
            .when(pay("1", TODAY))
            .then_error(DebtError::Deleted);
        given::<Debt>([created(), deleted()])
            .when(charge("1", TODAY))
            .then_error(DebtError::Deleted);
        given::<Debt>([])
            .when(charge("1", TODAY))
            .then_error(DebtError::NotFound);
    }

    #[test]
    fn a_corrected_balance_above_zero_reopens_a_paid_off_debt_and_the_minimum_is_settable() {
        let debt = open(
            given::<Debt>([created(), paid("12000.50", "2026-03-01")])
                .when(update(
                    alice(),
                    DebtPatch {
                        current_balance: Some(money("10")),
                        minimum_payment: Some(Some(money("25"))),
                        ..DebtPatch::default()
                    },
                ))
                .then_expect([updated(DebtChanges {
                    current_balance: Some(Decimal::from_str("10.00").unwrap()),
                    minimum_payment: Some(Some(Decimal::from_str("25.00").unwrap())),
                    ..DebtChanges::default()
                })]),
        );
        assert_eq!(debt.status, DebtStatus::Open);
        assert_eq!(debt.minimum_payment.unwrap().to_string(), "25.00");
        let cleared = open(
            given::<Debt>([created()])
                .when(update(
                    alice(),
                    DebtPatch {
                        minimum_payment: Some(None),
                        ..DebtPatch::default()
                    },
                ))
                .then_expect([]),
        );
        assert_eq!(
            cleared.minimum_payment, None,
            "already none: nothing to record"
        );
    }

    #[test]
    fn a_minimum_payment_given_on_create_is_recorded() {
        let mut debt = new_debt("15000");
        debt.minimum_payment = Some(money("250"));
        let EventPayload::DebtCreated(mut expected) = created() else {
            unreachable!()
        };
        expected.minimum_payment = Some(Decimal::from_str("250.00").unwrap());
        let state = given::<Debt>([])
            .when(DebtCommand::Create {
                owner: alice(),
                debt,
            })
            .then_expect([EventPayload::DebtCreated(expected)]);
        assert_eq!(open(state).minimum_payment.unwrap().to_string(), "250.00");
    }
}
