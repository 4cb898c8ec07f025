//! The published schemas describe what the types really write: every kind of event, serialised, validates
//! against `docs/schemas/envelope.schema.json` (formats checked), and malformed events do not.

use chrono::{NaiveDate, TimeZone, Utc};
use events::{
    AggregateType, BookedCharge, BookedKind, ChargeAdded, ChargeKind, DebtChanges, DebtCreated,
    DebtDeleted, DebtTerms, DebtUpdated, EventEnvelope, EventPayload, InterestMethod, MonthAmount,
    PaymentDueSoon, PaymentFrequency, PaymentMissed, PaymentRecorded, PlanAdopted, PlanStrategy,
    PromoEndingSoon, StatementRecorded, UserCreated,
};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use uuid::Uuid;

fn published(name: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs/schemas")
        .join(name);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the published schema is itself valid")
}

fn envelope(payload: EventPayload, causation: bool) -> Value {
    let aggregate_type = payload.aggregate_type();
    serde_json::to_value(EventEnvelope {
        event_id: Uuid::new_v4(),
        schema_version: 1,
        aggregate_type,
        aggregate_id: match aggregate_type {
            AggregateType::User => "alice".into(),
            AggregateType::Debt => Uuid::new_v4().to_string(),
        },
        version: 1,
        occurred_at: Utc.with_ymd_and_hms(2026, 5, 6, 7, 8, 9).unwrap(),
        actor: "alice".into(),
        correlation_id: Uuid::new_v4(),
        client_correlation_id: None,
        causation_id: causation.then(Uuid::new_v4),
        payload,
    })
    .unwrap()
}

fn every_kind_of_event() -> Vec<Value> {
    let created = DebtCreated {
        owner: "alice".into(),
        debt_name: "Car loan".into(),
        principal: Decimal::new(1_500_000, 2),
        interest_rate: Decimal::new(45, 1),
        start_date: NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
        payment_frequency: PaymentFrequency::Biweekly,
        current_balance: Decimal::new(1_200_050, 2),
        creditor: Some("First Bank".into()),
        minimum_payment: Some(Decimal::new(25_000, 2)),
        terms: Default::default(),
    };
    vec![
        envelope(
            EventPayload::UserCreated(UserCreated {
                username: "alice".into(),
                email: "Alice@Example.com".into(),
                full_name: "Alice Liddell".into(),
            }),
            false,
        ),
        envelope(EventPayload::DebtCreated(created.clone()), true),
        envelope(
            EventPayload::DebtCreated(DebtCreated {
                creditor: None,
                minimum_payment: None,
                ..created
            }),
            false,
        ),
        envelope(
            EventPayload::DebtUpdated(DebtUpdated {
                changes: DebtChanges {
                    debt_name: Some("Renamed".into()),
                    principal: Some(Decimal::new(1, 2)),
                    interest_rate: Some(Decimal::new(123_456, 4)),
                    start_date: NaiveDate::from_ymd_opt(2024, 2, 29),
                    payment_frequency: Some(PaymentFrequency::Annually),
                    current_balance: Some(Decimal::ZERO),
                    creditor: Some(None),
                    minimum_payment: Some(None),
                    balance_on: NaiveDate::from_ymd_opt(2026, 3, 2),
                    ..DebtChanges::default()
                },
            }),
            false,
        ),
        envelope(
            EventPayload::DebtDeleted(DebtDeleted {
                reason: Some("paid off".into()),
            }),
            false,
        ),
        envelope(EventPayload::DebtDeleted(DebtDeleted::default()), false),
    ]
    .into_iter()
    .chain(money_events())
    .chain(statement_events())
    .chain(notice_events())
    .collect()
}

/// A plan adopted with a budget change and a negative extra.
fn plan_event() -> Value {
    let month = |month: &str, cents| MonthAmount {
        month: month.into(),
        amount: Decimal::new(cents, 2),
    };
    envelope(
        EventPayload::PlanAdopted(PlanAdopted {
            strategy: PlanStrategy::Custom,
            monthly_budget: Decimal::new(60_000, 2),
            order: vec![Uuid::new_v4().to_string(), Uuid::new_v4().to_string()],
            budget_changes: vec![month("2026-09", 70_000)],
            extra: vec![month("2026-07", -5_000)],
            start: "2026-06".into(),
            starting_total: Decimal::new(150_000, 2),
            planned_totals: vec![
                Decimal::new(91_000, 2),
                Decimal::new(31_500, 2),
                Decimal::ZERO,
            ],
            total_interest: Decimal::new(2_150, 2),
        }),
        false,
    )
}

fn booked(kind: BookedKind, amount: Decimal) -> BookedCharge {
    BookedCharge { kind, amount }
}

/// Each notice the sweep appends, and a plan adopted.
fn notice_events() -> Vec<Value> {
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    vec![
        envelope(
            EventPayload::PaymentDueSoon(PaymentDueSoon {
                due_on: day(3, 22),
                minimum_due: Some(Decimal::new(3_500, 2)),
                paid: Decimal::new(1_000, 2),
                days_before: 3,
            }),
            false,
        ),
        envelope(
            EventPayload::PaymentMissed(PaymentMissed {
                due_on: day(3, 22),
                minimum_due: Decimal::new(3_500, 2),
                paid: Decimal::new(0, 2),
            }),
            false,
        ),
        envelope(
            EventPayload::PromoEndingSoon(PromoEndingSoon {
                ends_on: day(6, 30),
                days_before: 30,
                rate_after: Decimal::new(2_499, 2),
            }),
            false,
        ),
        plan_event(),
    ]
}

/// A debt created with its terms, its terms changed, and a statement that booked its interest and an adjustment.
fn statement_events() -> Vec<Value> {
    let created = DebtCreated {
        owner: "alice".into(),
        debt_name: "Card".into(),
        principal: Decimal::new(100_000, 2),
        interest_rate: Decimal::new(1_999, 2),
        start_date: NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        payment_frequency: PaymentFrequency::Monthly,
        current_balance: Decimal::new(100_000, 2),
        creditor: None,
        minimum_payment: None,
        terms: DebtTerms::default(),
    };
    vec![
        envelope(
            EventPayload::DebtCreated(DebtCreated {
                terms: DebtTerms {
                    statement_day: Some(1),
                    due_days: Some(21),
                    interest_method: Some(InterestMethod::Monthly),
                },
                ..created
            }),
            true,
        ),
        envelope(
            EventPayload::DebtUpdated(DebtUpdated {
                changes: DebtChanges {
                    terms: DebtTerms {
                        statement_day: Some(28),
                        due_days: Some(25),
                        interest_method: Some(InterestMethod::Daily),
                    },
                    ..DebtChanges::default()
                },
            }),
            false,
        ),
        envelope(
            EventPayload::StatementRecorded(StatementRecorded {
                closing_date: NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(),
                statement_balance: Decimal::new(102_500, 2),
                minimum_due: Decimal::new(3_500, 2),
                due_date: NaiveDate::from_ymd_opt(2026, 4, 5).unwrap(),
                interest_charged: Some(Decimal::new(1_850, 2)),
                fees_charged: None,
                expected_balance: Decimal::new(100_000, 2),
                difference: Decimal::new(2_500, 2),
                model_interest: Decimal::new(1_667, 2),
                booked: vec![
                    booked(BookedKind::Interest, Decimal::new(1_850, 2)),
                    booked(BookedKind::Adjustment, Decimal::new(650, 2)),
                ],
            }),
            false,
        ),
    ]
}

/// What came with payments: a minimum payment set, payments and charges with and without their note.
fn money_events() -> Vec<Value> {
    vec![
        envelope(
            EventPayload::DebtUpdated(DebtUpdated {
                changes: DebtChanges {
                    minimum_payment: Some(Some(Decimal::new(4_050, 2))),
                    ..DebtChanges::default()
                },
            }),
            false,
        ),
        envelope(
            EventPayload::PaymentRecorded(PaymentRecorded {
                amount: Decimal::new(50_000, 2),
                paid_on: NaiveDate::from_ymd_opt(2026, 5, 1).unwrap(),
                note: Some("May".into()),
            }),
            true,
        ),
        envelope(
            EventPayload::PaymentRecorded(PaymentRecorded {
                amount: Decimal::new(1, 2),
                paid_on: NaiveDate::from_ymd_opt(2026, 5, 6).unwrap(),
                note: None,
            }),
            false,
        ),
        envelope(
            EventPayload::ChargeAdded(ChargeAdded {
                amount: Decimal::new(3_500, 2),
                charged_on: NaiveDate::from_ymd_opt(2026, 5, 2).unwrap(),
                kind: ChargeKind::Fee,
                note: Some("late fee".into()),
            }),
            false,
        ),
        envelope(
            EventPayload::ChargeAdded(ChargeAdded {
                amount: Decimal::new(1_234, 2),
                charged_on: NaiveDate::from_ymd_opt(2026, 5, 3).unwrap(),
                kind: ChargeKind::Interest,
                note: None,
            }),
            false,
        ),
    ]
}

#[test]
fn every_serialised_event_validates_against_the_envelope_schema() {
    let validator = published("envelope.schema.json");
    for event in every_kind_of_event() {
        let errors: Vec<String> = validator
            .iter_errors(&event)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{event}\n{errors:#?}");
    }
}

#[test]
fn every_data_payload_validates_against_its_own_schema() {
    for event in every_kind_of_event() {
        let name = format!("{}.data.schema.json", event["event_type"].as_str().unwrap());
        let validator = published(&name);
        assert!(
            validator.is_valid(&event["data"]),
            "{name}: {}",
            event["data"]
        );
    }
}

/// Breaks an event in one way.
type Mutation = fn(&mut Value);

#[test]
fn malformed_events_do_not_validate() {
    let validator = published("envelope.schema.json");
    let good = every_kind_of_event().swap_remove(1);
    let mutations: Vec<(&str, Mutation)> = vec![
        ("amount as a float", |e| {
            e["data"]["principal"] = json!(15000.0)
        }),
        ("amount with a comma", |e| {
            e["data"]["principal"] = json!("15000,00")
        }),
        ("unknown event type", |e| {
            e["event_type"] = json!("DebtRefinanced")
        }),
        ("data of another type", |e| {
            e["event_type"] = json!("UserCreated")
        }),
        ("missing event_id", |e| {
            e.as_object_mut().unwrap().remove("event_id");
        }),
        ("event_id not a UUID", |e| e["event_id"] = json!("42")),
        ("time not RFC 3339", |e| {
            e["occurred_at"] = json!("yesterday")
        }),
        ("unknown frequency", |e| {
            e["data"]["payment_frequency"] = json!("daily")
        }),
        ("missing data field", |e| {
            e["data"].as_object_mut().unwrap().remove("principal");
        }),
        ("unknown aggregate type", |e| {
            e["aggregate_type"] = json!("loan")
        }),
    ];
    for (what, mutate) in mutations {
        let mut event = good.clone();
        mutate(&mut event);
        assert!(
            !validator.is_valid(&event),
            "{what} must not validate: {event}"
        );
    }
}
