//! The custom metrics each function emits in CloudWatch's Embedded Metric Format, captured from the real
//! handlers: requests accepted and refused (by reason), projection lag, events published, and events counted
//! or redelivered. The capture is this test's thread's, so the other tests of the binary cannot write into it.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use analytics::publish::{BusEntry, EventBus, PublishError};
use async_trait::async_trait;
use integration_tests::handlers::{car_loan, username, Api};
use integration_tests::lambdas::publish_batch;
use integration_tests::projection::{batch, records_for_all_events};
use integration_tests::sqlite_test_store;
use lambda_support::metrics::NAMESPACE;
use serde_json::{json, Value};

/// Accepts every entry.
struct AcceptingBus;

#[async_trait]
impl EventBus for AcceptingBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, PublishError> {
        Ok(vec![None; entries.len()])
    }
}

/// The captured documents naming `metric`, after checking each is a well-formed EMF document.
fn named(captured: &Mutex<Vec<Value>>, metric: &str) -> Vec<Value> {
    let documents = captured.lock().unwrap();
    documents
        .iter()
        .filter(|doc| doc.get(metric).is_some())
        .inspect(|doc| {
            let directive = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(directive["Namespace"], NAMESPACE);
            assert!(doc["_aws"]["Timestamp"].as_i64().unwrap() > 0);
            for dimension in directive["Dimensions"][0].as_array().unwrap() {
                assert!(doc[dimension.as_str().unwrap()].is_string(), "{doc}");
            }
        })
        .cloned()
        .collect()
}

/// The projector's clock in this test: nanoseconds since the epoch.
static NOW: AtomicI64 = AtomicI64::new(0);

fn test_clock() -> chrono::DateTime<chrono::Utc> {
    chrono::TimeZone::timestamp_nanos(&chrono::Utc, NOW.load(Ordering::SeqCst))
}

// One thread, so that every document the handlers emit is emitted on the capturing thread.
#[tokio::test(flavor = "current_thread")]
async fn every_function_reports_its_outcomes_as_embedded_metrics() {
    let captured = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink = Arc::clone(&captured);
    let _capture = lambda_support::metrics::capture_on_this_thread(move |line| {
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(line).expect("one JSON object per line"));
    });

    let store = sqlite_test_store().await;
    let api = Api::new(store.clone());
    let alice = username();
    api.register(&alice).await;
    let debt_id = api.new_debt_id(&alice).await;
    let mut bad = car_loan();
    bad["principal"] = json!(-1);
    let refused = api.post_debt(&alice, bad).await;
    assert_eq!(refused.status, 422);

    let accepted = named(&captured, "Accepted");
    assert!(accepted
        .iter()
        .any(|d| d["Function"] == "create-debt" && d["Accepted"] == 1.0));
    assert!(accepted.iter().any(|d| d["Function"] == "create-user"));
    let refusals = named(&captured, "Refused");
    let reason = refused.body["type"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    assert_eq!(refusals[0]["Function"], "create-debt");
    assert_eq!(refusals[0]["Reason"], reason);

    // The projector measures its lag from each read item's newest event to the item's write, and reports
    // the batch's largest: on the projector's clock, the writes happen 300 ms after the newest event.
    let records = records_for_all_events(store.stores.events.as_ref()).await;
    let newest_of = |aggregate: store::AggregateRef| {
        let events = Arc::clone(&store.stores.events);
        async move {
            let history = events.load_events(&aggregate, 0).await.unwrap();
            history.last().unwrap().occurred_at
        }
    };
    let user_newest = newest_of(store::AggregateRef::user(alice.clone())).await;
    let debt_newest = newest_of(store::AggregateRef::debt(debt_id.clone())).await;
    let now = user_newest.max(debt_newest) + chrono::Duration::milliseconds(300);
    NOW.store(now.timestamp_nanos_opt().unwrap(), Ordering::SeqCst);
    let watch = projections::projector::LagWatch {
        clock: test_clock,
        warn_after: chrono::Duration::seconds(1),
    };
    integration_tests::lambdas::project_batch_watched(
        &batch(records.clone()),
        &store.stores,
        &watch,
    )
    .await;
    let lag = named(&captured, "ProjectionLag");
    assert_eq!(lag.len(), 1);
    // The batch's largest: the user's item, whose newest event is the older of the two.
    let largest = (now - user_newest.min(debt_newest)).num_milliseconds();
    assert_eq!(
        lag[0]["ProjectionLag"].as_f64(),
        Some(largest as f64),
        "{lag:?}"
    );
    assert_eq!(
        lag[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Milliseconds"
    );

    // The publisher counts what it put; analytics, what it counted and what came again.
    let events =
        analytics::publish::envelopes(&records_with_images(store.engine.as_ref()).await).unwrap();
    assert!(!events.is_empty());
    let response = publish_batch(
        &batch(records_with_images(store.engine.as_ref()).await),
        &AcceptingBus,
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let published = named(&captured, "EventsPublished");
    assert_eq!(published[0]["EventsPublished"], events.len() as f64);
    let consumer = store::Stores::of(integration_tests::sqlite_store().await);
    integration_tests::lambdas::record_event(&consumer, &events[0])
        .await
        .unwrap();
    integration_tests::lambdas::record_event(&consumer, &events[0])
        .await
        .unwrap();
    assert_eq!(named(&captured, "EventsCounted").len(), 1);
    assert_eq!(named(&captured, "EventsRedelivered").len(), 1);
}

/// Stream records that carry each event's new image, as DynamoDB Streams delivers them to the publisher.
async fn records_with_images(
    store: &dyn store::Engine,
) -> Vec<aws_lambda_events::dynamodb::EventRecord> {
    let mut records = records_for_all_events(store).await;
    for record in &mut records {
        let key = projections::projector::event_key_of(record).expect("an event record");
        let item = store.get_item(&key).await.unwrap().unwrap();
        let mut image = Value::Object(item.attributes);
        image["PK"] = json!(key.pk);
        image["SK"] = json!(key.sk);
        record.change.new_image = serde_dynamo::to_item(image).unwrap();
    }
    records
}
