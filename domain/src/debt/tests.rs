//! The debt decider, given/when/then.

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
    assert!(matches!(state, DebtState::Open(d) if d.owner == "alice" && d.debt_name == "Renamed"));
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

fn rate_step(rate: &str, effective_on: &str, ends_on: Option<&str>, kind: RateKind) -> DebtCommand {
    DebtCommand::ChangeRate {
        actor: alice(),
        step: NewRate {
            rate: InterestRate::parse_field("rate", Decimal::from_str(rate).unwrap()).unwrap(),
            effective_on: Day::parse("effective_on", effective_on).unwrap(),
            ends_on: ends_on.map(|d| Day::parse("ends_on", d).unwrap()),
            kind,
        },
    }
}

fn rate_changed(
    rate: &str,
    effective_on: &str,
    ends_on: Option<&str>,
    kind: RateKind,
) -> EventPayload {
    EventPayload::RateChanged(RateChanged {
        rate: Decimal::from_str(rate).unwrap(),
        effective_on: day(effective_on),
        ends_on: ends_on.map(day),
        kind,
    })
}

#[test]
fn a_promotion_is_in_force_through_its_last_day_then_the_rate_before_it_returns() {
    let debt = open(
        given::<Debt>([
            created(),
            rate_changed("19.99", "2025-07-01", None, RateKind::Standard),
        ])
        .when(rate_step(
            "0",
            "2026-01-01",
            Some("2026-04-30"),
            RateKind::Promotional,
        ))
        .then_expect([rate_changed(
            "0",
            "2026-01-01",
            Some("2026-04-30"),
            RateKind::Promotional,
        )]),
    );
    let rate = |d: &str| debt.rate_on(day(d)).to_string();
    assert_eq!(
        rate("2025-06-15"),
        "4.5",
        "before any step: the debt's own rate"
    );
    assert_eq!(rate("2025-12-31"), "19.99");
    assert_eq!(rate("2026-01-01"), "0");
    assert_eq!(rate("2026-04-30"), "0", "through its last day");
    assert_eq!(
        rate("2026-05-01"),
        "19.99",
        "then the rate in force before it"
    );
    assert_eq!(
        debt.promo_ends_on(day("2026-02-01")),
        Some(day("2026-04-30"))
    );
    assert_eq!(debt.promo_ends_on(day("2026-05-01")), None);
    assert_eq!(debt.rate_schedule.len(), 2);
}

#[test]
fn steps_are_kept_by_effective_day_and_the_later_recorded_wins_a_day() {
    let debt = open(
        given::<Debt>([
            created(),
            rate_changed("21", "2026-06-01", None, RateKind::Penalty),
            rate_changed("18", "2026-01-01", None, RateKind::Standard),
        ])
        .when(rate_step("17", "2026-01-01", None, RateKind::Standard))
        .then_expect([rate_changed("17", "2026-01-01", None, RateKind::Standard)]),
    );
    let days: Vec<String> = debt
        .rate_schedule
        .iter()
        .map(|s| format!("{} {}", s.effective_on, s.rate))
        .collect();
    assert_eq!(days, ["2026-01-01 18", "2026-01-01 17", "2026-06-01 21"]);
    assert_eq!(debt.rate_on(day("2026-03-01")).to_string(), "17");
    assert_eq!(
        debt.rate_on(day("2026-06-01")).to_string(),
        "21",
        "a future step"
    );
}

#[test]
fn a_rate_step_starts_with_the_debt_ends_after_it_starts_and_the_schedule_is_bounded() {
    given::<Debt>([created()])
        .when(rate_step("5", "2025-05-31", None, RateKind::Standard))
        .then_error(DebtError::DayBeforeStart {
            field: "effective_on",
            start_date: day("2025-06-01"),
        });
    given::<Debt>([created()])
        .when(rate_step(
            "0",
            "2026-02-01",
            Some("2026-01-31"),
            RateKind::Promotional,
        ))
        .then_error(DebtError::RateEndsBeforeItStarts {
            ends_on: day("2026-01-31"),
        });
    let full: Vec<EventPayload> = std::iter::once(created())
        .chain(
            (0..crate::limits::MAX_RATE_STEPS)
                .map(|_| rate_changed("5", "2026-01-01", None, RateKind::Standard)),
        )
        .collect();
    given::<Debt>(full)
        .when(rate_step("6", "2026-02-01", None, RateKind::Standard))
        .then_error(DebtError::TooManyRateSteps);
    given::<Debt>([created(), deleted()])
        .when(rate_step("6", "2026-02-01", None, RateKind::Standard))
        .then_error(DebtError::Deleted);
}
