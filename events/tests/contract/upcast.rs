//! A stored `schema_version: 1` event keeps loading after its type moves to version 2: the fixture below was
//! written by version 1 of `DebtCreated`; a test-only version 2 renames `interest_rate` to `annual_rate_percent`
//! and adds `currency`, and the upcaster lifts the fixture into it.

use chrono::{DateTime, Utc};
use events::{DecodeError, EventEnvelope, Personal, Upcaster};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{json, Value};

const V1_FIXTURE: &str = include_str!("../fixtures/debt_created_v1.json");

/// What `DebtCreated` data looks like at the hypothetical version 2.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DebtCreatedV2 {
    owner: String,
    debt_name: String,
    principal: Decimal,
    annual_rate_percent: Decimal,
    currency: String,
    start_date: chrono::NaiveDate,
    payment_frequency: String,
    current_balance: Decimal,
    creditor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EnvelopeV2 {
    schema_version: u32,
    version: u64,
    occurred_at: DateTime<Utc>,
    data: DebtCreatedV2,
}

fn debt_created_at_v2(event_type: &str) -> Option<u32> {
    match event_type {
        "DebtCreated" => Some(2),
        other => events::EventPayload::current_schema_version(other),
    }
}

fn v1_to_v2(mut data: Value) -> Result<Value, String> {
    let object = data.as_object_mut().ok_or("data is not an object")?;
    let rate = object
        .remove("interest_rate")
        .ok_or("interest_rate missing")?;
    object.insert("annual_rate_percent".into(), rate);
    object.insert("currency".into(), json!("USD"));
    Ok(data)
}

fn fixture() -> Value {
    serde_json::from_str(V1_FIXTURE).unwrap()
}

#[test]
fn version_1_fixture_loads_as_version_2() {
    let upcaster =
        Upcaster::with_current_versions(debt_created_at_v2).step("DebtCreated", 1, v1_to_v2);
    let event: EnvelopeV2 = upcaster.decode_as(fixture()).expect("v1 upcasts to v2");
    assert_eq!(event.schema_version, 2);
    assert_eq!(event.version, 1);
    assert_eq!(event.occurred_at.to_rfc3339(), "2026-01-15T09:30:00+00:00");
    assert_eq!(event.data.annual_rate_percent, Decimal::new(45, 1));
    assert_eq!(event.data.currency, "USD");
    assert_eq!(event.data.principal, Decimal::new(1_500_000, 2));
    assert_eq!(event.data.owner, "alice");
    assert_eq!(event.data.debt_name, "Car loan");
    assert_eq!(event.data.payment_frequency, "monthly");
    assert_eq!(event.data.current_balance, Decimal::new(1_200_050, 2));
    assert_eq!(event.data.creditor.as_deref(), Some("First Bank"));
    assert_eq!(event.data.start_date.to_string(), "2025-06-01");
}

#[test]
fn a_missing_step_is_a_typed_error_not_a_misread() {
    let upcaster = Upcaster::with_current_versions(debt_created_at_v2);
    match upcaster.decode_as::<EnvelopeV2>(fixture()) {
        Err(DecodeError::MissingUpcaster { event_type, from }) => {
            assert_eq!((event_type.as_str(), from), ("DebtCreated", 1));
        }
        other => panic!("expected MissingUpcaster, got {other:?}"),
    }
}

#[test]
fn the_production_chain_loads_the_fixture_with_its_personal_fields_in_clear() {
    let event: EventEnvelope = Upcaster::default().decode(fixture()).unwrap();
    assert_eq!(event.event_type(), "DebtCreated");
    // Version 2 sealed the personal fields; a version 1 event is read with them in clear, as written.
    assert_eq!(event.schema_version, 2);
    // Written before minimum_payment existed: the tolerant reader takes it as not given.
    assert!(fixture()["data"].get("minimum_payment").is_none());
    let events::EventPayload::DebtCreated(created) = event.payload else {
        panic!("a DebtCreated")
    };
    assert_eq!(created.minimum_payment, None);
    assert_eq!(created.creditor, Some(Personal::from("First Bank")));
    assert_eq!(created.debt_name, Personal::from("Car loan"));
}

#[test]
fn an_event_from_a_newer_build_is_refused() {
    let mut stored = fixture();
    stored["schema_version"] = json!(9);
    assert!(matches!(
        Upcaster::default().decode(stored),
        Err(DecodeError::FromTheFuture {
            found: 9,
            current: 2,
            ..
        })
    ));
}

#[test]
fn an_unknown_event_type_is_refused() {
    let mut stored = fixture();
    stored["event_type"] = json!("DebtRefinanced");
    assert!(
        matches!(Upcaster::default().decode(stored), Err(DecodeError::UnknownType(t)) if t == "DebtRefinanced")
    );
}
