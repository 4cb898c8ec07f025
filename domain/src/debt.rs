//! The Debt aggregate: created by its owner, updated field by field, deleted once and for good.

use chrono::NaiveDate;
use events::{DebtChanges, DebtCreated, DebtDeleted, DebtUpdated, EventPayload, PaymentFrequency};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::decider::Decider;
use crate::values::{Creditor, DebtName, InterestRate, Money, StartDate, Username};

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
}

/// A debt's fields as its events describe them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DebtRecord {
    pub owner: String,
    pub debt_name: String,
    pub principal: Decimal,
    pub interest_rate: Decimal,
    pub start_date: NaiveDate,
    pub payment_frequency: PaymentFrequency,
    pub current_balance: Decimal,
    pub creditor: Option<String>,
}

impl DebtRecord {
    fn from_created(created: &DebtCreated) -> Self {
        DebtRecord {
            owner: created.owner.clone(),
            debt_name: created.debt_name.clone(),
            principal: created.principal,
            interest_rate: created.interest_rate,
            start_date: created.start_date,
            payment_frequency: created.payment_frequency,
            current_balance: created.current_balance,
            creditor: created.creditor.clone(),
        }
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
        } = changes;
        if let Some(v) = debt_name {
            self.debt_name = v.clone();
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
            self.creditor = v.clone();
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
            ),
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
                    debt_name: debt.debt_name.as_str().to_owned(),
                    principal: debt.principal.amount(),
                    interest_rate: debt.interest_rate.percent(),
                    start_date: debt.start_date.date(),
                    payment_frequency: debt.payment_frequency,
                    current_balance: debt.current_balance.amount(),
                    creditor: debt.creditor.as_ref().map(|c| c.as_str().to_owned()),
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
                    reason: reason.clone(),
                })])
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
}
