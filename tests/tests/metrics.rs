//! The custom metrics each function emits in CloudWatch's Embedded Metric Format, captured from the real
//! handlers: requests accepted and refused (by reason), projection lag, events published, and events counted
//! or redelivered. One test in its own binary, since the capture is process-wide.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::{Arc, Mutex};

use analytics::publish::{publish_batch, BusEntry, EventBus, PublishError};
use async_trait::async_trait;
use integration_tests::api::ApiRequest;
use integration_tests::handlers::{car_loan, username, Api};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_function_reports_its_outcomes_as_embedded_metrics() {
    let captured = Arc::new(Mutex::new(Vec::<Value>::new()));
    let sink = Arc::clone(&captured);
    lambda_support::metrics::send_to(move |line| {
        sink.lock()
            .unwrap()
            .push(serde_json::from_str(line).expect("one JSON object per line"));
    });

    let store = sqlite_test_store().await;
    let api = Api::new(store.clone());
    let alice = username();
    api.register(&alice).await;
    api.create_debt(&alice).await;
    let mut bad = car_loan();
    bad["principal"] = json!(-1);
    let refused = api
        .call(
            ApiRequest::new("POST /debts", "/debts")
                .as_user(&alice)
                .json(bad),
        )
        .await;
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
    // the batch's largest: the events above are at least 300 ms old when they are projected.
    let records = records_for_all_events(store.store.as_ref()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    projections::project_batch(&batch(records.clone()), store.store.as_ref()).await;
    let lag = named(&captured, "ProjectionLag");
    assert_eq!(lag.len(), 1);
    let reported = lag[0]["ProjectionLag"].as_f64().unwrap();
    // And not more than the test has run for (setting up the events took well under 5 s).
    let at_most = started.elapsed().as_secs_f64() * 1000.0 + 5000.0;
    assert!((300.0..at_most).contains(&reported), "{lag:?}");
    assert_eq!(
        lag[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
        "Milliseconds"
    );

    // The publisher counts what it put; analytics, what it counted and what came again.
    let events =
        analytics::publish::envelopes(&records_with_images(store.store.as_ref()).await).unwrap();
    assert!(!events.is_empty());
    let response = publish_batch(
        &batch(records_with_images(store.store.as_ref()).await),
        &AcceptingBus,
    )
    .await;
    assert!(response.batch_item_failures.is_empty());
    let published = named(&captured, "EventsPublished");
    assert_eq!(published[0]["EventsPublished"], events.len() as f64);
    let consumer = integration_tests::sqlite_store().await;
    analytics::record_event(consumer.as_ref(), &events[0])
        .await
        .unwrap();
    analytics::record_event(consumer.as_ref(), &events[0])
        .await
        .unwrap();
    assert_eq!(named(&captured, "EventsCounted").len(), 1);
    assert_eq!(named(&captured, "EventsRedelivered").len(), 1);
}

/// Stream records that carry each event's new image, as DynamoDB Streams delivers them to the publisher.
async fn records_with_images(
    store: &dyn store::EventStore,
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
