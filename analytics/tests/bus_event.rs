//! The bus event `docs/events.md` shows a consumer is exactly what the `analytics` handler reads: the sample
//! is taken from the document (plus the envelope fields EventBridge always adds), handled on SQLite, and
//! counted once however often it arrives.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::NaiveDate;
use serde_json::Value;
use store_sqlite::SqliteStore;

/// The JSON block after "Your function then receives, for example:" in docs/events.md.
fn documented_sample() -> Value {
    let doc = include_str!("../../docs/events.md");
    let start = doc
        .find("Your function then receives, for example:")
        .expect("docs/events.md shows a delivered bus event");
    let block = &doc[start..];
    let json_start = block.find("```json\n").expect("a json block") + "```json\n".len();
    let json_end = json_start + block[json_start..].find("```").expect("the block ends");
    serde_json::from_str(&block[json_start..json_end]).expect("the sample is valid JSON")
}

#[tokio::test]
async fn the_documented_bus_event_is_counted_once() {
    let mut sample = documented_sample();
    // Fields every EventBridge event carries, left out of the document for brevity.
    for (field, value) in [
        ("version", "0"),
        ("id", "6a7e8feb-b491-4cf7-a9f1-bf3703467718"),
        ("account", "123456789012"),
        ("region", "eu-west-1"),
    ] {
        sample[field] = Value::from(value);
    }
    sample["resources"] = Value::Array(Vec::new());
    let event: EventBridgeEvent<Value> =
        serde_json::from_value(sample).expect("an EventBridge event");
    assert_eq!(
        event.detail_type,
        event.detail["event_type"].as_str().unwrap()
    );

    let store = store::Stores::of(std::sync::Arc::new(SqliteStore::in_memory().unwrap()));
    for _ in 0..3 {
        analytics::handle_bus_event(&store, event.clone())
            .await
            .unwrap();
    }
    let day = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let counts = analytics::daily_counts(store.records.as_ref(), day)
        .await
        .unwrap();
    assert_eq!((counts.debts_deleted, counts.debts_created), (1, 0));

    let mut broken = event;
    broken.detail["event_type"] = Value::from("DebtPaid");
    let refused = analytics::handle_bus_event(&store, broken).await;
    assert!(
        matches!(refused, Err(analytics::AnalyticsError::Decode(_))),
        "{refused:?}"
    );
}
