//! The way out, end to end: events committed to DynamoDB Local come off its real stream, `publish-events`
//! puts them on an EventBridge bus (moto), and a subscriber's rule, matching on `detail-type`, delivers them to
//! its SQS queue. A bus that refuses entries (as `PutEvents` may, entry by entry) gets them again; what a
//! Lambda-level retry puts twice, the analytics consumer counts once.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use analytics::publish::{BusEntry, EventBridgeBus, EventBus, PublishError, EVENT_SOURCE};
use async_trait::async_trait;
use aws_lambda_events::dynamodb::{Event, EventRecord};
use aws_lambda_events::eventbridge::EventBridgeEvent;
use event_functions::BusContinuation;
use events::EventEnvelope;
use integration_tests::lambdas::publish_batch;
use integration_tests::projection::{drain, stream_poller};
use integration_tests::{debt_created, debt_updated, dynamodb_table, sqlite_store, user_created};
use projections::replay_job::{
    ReplayAnswer, ReplayRequest, CONTINUATION_DETAIL_TYPE, CONTINUATION_SOURCE,
};
use serde_json::{json, Value};
use store::{AppendRequest, EventLog};
use uuid::Uuid;

/// A bus and three subscribers in moto: one rule for every event type, one for deletions only, and one for
/// replay jobs' continuations (the stack's rule that invokes `replay`).
struct Moto {
    bus: EventBridgeBus,
    events: aws_sdk_eventbridge::Client,
    bus_name: String,
    all: String,
    deletions: String,
    continuations: String,
    sqs: aws_sdk_sqs::Client,
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> (String, String) {
    let url = sqs.create_queue().queue_name(name).send().await.unwrap();
    let url = url.queue_url().unwrap().to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    (url, arn)
}

impl Moto {
    async fn new() -> Self {
        let config = aws_clients::sdk_config().await;
        let events = integration_tests::eventbridge().await;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let run = Uuid::new_v4().simple().to_string();
        let bus_name = format!("bus-{run}");
        events
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .unwrap();
        let mut urls = Vec::new();
        for (rule, pattern) in [
            (
                "all",
                json!({"source": [EVENT_SOURCE], "detail-type": events::EventPayload::TYPES}),
            ),
            (
                "deletions",
                json!({"source": [EVENT_SOURCE], "detail-type": ["DebtDeleted"]}),
            ),
            (
                "continuations",
                json!({"source": [CONTINUATION_SOURCE], "detail-type": [CONTINUATION_DETAIL_TYPE]}),
            ),
        ] {
            let (url, arn) = queue(&sqs, &format!("{rule}-{run}")).await;
            events
                .put_rule()
                .name(format!("{rule}-{run}"))
                .event_bus_name(&bus_name)
                .event_pattern(pattern.to_string())
                .send()
                .await
                .unwrap();
            let target = aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .unwrap();
            events
                .put_targets()
                .rule(format!("{rule}-{run}"))
                .event_bus_name(&bus_name)
                .targets(target)
                .send()
                .await
                .unwrap();
            urls.push(url);
        }
        Moto {
            bus: EventBridgeBus::new(events.clone(), bus_name.clone()),
            events,
            bus_name,
            continuations: urls.pop().unwrap(),
            deletions: urls.pop().unwrap(),
            all: urls.pop().unwrap(),
            sqs,
        }
    }

    /// Every bus event the queue received, once `expected` have arrived (a guard gives up after two minutes).
    async fn received(&self, url: &str, expected: usize) -> Vec<EventBridgeEvent<Value>> {
        let mut received = Vec::new();
        let started = Instant::now();
        while received.len() < expected && started.elapsed() < Duration::from_secs(120) {
            let output = self
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            for message in output.messages() {
                received.push(serde_json::from_str(message.body().unwrap()).expect("a bus event"));
                self.sqs
                    .delete_message()
                    .queue_url(url)
                    .receipt_handle(message.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        // Anything beyond `expected` would be a duplicate: look once more. (moto delivers a rule's targets within
        // `PutEvents`, so whatever was sent is in the queue by now.)
        let output = self
            .sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        for message in output.messages() {
            received.push(serde_json::from_str(message.body().unwrap()).unwrap());
        }
        received
    }
}

/// Three users, a debt each, an update of each debt, a payment and a charge on one, a deletion of another, and
/// the third user's erasure (with the redaction record of an event written in clear): 14 events, committed
/// (all on one UTC day, as the builders date them).
/// A payment, a charge, a rate step, a statement and each notice, for one debt.
fn money_events() -> Vec<events::EventPayload> {
    let day = |m, d| chrono::NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    let cents = |c| rust_decimal::Decimal::new(c, 2);
    vec![
        events::EventPayload::PaymentRecorded(events::PaymentRecorded {
            amount: cents(5_000),
            paid_on: day(1, 2),
            note: None,
        }),
        events::EventPayload::ChargeAdded(events::ChargeAdded {
            amount: cents(1_250),
            charged_on: day(1, 2),
            kind: events::ChargeKind::Interest,
            note: None,
        }),
        events::EventPayload::RateChanged(events::RateChanged {
            rate: cents(1_999),
            effective_on: day(2, 1),
            ends_on: None,
            kind: events::RateKind::Standard,
        }),
        events::EventPayload::StatementRecorded(events::StatementRecorded {
            closing_date: day(2, 1),
            statement_balance: cents(1_160_300),
            minimum_due: cents(3_500),
            due_date: day(2, 22),
            interest_charged: None,
            fees_charged: None,
            expected_balance: cents(1_196_300),
            difference: cents(-36_000),
            model_interest: cents(4_486),
            booked: vec![events::BookedCharge {
                kind: events::BookedKind::Adjustment,
                amount: cents(-36_000),
            }],
        }),
        events::EventPayload::PaymentDueSoon(events::PaymentDueSoon {
            due_on: day(2, 22),
            minimum_due: Some(cents(3_500)),
            paid: cents(0),
            days_before: 3,
        }),
        events::EventPayload::PaymentMissed(events::PaymentMissed {
            due_on: day(2, 22),
            minimum_due: cents(3_500),
            paid: cents(0),
        }),
        events::EventPayload::PromoEndingSoon(events::PromoEndingSoon {
            ends_on: day(6, 30),
            days_before: 60,
            rate_after: cents(1_999),
        }),
    ]
}

/// A plan adopted over the one debt `debt_id`: paid off in three months.
pub(crate) fn plan_adopted(debt_id: &str) -> events::EventPayload {
    let cents = |c| rust_decimal::Decimal::new(c, 2);
    events::EventPayload::PlanAdopted(events::PlanAdopted {
        strategy: events::PlanStrategy::Avalanche,
        monthly_budget: cents(50_000),
        order: vec![debt_id.to_owned()],
        budget_changes: Vec::new(),
        extra: vec![events::MonthAmount {
            month: "2026-02".into(),
            amount: cents(10_000),
        }],
        start: "2026-02".into(),
        starting_total: cents(120_000),
        planned_totals: vec![cents(72_000), cents(23_100), cents(0)],
        total_interest: cents(3_100),
    })
}

async fn commit_script(store: &dyn EventLog) -> Vec<EventEnvelope> {
    let mut committed = Vec::new();
    for n in 0..3 {
        let user = format!("bus_{n}_{}", &Uuid::new_v4().simple().to_string()[..6]);
        let debt = Uuid::new_v4().to_string();
        let mut registered = vec![user_created(&user, &format!("{user}@example.com"))];
        if n == 1 {
            let updated = events::EventPayload::UserUpdated(events::UserUpdated {
                changes: events::UserChanges {
                    time_zone: Some("Europe/Paris".into()),
                    notifications: Some(events::NotificationSettings::default()),
                    calendar_feed: Some(Some(Uuid::from_u128(7))),
                },
            });
            registered.push(integration_tests::envelope(&user, 2, updated));
            registered.push(integration_tests::envelope(&user, 3, plan_adopted(&debt)));
        }
        if n == 2 {
            let erased = events::EventPayload::UserErased(events::UserErased {
                debt_ids: vec![debt.clone()],
            });
            let redacted = events::EventPayload::LegacyEventRedacted(events::LegacyEventRedacted {
                events: vec![events::RedactedEvent {
                    aggregate_type: events::AggregateType::Debt,
                    aggregate_id: debt.clone(),
                    version: 1,
                    event_id: Uuid::new_v4(),
                    fields: vec!["debt_name".into()],
                }],
            });
            registered.push(integration_tests::envelope(&user, 2, erased));
            registered.push(integration_tests::envelope(&user, 3, redacted));
        }
        let mut history = vec![debt_created(&debt, &user), debt_updated(&debt, 2, 0)];
        if n == 0 {
            let deleted = events::EventPayload::DebtDeleted(events::DebtDeleted { reason: None });
            history.push(integration_tests::envelope(&debt, 3, deleted));
        }
        if n == 1 {
            for (version, payload) in (3..).zip(money_events()) {
                history.push(integration_tests::envelope(&debt, version, payload));
            }
        }
        for events in [registered, history] {
            store
                .append(AppendRequest::new(0, events.clone()))
                .await
                .unwrap();
            committed.extend(events);
        }
    }
    committed
}

/// A fresh bus with its subscribers, the script committed to a fresh table, and its stream's records.
async fn committed_on_the_stream() -> (Moto, Vec<EventEnvelope>, Vec<EventRecord>) {
    let moto = Moto::new().await;
    let table = dynamodb_table().await;
    let committed = commit_script(&table).await;
    let records = drain(&mut stream_poller(&table).await).await;
    (moto, committed, records)
}

/// An unfinished replay job puts its continuation on the bus, where the stack's rule (source and detail-type
/// as here) hands it to the `replay` function; the event's `detail` is a request that resumes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_moto_an_unfinished_replay_job_continues_through_the_bus() {
    let moto = Moto::new().await;
    let table = dynamodb_table().await;
    let stores = store::Stores::of(std::sync::Arc::new(table));
    commit_script(stores.events.as_ref()).await;
    let continuation = BusContinuation::new(moto.events.clone(), &moto.bus_name);
    let mut options = projections::replay::ReplayOptions::new(projections::replay::Scope::All);
    options.segments = 2;
    let stop_at_once: projections::replay_job::KeepGoing = std::sync::Arc::new(|| false);
    let answer = integration_tests::lambdas::replay_request(
        &stores,
        ReplayRequest::Start(options),
        stop_at_once,
        &continuation,
    )
    .await
    .unwrap();
    let ReplayAnswer::Job(status) = answer else {
        panic!("{answer:?}")
    };
    assert!(!status.finished);
    let [event] = &moto.received(&moto.continuations, 1).await[..] else {
        panic!("one continuation")
    };
    assert_eq!(event.detail_type, CONTINUATION_DETAIL_TYPE);
    let request: ReplayRequest =
        serde_json::from_value(serde_json::to_value(event).unwrap()).unwrap();
    assert_eq!(
        request,
        ReplayRequest::Continue {
            detail: projections::replay_job::JobRef {
                job_id: status.job_id.clone()
            }
        }
    );
    let keep_going: projections::replay_job::KeepGoing = std::sync::Arc::new(|| true);
    let answer =
        integration_tests::lambdas::replay_request(&stores, request, keep_going, &continuation)
            .await
            .unwrap();
    let ReplayAnswer::Job(done) = answer else {
        panic!("{answer:?}")
    };
    assert!(done.finished, "{done:?}");
    assert_eq!(done.totals.checked, 6, "{done:?}");
    assert!(moto.received(&moto.continuations, 0).await.is_empty());
}

/// The stream's filter can only name the `dynamodb` key, so the publisher sees an event item's every change:
/// it publishes the insertion and nothing else (a legacy event redacted in place is a `MODIFY`).
#[test]
fn only_an_event_items_insertion_is_published() {
    let event = debt_created(&Uuid::new_v4().to_string(), "alice");
    let mut record = integration_tests::projection::stream_record(&event, 1);
    assert!(analytics::publish::envelope_of(&record).unwrap().is_some());
    for change in ["MODIFY", "REMOVE"] {
        record.event_name = change.to_owned();
        assert!(
            analytics::publish::envelope_of(&record).unwrap().is_none(),
            "{change}"
        );
    }
}

fn batch(records: Vec<EventRecord>) -> Event {
    let mut event = Event::default();
    event.records = records;
    event
}

fn ids(events: &[EventBridgeEvent<Value>]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e.detail["event_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_moto_a_committed_event_reaches_a_rule_target_with_its_type_as_detail_type() {
    let (moto, committed, records) = committed_on_the_stream().await;
    assert_eq!(
        records.len(),
        committed.len(),
        "one stream record per event"
    );

    let response = publish_batch(&batch(records), &moto.bus).await;
    assert!(response.batch_item_failures.is_empty());

    let delivered = moto.received(&moto.all, committed.len()).await;
    assert_eq!(delivered.len(), committed.len(), "each event once");
    let types: std::collections::BTreeSet<&str> =
        delivered.iter().map(|e| e.detail_type.as_str()).collect();
    assert_eq!(
        types.len(),
        events::EventPayload::TYPES.len(),
        "every type: {types:?}"
    );
    let by_id: BTreeMap<String, &EventEnvelope> = committed
        .iter()
        .map(|e| (e.event_id.to_string(), e))
        .collect();
    for event in &delivered {
        let envelope = by_id[event.detail["event_id"].as_str().unwrap()];
        assert_eq!(
            event.detail_type,
            envelope.event_type(),
            "detail-type is the event type"
        );
        assert_eq!(event.source, EVENT_SOURCE);
        let detail: EventEnvelope = serde_json::from_value(event.detail.clone()).unwrap();
        assert_eq!(&detail, envelope, "detail is the committed envelope");
    }
    let deletions = moto.received(&moto.deletions, 1).await;
    assert_eq!(
        deletions.len(),
        1,
        "a rule on detail-type sees only its type"
    );
    assert_eq!(deletions[0].detail_type, "DebtDeleted");
}

/// The bus in front of moto refuses chosen entries the way `PutEvents` reports a partial failure.
struct RefusingBus<'a> {
    inner: &'a EventBridgeBus,
    /// Refuse each entry whose detail-type is listed, this many times (`usize::MAX`: always).
    refuse: BTreeMap<String, usize>,
    refused: Mutex<BTreeMap<String, usize>>,
    calls: AtomicUsize,
}

impl RefusingBus<'_> {
    /// Which entries to refuse this time (their answers) and which to forward to moto.
    fn choose(&self, entries: &[BusEntry]) -> (Vec<Option<String>>, Vec<(usize, BusEntry)>) {
        let mut refused = self.refused.lock().unwrap();
        let mut answers = vec![None; entries.len()];
        let mut forwarded = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let limit = self.refuse.get(&entry.detail_type).copied().unwrap_or(0);
            let times = refused.entry(entry.detail.clone()).or_insert(0);
            if *times < limit {
                *times += 1;
                answers[i] = Some("ThrottlingException".to_owned());
            } else {
                forwarded.push((i, entry.clone()));
            }
        }
        (answers, forwarded)
    }
}

#[async_trait]
impl EventBus for RefusingBus<'_> {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, PublishError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (mut answers, forwarded) = self.choose(entries);
        let sent: Vec<BusEntry> = forwarded.iter().map(|(_, e)| e.clone()).collect();
        if !sent.is_empty() {
            for ((i, _), answer) in forwarded.iter().zip(self.inner.put(&sent).await?) {
                answers[*i] = answer;
            }
        }
        Ok(answers)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_moto_refused_entries_are_retried_and_counted_once() {
    let (moto, committed, records) = committed_on_the_stream().await;

    // Updates are refused twice, then accepted: retried within the invocation, nothing reported.
    let flaky = RefusingBus {
        inner: &moto.bus,
        refuse: BTreeMap::from([("DebtUpdated".to_owned(), 2)]),
        refused: Mutex::new(BTreeMap::new()),
        calls: AtomicUsize::new(0),
    };
    let response = publish_batch(&batch(records.clone()), &flaky).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "{:?}",
        response.batch_item_failures
    );
    assert!(
        flaky.calls.load(Ordering::SeqCst) >= 3,
        "refused entries were put again"
    );
    let first = moto.received(&moto.all, committed.len()).await;
    assert_eq!(ids(&first).len(), committed.len());
    assert_eq!(
        ids(&first).into_iter().collect::<BTreeSet<_>>().len(),
        committed.len(),
        "no duplicate"
    );

    // Deletions are always refused: their records are reported, and Lambda retries the batch from the first
    // of them, putting again what was already accepted after it.
    let stubborn = RefusingBus {
        inner: &moto.bus,
        refuse: BTreeMap::from([("DebtDeleted".to_owned(), usize::MAX)]),
        refused: Mutex::new(BTreeMap::new()),
        calls: AtomicUsize::new(0),
    };
    let response = publish_batch(&batch(records.clone()), &stubborn).await;
    let reported: Vec<String> = response
        .batch_item_failures
        .iter()
        .filter_map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(reported.len(), 1, "only the deletion's record is reported");
    let from = records
        .iter()
        .position(|r| r.change.sequence_number.as_ref() == Some(&reported[0]))
        .unwrap();
    let retry = publish_batch(&batch(records[from..].to_vec()), &moto.bus).await;
    assert!(retry.batch_item_failures.is_empty());
    let redelivered = moto.received(&moto.all, committed.len()).await;

    // The consumer sees every delivery, duplicates included, and counts each event once.
    let deliveries: Vec<EventBridgeEvent<Value>> = first.into_iter().chain(redelivered).collect();
    assert!(
        deliveries.len() > committed.len() + 1,
        "the retry put some events twice"
    );
    let consumer = store::Stores::of(sqlite_store().await);
    for event in deliveries {
        integration_tests::lambdas::handle_bus_event(&consumer, event)
            .await
            .unwrap();
    }
    let day = committed[0].occurred_at.date_naive();
    let counts = analytics::daily_counts(consumer.records.as_ref(), day)
        .await
        .unwrap();
    let of = |kind: &str| committed.iter().filter(|e| e.event_type() == kind).count() as u64;
    assert_eq!(
        (
            counts.users_created,
            counts.debts_created,
            counts.debts_updated,
            counts.debts_deleted
        ),
        (
            of("UserCreated"),
            of("DebtCreated"),
            of("DebtUpdated"),
            of("DebtDeleted")
        )
    );
}
