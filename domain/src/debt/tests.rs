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
        terms: Default::default(),
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
        terms: Default::default(),
    })
}

fn updated(changes: DebtChanges) -> EventPayload {
    EventPayload::DebtUpdated(DebtUpdated { changes })
}

fn deleted() -> EventPayload {
    EventPayload::DebtDeleted(DebtDeleted { reason: None })
}

fn update(actor: Username, patch: DebtPatch) -> DebtCommand {
    DebtCommand::Update {
        actor,
        patch,
        today: NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
    }
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
    assert!(matches!(state.state, DebtState::Open(d) if d.owner == "alice"));
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
            balance_on: NaiveDate::from_ymd_opt(2026, 3, 15),
            ..DebtChanges::default()
        })]);
    let DebtState::Open(debt) = state.state else {
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
        balance_on: NaiveDate::from_ymd_opt(2026, 3, 15),
        ..DebtChanges::default()
    })]);
    assert!(
        matches!(state.state, DebtState::Open(d) if d.owner == "alice" && d.debt_name == "Renamed")
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
    assert!(matches!(state.state, DebtState::Deleted(d) if d.debt_name == "Car loan"));
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
    assert!(matches!(state.state, DebtState::Deleted(d) if d.debt_name == "Car loan"));
}

/// Reminders at `offsets` days before a due date, of every kind.
fn reminders(offsets: &[u16]) -> events::NotificationSettings {
    events::NotificationSettings {
        offsets_days: offsets.to_vec(),
        ..Default::default()
    }
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

fn open(aggregate: DebtAggregate) -> DebtRecord {
    match aggregate.state {
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
                balance_on: NaiveDate::from_ymd_opt(2026, 3, 15),
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

fn statement(closing: &str, balance: &str, minimum: &str) -> NewStatement {
    NewStatement {
        closing_date: Day::parse("closing_date", closing).unwrap(),
        statement_balance: money(balance),
        minimum_due: money(minimum),
        due_date: None,
        interest_charged: None,
        fees_charged: None,
    }
}

fn record(statement: NewStatement) -> DebtCommand {
    DebtCommand::RecordStatement {
        actor: alice(),
        statement,
        today: day(TODAY),
    }
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// The `StatementRecorded` of the card below: its figures, with `booked` to fill in.
fn recorded(
    closing: &str,
    balance: &str,
    expected: &str,
    model_interest: &str,
) -> StatementRecorded {
    StatementRecorded {
        closing_date: day(closing),
        statement_balance: dec(balance),
        minimum_due: dec("100.00"),
        due_date: day(closing) + chrono::Days::new(21),
        interest_charged: None,
        fees_charged: None,
        expected_balance: dec(expected),
        difference: dec(balance) - dec(expected),
        model_interest: dec(model_interest),
        booked: Vec::new(),
    }
}

fn booked(kind: BookedKind, amount: &str) -> BookedCharge {
    BookedCharge {
        kind,
        amount: dec(amount),
    }
}

#[test]
fn a_statement_that_agrees_books_nothing_and_states_the_model_interest() {
    // 11,500.00 at 4.5 % by the monthly rule: 11500 x 4.5 / 1200 = 43.125, half away: 43.13.
    let state = given::<Debt>([created(), paid("500.50", "2026-02-20")])
        .when(record(statement("2026-03-01", "11500", "100")))
        .then_expect([EventPayload::StatementRecorded(recorded(
            "2026-03-01",
            "11500.00",
            "11500.00",
            "43.13",
        ))]);
    let debt = open(state);
    assert_eq!(debt.current_balance, dec("11500.00"));
    assert_eq!(debt.last_closing(), Some(day("2026-03-01")));
}

#[test]
fn a_statement_books_its_interest_its_fees_and_the_rest_as_an_adjustment() {
    let mut stated = statement("2026-03-01", "11600", "100");
    stated.interest_charged = Some(money("43.13"));
    stated.fees_charged = Some(money("35"));
    let mut expected = recorded("2026-03-01", "11600.00", "11500.00", "43.13");
    expected.interest_charged = Some(dec("43.13"));
    expected.fees_charged = Some(dec("35.00"));
    expected.booked = vec![
        booked(BookedKind::Interest, "43.13"),
        booked(BookedKind::Fee, "35.00"),
        booked(BookedKind::Adjustment, "21.87"),
    ];
    let state = given::<Debt>([created(), paid("500.50", "2026-02-20")])
        .when(record(stated))
        .then_expect([EventPayload::StatementRecorded(expected)]);
    assert_eq!(open(state.clone()).current_balance, dec("11600.00"));
    assert_eq!(
        state.dated.on(day("2025-06-01"), day("2026-03-01")),
        dec("11600.00")
    );
}

#[test]
fn a_statement_below_the_records_books_a_credit() {
    let mut expected = recorded("2026-03-01", "11400.00", "11500.00", "43.13");
    expected.booked = vec![booked(BookedKind::Adjustment, "-100.00")];
    given::<Debt>([created(), paid("500.50", "2026-02-20")])
        .when(record(statement("2026-03-01", "11400", "100")))
        .then_expect([EventPayload::StatementRecorded(expected)]);
}

#[test]
fn movements_dated_after_the_closing_stay_on_top() {
    // The payment of 03-05 is after the closing: the statement does not hold it, and it still counts.
    let mut expected = recorded("2026-03-01", "11550.00", "11500.00", "43.13");
    expected.booked = vec![booked(BookedKind::Adjustment, "50.00")];
    let state = given::<Debt>([
        created(),
        paid("500.50", "2026-02-20"),
        paid("100", "2026-03-05"),
    ])
    .when(record(statement("2026-03-01", "11550", "100")))
    .then_expect([EventPayload::StatementRecorded(expected)]);
    assert_eq!(open(state).current_balance, dec("11450.00"));
}

#[test]
fn the_same_statement_twice_appends_nothing() {
    let first =
        EventPayload::StatementRecorded(recorded("2026-03-01", "12000.50", "12000.50", "45.00"));
    given::<Debt>([created(), first])
        .when(record(statement("2026-03-01", "12000.50", "100")))
        .then_expect([]);
}

#[test]
fn statements_out_of_order_or_in_the_future_are_refused() {
    let first =
        || EventPayload::StatementRecorded(recorded("2026-03-01", "12000.50", "12000.50", "45.00"));
    given::<Debt>([created(), first()])
        .when(record(statement("2026-03-01", "12100", "100")))
        .then_error(DebtError::StatementNotAfterLast {
            last: day("2026-03-01"),
        });
    given::<Debt>([created(), first()])
        .when(record(statement("2026-02-01", "12000.50", "100")))
        .then_error(DebtError::StatementNotAfterLast {
            last: day("2026-03-01"),
        });
    given::<Debt>([created()])
        .when(record(statement("2026-03-11", "12000.50", "100")))
        .then_error(DebtError::DayInFuture {
            field: "closing_date",
            today: day(TODAY),
        });
    given::<Debt>([created()])
        .when(record(statement("2025-05-31", "12000.50", "100")))
        .then_error(DebtError::DayBeforeStart {
            field: "closing_date",
            start_date: day("2025-06-01"),
        });
    let mut early_due = statement("2026-03-01", "12000.50", "100");
    early_due.due_date = Some(Day::parse("due_date", "2026-02-28").unwrap());
    given::<Debt>([created()])
        .when(record(early_due))
        .then_error(DebtError::DueBeforeClosing);
    given::<Debt>([created()])
        .when(record(statement("2026-03-01", "50", "60")))
        .then_error(DebtError::MinimumAboveBalance);
}

#[test]
fn a_statement_may_not_leave_less_than_nothing_after_later_payments() {
    given::<Debt>([created(), paid("12000.50", "2026-03-05")])
        .when(record(statement("2026-03-01", "11000", "100")))
        .then_error(DebtError::StatementBelowLaterMoves {
            balance: dec("-1000.50"),
        });
}

#[test]
fn a_closed_cycle_takes_no_movement_correction_or_later_start() {
    let stated =
        || EventPayload::StatementRecorded(recorded("2026-03-01", "12000.50", "12000.50", "45.00"));
    let closed = |field| DebtError::InClosedCycle {
        field,
        closing_date: day("2026-03-01"),
    };
    given::<Debt>([created(), stated()])
        .when(pay("10", "2026-03-01"))
        .then_error(closed("paid_on"));
    given::<Debt>([created(), stated()])
        .when(charge("10", "2026-02-01"))
        .then_error(closed("charged_on"));
    given::<Debt>([created(), stated()])
        .when(pay("10", "2026-03-02"))
        .then_expect([paid("10", "2026-03-02")]);
    given::<Debt>([created(), stated()])
        .when(DebtCommand::Update {
            actor: alice(),
            patch: DebtPatch {
                current_balance: Some(money("5")),
                ..DebtPatch::default()
            },
            today: day("2026-03-01"),
        })
        .then_error(closed("current_balance"));
    given::<Debt>([created(), stated()])
        .when(update(
            alice(),
            DebtPatch {
                start_date: Some(StartDate::parse("2026-03-02").unwrap()),
                ..DebtPatch::default()
            },
        ))
        .then_error(DebtError::StartAfterStatement {
            closing_date: day("2026-03-01"),
        });
}

#[test]
fn the_daily_method_sums_each_days_balance_at_its_rate() {
    // 1,000.00 from 01-01, 500.00 paid on 01-16, at 18.25 %: 15 days x 1000 + 16 days x 500 = 23,000
    // balance-days; x 18.25 / 36500 = 11.50. The monthly rule would say 500 x 18.25 / 1200 = 7.60.
    let card = EventPayload::DebtCreated(DebtCreated {
        owner: "alice".into(),
        debt_name: "Card".into(),
        principal: dec("1000.00"),
        interest_rate: dec("18.25"),
        start_date: day("2026-01-01"),
        payment_frequency: PaymentFrequency::Monthly,
        current_balance: dec("1000.00"),
        creditor: None,
        minimum_payment: None,
        terms: DebtTerms {
            interest_method: Some(InterestMethod::Daily),
            ..DebtTerms::default()
        },
    });
    given::<Debt>([card, paid("500", "2026-01-16")])
        .when(DebtCommand::RecordStatement {
            actor: alice(),
            statement: statement("2026-01-31", "511.50", "25"),
            today: day("2026-02-01"),
        })
        .then_expect([EventPayload::StatementRecorded(StatementRecorded {
            closing_date: day("2026-01-31"),
            statement_balance: dec("511.50"),
            minimum_due: dec("25.00"),
            due_date: day("2026-02-21"),
            interest_charged: None,
            fees_charged: None,
            expected_balance: dec("500.00"),
            difference: dec("11.50"),
            model_interest: dec("11.50"),
            booked: vec![booked(BookedKind::Adjustment, "11.50")],
        })]);
}

mod properties {
    use super::*;
    use crate::decider::Decider;
    use proptest::prelude::{prop_assert, prop_assert_eq, proptest, ProptestConfig};
    use proptest::strategy::Strategy;

    /// A step of a random history: a payment, a charge or a corrected balance, in cents, some days after
    /// the debt's start.
    #[derive(Debug, Clone)]
    enum Step {
        Pay(i64, u64),
        Charge(i64, u64),
        Correct(i64),
    }

    fn step() -> impl Strategy<Value = Step> {
        (0..3u8, 1..200_000i64, 0..283u64).prop_map(|(kind, cents, days)| match kind {
            0 => Step::Pay(cents, days),
            1 => Step::Charge(cents, days),
            _ => Step::Correct(cents),
        })
    }

    fn cents(amount: i64) -> Money {
        Money::parse("amount", Decimal::new(amount, 2)).unwrap()
    }

    fn command(step: &Step) -> DebtCommand {
        let on = |days: u64| {
            let date = day("2025-06-01") + chrono::Days::new(days);
            Day::parse("day", &date.to_string()).unwrap()
        };
        match step {
            Step::Pay(amount, days) => DebtCommand::RecordPayment {
                actor: alice(),
                payment: Payment {
                    amount: cents(*amount),
                    paid_on: on(*days),
                    note: None,
                },
                today: day(TODAY),
            },
            Step::Charge(amount, days) => DebtCommand::AddCharge {
                actor: alice(),
                charge: Charge {
                    amount: cents(*amount),
                    charged_on: on(*days),
                    kind: ChargeKind::Interest,
                    note: None,
                },
                today: day(TODAY),
            },
            Step::Correct(amount) => DebtCommand::Update {
                actor: alice(),
                patch: DebtPatch {
                    current_balance: Some(cents(*amount)),
                    ..DebtPatch::default()
                },
                today: day(TODAY),
            },
        }
    }

    /// The debt after every step of `steps` it accepts (a refused step changes nothing).
    fn run(steps: &[Step]) -> DebtAggregate {
        steps.iter().fold(Debt::fold([&created()]), |state, step| {
            match Debt::decide(&command(step), &state) {
                Ok(events) => events.iter().fold(state, Debt::evolve),
                Err(_) => state,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// A statement leaves the balance on its closing date at the statement's balance, its booked
        /// charges sum to the difference, and every later movement stays on top.
        #[test]
        fn a_statement_reconciles_the_balance_on_its_closing_date(
            before in proptest::collection::vec(step(), 0..12),
            after in proptest::collection::vec(step(), 0..6),
            closing_days in 0..283u64,
            statement_cents in 0..2_000_000i64,
        ) {
            let state = run(&before);
            let closing = day("2025-06-01") + chrono::Days::new(closing_days);
            let command = record(NewStatement {
                closing_date: Day::parse("closing_date", &closing.to_string()).unwrap(),
                statement_balance: cents(statement_cents),
                minimum_due: cents(0),
                due_date: None,
                interest_charged: Some(cents(statement_cents / 100)),
                fees_charged: None,
            });
            let Ok(events) = Debt::decide(&command, &state) else {
                return Ok(());
            };
            let EventPayload::StatementRecorded(recorded) = &events[0] else {
                panic!("a statement records a statement");
            };
            let booked: Decimal = recorded.booked.iter().map(|b| b.amount).sum();
            prop_assert_eq!(booked, recorded.difference);
            let stated = events.iter().fold(state, Debt::evolve);
            let start = day("2025-06-01");
            prop_assert_eq!(stated.dated.on(start, closing), cents(statement_cents).amount());
            let later = after.iter().fold(stated, |state, step| {
                match Debt::decide(&command_after(step, closing), &state) {
                    Ok(events) => events.iter().fold(state, Debt::evolve),
                    Err(_) => state,
                }
            });
            prop_assert_eq!(later.dated.on(start, closing), cents(statement_cents).amount());
            prop_assert_eq!(later.dated.on(start, day(TODAY)), open(later).current_balance);
        }

        /// Due dates and notices answer for any history and any day, never a panic (a reversed payment window
        /// once was one).
        #[test]
        fn due_dates_and_notices_answer_on_any_day(
            steps in proptest::collection::vec(step(), 0..12),
            closing_days in 0..283u64,
            due_after in 0..91u64,
            read_days in 0..400u64,
            tracked_days in 0..283u64,
        ) {
            let state = run(&steps);
            let start = day("2025-06-01");
            let closing = start + chrono::Days::new(closing_days);
            let due = closing + chrono::Days::new(due_after);
            let statement = record(NewStatement {
                closing_date: Day::parse("closing_date", &closing.to_string()).unwrap(),
                statement_balance: cents(100_000),
                minimum_due: cents(2_500),
                due_date: Some(Day::parse("due_date", &due.to_string()).unwrap()),
                interest_charged: None,
                fees_charged: None,
            });
            let state = match Debt::decide(&statement, &state) {
                Ok(events) => events.iter().fold(state, Debt::evolve),
                Err(_) => state,
            };
            let today = start + chrono::Days::new(read_days);
            let tracked = start + chrono::Days::new(tracked_days);
            if let Some(next) = open(state.clone()).due_state(today, tracked).next {
                prop_assert!(next.due_on >= today);
            }
            let notify = DebtCommand::Notify { today, tracked_from: tracked, settings: reminders(&[7, 3, 1]) };
            prop_assert!(Debt::decide(&notify, &state).is_ok());
        }

        /// The estimate since the last statement, taken in runs between rate changes, is the sum day by day.
        #[test]
        fn the_estimate_since_a_statement_is_the_sum_of_its_days(
            steps in proptest::collection::vec((0..2_000u64, 0..400u64, 0..200_000i64, 0..3u8), 0..6),
            closing_days in 0..283u64,
            read_days in 0..700u64,
        ) {
            let start = day("2025-06-01");
            let closing = start + chrono::Days::new(closing_days);
            let mut history = vec![created()];
            for (from, length, rate, kind) in steps {
                let from = start + chrono::Days::new(from);
                let ends = (kind > 0).then(|| (from + chrono::Days::new(length)).to_string());
                let kind = [RateKind::Standard, RateKind::Promotional, RateKind::Penalty][usize::from(kind)];
                history.push(rate_changed(&Decimal::new(rate, 4).to_string(), &from.to_string(), ends.as_deref(), kind));
            }
            history.push(EventPayload::StatementRecorded(recorded(&closing.to_string(), "12000.50", "12000.50", "45.00")));
            let debt = open(Debt::fold(&history));
            let today = start + chrono::Days::new(read_days);
            let by_day = crate::plan::daily_interest(
                closing.iter_days().skip(1).take_while(|d| *d <= today)
                    .map(|d| (debt.current_balance, debt.rate_on(d), 1)),
            );
            prop_assert_eq!(debt.estimated_interest_since_statement(today), by_day);
        }

        /// The balance by effective date on a day after every movement is today's balance.
        #[test]
        fn the_balance_on_a_day_after_everything_is_todays(
            steps in proptest::collection::vec(step(), 0..20),
        ) {
            let state = run(&steps);
            let balance = state.dated.on(day("2025-06-01"), day(TODAY));
            prop_assert_eq!(balance, open(state).current_balance);
        }
    }

    /// `step` as a movement of the cycle after `closing` (a correction stays as it is: it is dated today).
    fn command_after(step: &Step, closing: NaiveDate) -> DebtCommand {
        let days_since_start = (closing - day("2025-06-01")).num_days().unsigned_abs();
        let left = (day(TODAY) - closing).num_days().unsigned_abs();
        let shifted = |days: u64| days_since_start + 1 + days % left.max(1);
        match step {
            Step::Pay(amount, days) => command(&Step::Pay(*amount, shifted(*days))),
            Step::Charge(amount, days) => command(&Step::Charge(*amount, shifted(*days))),
            Step::Correct(_) => command(step),
        }
    }
}

#[test]
fn terms_default_from_the_start_date_and_change_by_update() {
    let debt = open(Debt::fold([&created()]));
    assert_eq!(
        (debt.statement_day, debt.due_days),
        (1, 21),
        "the start's day, 21 days"
    );
    assert_eq!(debt.interest_method, InterestMethod::Monthly);
    let mut late = new_debt("100");
    late.start_date = StartDate::parse("2025-01-31").unwrap();
    let create = DebtCommand::Create {
        owner: alice(),
        debt: late,
    };
    let events = Debt::decide(&create, &DebtAggregate::default()).unwrap();
    assert_eq!(
        open(Debt::fold(&events)).statement_day,
        28,
        "at most 28, so every month has it"
    );
    let changes = DebtChanges {
        terms: DebtTerms {
            statement_day: Some(15),
            interest_method: Some(InterestMethod::Daily),
            due_days: None,
        },
        ..DebtChanges::default()
    };
    let updated_debt = open(
        given::<Debt>([created()])
            .when(update(
                alice(),
                DebtPatch {
                    terms: NewTerms {
                        statement_day: Some(StatementDay::parse(15).unwrap()),
                        due_days: Some(DueDays::parse(21).unwrap()),
                        interest_method: Some(InterestMethod::Daily),
                    },
                    ..DebtPatch::default()
                },
            ))
            .then_expect([updated(changes)]),
    );
    assert_eq!(updated_debt.statement_day, 15);
    assert_eq!(updated_debt.interest_method, InterestMethod::Daily);
}

mod due_dates {
    use super::*;

    /// The car loan with a minimum of 100.00 a month; statements close on the 1st, due 21 days later.
    fn with_minimum() -> EventPayload {
        let EventPayload::DebtCreated(mut created) = created() else {
            unreachable!()
        };
        created.minimum_payment = Some(dec("100"));
        EventPayload::DebtCreated(created)
    }

    /// Tracked from before every cycle of these tests.
    fn due_on(history: Vec<EventPayload>, today: &str) -> DueState {
        open(Debt::fold(&history)).due_state(day(today), day("2025-06-01"))
    }

    #[test]
    fn a_year_of_due_dates_is_one_a_month_from_the_terms() {
        let debt = open(Debt::fold(&[with_minimum()]));
        let year = debt.due_dates(day("2026-03-10"), day("2027-03-10"));
        let dates: Vec<String> = year.iter().map(|c| c.due_on.to_string()).collect();
        assert_eq!(dates.len(), 12, "{dates:?}");
        assert_eq!(dates.first().map(String::as_str), Some("2026-03-22"));
        assert_eq!(dates.last().map(String::as_str), Some("2027-02-22"));
        assert!(year.iter().all(|c| c.minimum_due == Some(dec("100.00"))));
        assert_eq!(
            debt.due_dates(day("2026-03-23"), day("2026-04-22")).len(),
            1,
            "the bounds are inclusive: 22 April only"
        );
    }

    #[test]
    fn the_next_due_date_follows_the_statement_day_and_due_days() {
        let due = due_on(
            vec![with_minimum(), paid("100", "2026-02-15")],
            "2026-03-10",
        );
        let next = due.next.unwrap();
        assert_eq!(
            (next.closing_date, next.due_on),
            (day("2026-03-01"), day("2026-03-22"))
        );
        assert_eq!(next.minimum_due, Some(dec("100.00")));
        assert_eq!(
            due.missed, None,
            "100.00 was paid in the cycle due 2026-02-22"
        );
        let on_the_day = due_on(
            vec![with_minimum(), paid("100", "2026-02-15")],
            "2026-03-22",
        );
        assert_eq!(
            on_the_day.next.unwrap().due_on,
            day("2026-03-22"),
            "due through its day"
        );
    }

    #[test]
    fn a_due_date_passed_with_less_than_the_minimum_is_missed() {
        for (history, missed) in [
            (vec![with_minimum()], true),
            (vec![with_minimum(), paid("50", "2026-02-15")], true),
            // The closing day is the cycle before's: it does not count for this one.
            (vec![with_minimum(), paid("100", "2026-02-01")], true),
            (
                vec![
                    with_minimum(),
                    paid("60", "2026-02-02"),
                    paid("40", "2026-02-22"),
                ],
                false,
            ),
        ] {
            let due = due_on(history.clone(), "2026-03-10");
            assert_eq!(due.missed.is_some(), missed, "{history:?}");
            if let Some(cycle) = due.missed {
                assert_eq!(cycle.due_on, day("2026-02-22"));
            }
        }
        assert_eq!(
            due_on(vec![created()], "2026-03-10").missed,
            None,
            "without a minimum nothing is missed"
        );
        let paid_off = due_on(
            vec![with_minimum(), paid("12000.50", "2026-02-01")],
            "2026-03-10",
        );
        assert_eq!((paid_off.next, paid_off.missed), (None, None));
    }

    #[test]
    fn the_last_statement_sets_its_own_due_date_and_minimum() {
        let mut stated = recorded("2026-02-20", "12000.50", "12000.50", "45.00");
        stated.due_date = day("2026-03-13");
        stated.minimum_due = dec("35.00");
        let history = vec![with_minimum(), EventPayload::StatementRecorded(stated)];
        let due = due_on(history.clone(), "2026-03-10");
        let next = due.next.unwrap();
        assert_eq!(
            (next.due_on, next.minimum_due),
            (day("2026-03-13"), Some(dec("35.00")))
        );
        // Cycles before the statement are its; the one before it (due 2026-02-22) is not checked again.
        assert_eq!(due.missed, None);
        let after = due_on(history.clone(), "2026-03-14");
        assert_eq!(after.missed.unwrap().due_on, day("2026-03-13"));
        assert_eq!(
            after.next.unwrap().due_on,
            day("2026-03-22"),
            "then the terms again"
        );
        let paid_in_time = [history, vec![paid("35", "2026-03-13")]].concat();
        assert_eq!(due_on(paid_in_time, "2026-03-14").missed, None);
    }

    #[test]
    fn a_cycle_that_closed_before_the_debt_was_recorded_is_never_missed() {
        let debt = open(Debt::fold(&[with_minimum()]));
        assert!(
            debt.due_state(day("2026-03-10"), day("2026-02-01"))
                .missed
                .is_some(),
            "closed that day"
        );
        assert_eq!(
            debt.due_state(day("2026-03-10"), day("2026-02-02")).missed,
            None,
            "recorded after"
        );
        let mut stated = recorded("2026-01-20", "12000.50", "12000.50", "45.00");
        stated.due_date = day("2026-02-28");
        let with_statement = open(Debt::fold(&[
            with_minimum(),
            EventPayload::StatementRecorded(stated),
        ]));
        let missed = with_statement
            .due_state(day("2026-03-01"), day("2026-02-25"))
            .missed;
        assert_eq!(
            missed.unwrap().due_on,
            day("2026-02-28"),
            "a recorded statement's cycle is tracked"
        );
    }

    #[test]
    fn payments_are_kept_by_day_for_the_last_160_days() {
        let debt = open(Debt::fold(&[
            with_minimum(),
            paid("10", "2025-06-02"),
            paid("10", "2025-11-01"),
            paid("5", "2025-11-01"),
            paid("10", "2026-03-01"),
        ]));
        let kept: Vec<(String, String)> = debt
            .payments_by_day
            .iter()
            .map(|(d, a)| (d.to_string(), a.to_string()))
            .collect();
        assert_eq!(
            kept,
            [
                ("2025-11-01".into(), "15.00".into()),
                ("2026-03-01".into(), "10.00".into())
            ]
        );
    }
}

mod notices {
    use super::*;

    fn with_minimum() -> EventPayload {
        let EventPayload::DebtCreated(mut created) = created() else {
            unreachable!()
        };
        created.minimum_payment = Some(dec("100"));
        EventPayload::DebtCreated(created)
    }

    /// Recorded on 2026-03-01: the cycles before it are not checked.
    fn notify(today: &str, offsets: &[u16]) -> DebtCommand {
        DebtCommand::Notify {
            today: day(today),
            tracked_from: day("2026-03-01"),
            settings: reminders(offsets),
        }
    }

    /// The reminder of the cycle closing 2026-03-01, due 2026-03-22 (statement day 1, 21 days).
    fn due_soon(days_before: u16, paid: &str) -> EventPayload {
        EventPayload::PaymentDueSoon(events::PaymentDueSoon {
            due_on: day("2026-03-22"),
            minimum_due: Some(dec("100.00")),
            paid: dec(paid),
            days_before,
        })
    }

    #[test]
    fn a_payment_due_soon_is_announced_once_at_each_offset() {
        given::<Debt>([with_minimum()])
            .when(notify("2026-03-19", &[3]))
            .then_expect([due_soon(3, "0.00")]);
        // Run again, or the next day: it went out.
        given::<Debt>([with_minimum(), due_soon(3, "0.00")])
            .when(notify("2026-03-19", &[3]))
            .then_expect([]);
        given::<Debt>([with_minimum(), due_soon(3, "0.00")])
            .when(notify("2026-03-20", &[3]))
            .then_expect([]);
        given::<Debt>([with_minimum()])
            .when(notify("2026-03-18", &[3]))
            .then_expect([]);
        given::<Debt>([with_minimum(), due_soon(7, "0.00")])
            .when(notify("2026-03-19", &[7, 3, 1]))
            .then_expect([due_soon(3, "0.00")]);
        given::<Debt>([with_minimum(), due_soon(7, "0.00"), due_soon(3, "0.00")])
            .when(notify("2026-03-21", &[7, 3, 1]))
            .then_expect([due_soon(1, "0.00")]);
    }

    #[test]
    fn only_the_kinds_the_owner_chose_go_out() {
        let missed_only = DebtCommand::Notify {
            today: day("2026-03-19"),
            tracked_from: day("2026-03-01"),
            settings: events::NotificationSettings {
                kinds: vec![events::NoticeKind::PaymentMissed],
                ..reminders(&[3])
            },
        };
        given::<Debt>([with_minimum()])
            .when(missed_only)
            .then_expect([]);
        let state = Debt::fold(&[with_minimum()]);
        let settings = events::NotificationSettings {
            kinds: vec![events::NoticeKind::PaymentMissed],
            ..reminders(&[3])
        };
        assert_eq!(
            open(state.clone()).next_notice_day(
                &state.notices,
                day("2026-03-10"),
                day("2026-03-01"),
                &settings
            ),
            Some(day("2026-03-23")),
            "the time index skips the reminder nobody asked for"
        );
    }

    #[test]
    fn after_an_outage_only_the_nearest_offset_goes_out() {
        // Nothing ran from the 15th to the 20th: on the 21st the 7- and 3-day reminders are past.
        let state = given::<Debt>([with_minimum()])
            .when(notify("2026-03-21", &[7, 3, 1]))
            .then_expect([due_soon(1, "0.00")]);
        let again = Debt::decide(&notify("2026-03-21", &[7, 3, 1]), &state).unwrap();
        assert_eq!(again, vec![], "and only once");
    }

    #[test]
    fn a_payment_that_meets_the_minimum_cancels_the_reminder() {
        given::<Debt>([with_minimum(), paid("100", "2026-03-10")])
            .when(notify("2026-03-19", &[3]))
            .then_expect([]);
        given::<Debt>([with_minimum(), paid("40", "2026-03-10")])
            .when(notify("2026-03-19", &[3]))
            .then_expect([due_soon(3, "40.00")]);
        given::<Debt>([created()])
            .when(notify("2026-03-19", &[3]))
            .then_expect([]);
    }

    #[test]
    fn a_missed_due_date_is_announced_the_day_after_once() {
        let missed = EventPayload::PaymentMissed(events::PaymentMissed {
            due_on: day("2026-03-22"),
            minimum_due: dec("100.00"),
            paid: dec("20.00"),
        });
        given::<Debt>([with_minimum(), paid("20", "2026-03-05")])
            .when(notify("2026-03-23", &[]))
            .then_expect([missed.clone()]);
        given::<Debt>([with_minimum(), paid("20", "2026-03-05"), missed])
            .when(notify("2026-03-25", &[]))
            .then_expect([]);
        given::<Debt>([with_minimum(), paid("100", "2026-03-22")])
            .when(notify("2026-03-23", &[]))
            .then_expect([]);
        given::<Debt>([with_minimum(), deleted()])
            .when(notify("2026-03-23", &[3]))
            .then_expect([]);
    }

    #[test]
    fn the_next_notice_day_is_what_the_time_index_keys_a_debt_by() {
        let next = |history: Vec<EventPayload>, today: &str| {
            let state = Debt::fold(&history);
            let sent = state.notices.clone();
            open(state).next_notice_day(&sent, day(today), day("2026-03-01"), &reminders(&[3]))
        };
        assert_eq!(
            next(vec![with_minimum()], "2026-03-10"),
            Some(day("2026-03-19"))
        );
        assert_eq!(
            next(vec![with_minimum(), due_soon(3, "0.00")], "2026-03-19"),
            Some(day("2026-03-23")),
            "reminded: next, the miss the day after the due date"
        );
        assert_eq!(
            next(
                vec![with_minimum(), paid("100", "2026-03-10")],
                "2026-03-10"
            ),
            Some(day("2026-04-19")),
            "paid: next, April's reminder"
        );
        assert_eq!(
            next(vec![created()], "2026-03-10"),
            Some(day("2026-05-11")),
            "nothing within 62 days: look again then"
        );
        assert_eq!(
            next(
                vec![with_minimum(), paid("12000.50", "2026-03-02")],
                "2026-03-10"
            ),
            None
        );
    }

    #[test]
    fn the_next_notice_falls_due_at_nine_in_the_owners_morning_never_in_the_past() {
        let state = Debt::fold(&[with_minimum()]);
        let at = |zone: &str, now: &str| {
            let zone = crate::values::TimeZoneName::parse(zone).unwrap();
            let now = chrono::DateTime::parse_from_rfc3339(now).unwrap().to_utc();
            open(state.clone())
                .next_notice_at(
                    &state.notices,
                    now,
                    &zone,
                    day("2026-03-01"),
                    &reminders(&[3]),
                )
                .map(|t| t.to_rfc3339())
        };
        // The reminder is due on 2026-03-19 (3 days before the 22nd).
        assert_eq!(
            at("UTC", "2026-03-10T12:00:00Z").as_deref(),
            Some("2026-03-19T09:00:00+00:00")
        );
        assert_eq!(
            at("Pacific/Kiritimati", "2026-03-10T12:00:00Z").as_deref(),
            Some("2026-03-18T19:00:00+00:00"),
            "UTC+14: nine in the morning of the 19th is the evening before in UTC"
        );
        assert_eq!(
            at("America/New_York", "2026-03-10T12:00:00Z").as_deref(),
            Some("2026-03-19T13:00:00+00:00"),
            "after the change to summer time (8 March 2026): UTC-4"
        );
        assert_eq!(
            at("UTC", "2026-03-19T15:30:00Z").as_deref(),
            Some("2026-03-19T15:30:00+00:00"),
            "the reminder's hour has passed and it has not gone out: at once"
        );
    }

    #[test]
    fn a_promotions_end_is_announced_at_60_30_and_7_days() {
        let promo = rate_changed("0", "2026-01-01", Some("2026-05-31"), RateKind::Promotional);
        let ending = |days_before| {
            EventPayload::PromoEndingSoon(events::PromoEndingSoon {
                ends_on: day("2026-05-31"),
                days_before,
                rate_after: dec("4.5"),
            })
        };
        given::<Debt>([created(), promo.clone()])
            .when(notify("2026-04-01", &[]))
            .then_expect([ending(60)]);
        given::<Debt>([created(), promo.clone(), ending(60)])
            .when(notify("2026-04-15", &[]))
            .then_expect([]);
        given::<Debt>([created(), promo.clone(), ending(60)])
            .when(notify("2026-05-01", &[]))
            .then_expect([ending(30)]);
        given::<Debt>([created(), promo.clone()])
            .when(notify("2026-03-31", &[]))
            .then_expect([]);
        given::<Debt>([created(), promo, paid("12000.50", "2026-03-01")])
            .when(notify("2026-05-24", &[]))
            .then_expect([]);
    }
}

#[test]
fn a_statement_due_on_its_closing_day_is_checked_without_a_panic() {
    // A due date may be the closing date itself: its cycle's payment window is empty, never a reversed range.
    let mut stated = recorded("2026-02-20", "12000.50", "12000.50", "45.00");
    stated.due_date = day("2026-02-20");
    stated.minimum_due = dec("35.00");
    let debt = open(Debt::fold(&[
        created(),
        paid("10", "2026-02-10"),
        EventPayload::StatementRecorded(stated),
    ]));
    let due = debt.due_state(day("2026-02-21"), day("2026-02-01"));
    assert_eq!(due.missed.unwrap().due_on, day("2026-02-20"));
}
