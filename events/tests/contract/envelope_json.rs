//! The serialised envelope is the contract consumers read: a flat object with `event_type` and `data`,
//! amounts as decimal strings, times in RFC 3339 UTC.

use chrono::{TimeZone, Utc};
use events::{AggregateType, DebtChanges, DebtUpdated, EventEnvelope, EventPayload, Upcaster};
use rust_decimal::Decimal;
use serde_json::json;
use uuid::Uuid;

fn update_event(changes: DebtChanges) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::from_u128(1),
        schema_version: 2,
        aggregate_type: AggregateType::Debt,
        aggregate_id: Uuid::from_u128(2).to_string(),
        version: 3,
        occurred_at: Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap(),
        actor: "alice".into(),
        correlation_id: Uuid::from_u128(4),
        client_correlation_id: None,
        causation_id: None,
        payload: EventPayload::DebtUpdated(DebtUpdated { changes }),
    }
}

#[test]
fn an_update_serialises_flat_with_only_what_changed() {
    let event = update_event(DebtChanges {
        current_balance: Some(Decimal::new(99_950, 2)),
        creditor: Some(None),
        ..DebtChanges::default()
    });
    assert_eq!(
        serde_json::to_value(&event).unwrap(),
        json!({
            "event_id": "00000000-0000-0000-0000-000000000001",
            "schema_version": 2,
            "aggregate_type": "debt",
            "aggregate_id": "00000000-0000-0000-0000-000000000002",
            "version": 3,
            "occurred_at": "2026-03-01T12:00:00Z",
            "actor": "alice",
            "correlation_id": "00000000-0000-0000-0000-000000000004",
            "event_type": "DebtUpdated",
            "data": { "changes": { "current_balance": "999.50", "creditor": null } }
        })
    );
}

#[test]
fn a_cleared_creditor_survives_the_round_trip_and_differs_from_an_untouched_one() {
    let cleared = update_event(DebtChanges {
        creditor: Some(None),
        ..DebtChanges::default()
    });
    let untouched = update_event(DebtChanges {
        debt_name: Some("Loan".into()),
        ..DebtChanges::default()
    });
    for event in [cleared, untouched] {
        let back = Upcaster::default()
            .decode(serde_json::to_value(&event).unwrap())
            .unwrap();
        assert_eq!(back, event);
    }
}

#[test]
fn a_newer_writers_additive_field_is_ignored_not_fatal() {
    let event = update_event(DebtChanges {
        debt_name: Some("Loan".into()),
        ..DebtChanges::default()
    });
    let mut stored = serde_json::to_value(&event).unwrap();
    stored["data"]["changes"]["currency"] = json!("EUR");
    stored["trace_id"] = json!("abc");
    assert_eq!(Upcaster::default().decode(stored).unwrap(), event);
}

#[test]
fn a_missing_required_field_is_an_error() {
    let mut stored = serde_json::to_value(update_event(DebtChanges::default())).unwrap();
    stored["data"].as_object_mut().unwrap().remove("changes");
    assert!(Upcaster::default().decode(stored).is_err());
}
