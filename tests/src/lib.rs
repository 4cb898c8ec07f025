//! Support for the workspace-level integration tests: one constructor per storage engine, each on a fresh,
//! isolated table or file, and builders for events and items the suites append.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use events::{
    AggregateType, DebtChanges, DebtCreated, DebtUpdated, EventEnvelope, EventPayload,
    PaymentFrequency, UserCreated,
};
use rust_decimal::Decimal;
use store::{Attributes, EventStore};
use store_dynamodb::DynamoStore;
use store_sqlite::SqliteStore;
use uuid::Uuid;

/// The DynamoDB endpoint of the test services, or a panic that says how to start them.
pub fn dynamodb_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| {
            panic!(
                "AWS_ENDPOINT_URL_DYNAMODB is not set: these tests need DynamoDB Local. \
                 Run them with `make test`, which installs and starts it on 127.0.0.1."
            )
        })
}

/// A store on a new table of its own in DynamoDB Local, so tests run in parallel without sharing state.
pub async fn dynamodb_store() -> Arc<dyn EventStore> {
    let endpoint = dynamodb_endpoint();
    assert!(
        endpoint.contains("127.0.0.1") || endpoint.contains("localhost"),
        "refusing to create test tables at {endpoint}: tests only run against DynamoDB Local on loopback"
    );
    let config = aws_env::load().await;
    let client = aws_sdk_dynamodb::Client::new(&config);
    let table = format!("test-{}", Uuid::new_v4().simple());
    store_dynamodb::create_table(&client, &table)
        .await
        .expect("create a test table in DynamoDB Local");
    Arc::new(DynamoStore::new(client, table))
}

/// A store in a new SQLite file (WAL mode, like the local server's) under the system's temp directory.
pub async fn sqlite_store() -> Arc<dyn EventStore> {
    let dir: PathBuf = std::env::temp_dir().join("debts-tests");
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let path = dir.join(format!("{}.sqlite", Uuid::new_v4().simple()));
    Arc::new(SqliteStore::open(path).expect("open a SQLite store"))
}

/// An envelope around `payload` for `aggregate_id` at `version`.
pub fn envelope(aggregate_id: &str, version: u64, payload: EventPayload) -> EventEnvelope {
    EventEnvelope {
        event_id: Uuid::new_v4(),
        schema_version: 1,
        aggregate_type: payload.aggregate_type(),
        aggregate_id: aggregate_id.to_owned(),
        version,
        occurred_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap()
            + chrono::Duration::seconds(version as i64),
        actor: "alice".to_owned(),
        correlation_id: Uuid::new_v4(),
        causation_id: None,
        payload,
    }
}

pub fn user_created(username: &str, email: &str) -> EventEnvelope {
    envelope(
        username,
        1,
        EventPayload::UserCreated(UserCreated {
            username: username.to_owned(),
            email: email.to_owned(),
            full_name: "Test User".to_owned(),
        }),
    )
}

pub fn debt_created(debt_id: &str, owner: &str) -> EventEnvelope {
    envelope(
        debt_id,
        1,
        EventPayload::DebtCreated(DebtCreated {
            owner: owner.to_owned(),
            debt_name: "Car loan".to_owned(),
            principal: Decimal::new(1_500_000, 2),
            interest_rate: Decimal::new(45, 1),
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 6, 1).unwrap(),
            payment_frequency: PaymentFrequency::Monthly,
            current_balance: Decimal::new(1_200_050, 2),
            creditor: Some("First Bank".to_owned()),
        }),
    )
}

/// An update of a debt whose serialised form is about `padding` bytes larger than a bare update.
pub fn debt_updated(debt_id: &str, version: u64, padding: usize) -> EventEnvelope {
    envelope(
        debt_id,
        version,
        EventPayload::DebtUpdated(DebtUpdated {
            changes: DebtChanges {
                current_balance: Some(Decimal::new(version as i64, 2)),
                creditor: Some(Some("x".repeat(padding))),
                ..DebtChanges::default()
            },
        }),
    )
}

/// Attributes from a JSON object literal.
pub fn attrs(value: serde_json::Value) -> Attributes {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("attributes must be an object, got {other}"),
    }
}

pub fn debt_ref(debt_id: &str) -> store::AggregateRef {
    store::AggregateRef {
        aggregate_type: AggregateType::Debt,
        aggregate_id: debt_id.to_owned(),
    }
}

pub fn user_ref(username: &str) -> store::AggregateRef {
    store::AggregateRef {
        aggregate_type: AggregateType::User,
        aggregate_id: username.to_owned(),
    }
}
