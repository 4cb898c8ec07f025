//! The notice sweep (issue 32) given/when/then on every engine: debts recorded through the routes, their
//! time-index entries written as the projector writes them, and the sweep run at chosen instants (a test
//! clock, never a sleep). Exactly one notice per debt, date, kind and offset under a sweep run twice, two
//! at once and after an outage; none for a debt paid in time; the owner's morning in their own zone.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{DateTime, Duration, NaiveTime, Utc};
use integration_tests::api::ApiRequest;
use integration_tests::handlers::{username, Api};
use integration_tests::lambdas::{project_batch, sweep_notices};
use integration_tests::projection::{batch, stream_record};
use integration_tests::{
    debt_ref, dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore,
};
use serde_json::{json, Value};
use store::notice_index::{entries_query, NoticeEntry, NoticeHour, NOTICE_SHARDS};

/// Today (UTC) plus `days`, as the API writes a date.
fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

/// Today (UTC) plus `days`, at `time` UTC.
fn at(days: i64, time: &str) -> DateTime<Utc> {
    let time = NaiveTime::parse_from_str(time, "%H:%M").unwrap();
    (Utc::now().date_naive() + Duration::days(days))
        .and_time(time)
        .and_utc()
}

/// A debt whose statement closed yesterday with a minimum of 50.00 due in ten days.
async fn debt_due_in_ten_days(api: &Api, owner: &str) -> String {
    let debt_id = api.new_debt_id(owner).await;
    let answer = api
        .on_debt(
            "POST /debts/{debt_id}/statements",
            &debt_id,
            owner,
            json!({"closing_date": day(-1), "statement_balance": "12000.50", "minimum_due": "50",
                   "due_date": day(10)}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    debt_id
}

/// The notices in the debt's log, each as `(type, data)`.
async fn notices(api: &Api, debt_id: &str) -> Vec<(String, Value)> {
    api.store
        .history(&debt_ref(debt_id))
        .await
        .into_iter()
        .filter(|e| domain::debt::notice_kind(&e.payload).is_some())
        .map(|e| {
            let data = serde_json::to_value(&e.payload).unwrap();
            (e.payload.event_type().to_owned(), data["data"].clone())
        })
        .collect()
}

/// Every entry of the time index in the hour of `instant`.
async fn entries_in_hour(api: &Api, instant: DateTime<Utc>) -> Vec<NoticeEntry> {
    let mut found = Vec::new();
    for shard in 0..NOTICE_SHARDS {
        let query = entries_query(NoticeHour::containing(instant), shard, 1000);
        let items = store::query_all(api.store.stores.records.as_ref(), query)
            .await
            .unwrap();
        found.extend(items.iter().filter_map(NoticeEntry::from_item));
    }
    found
}

async fn settings(api: &Api, owner: &str, route: &'static str, path: String, body: Value) {
    let answer = api
        .call(
            ApiRequest::new(route, path)
                .path_param("username", owner)
                .as_user(owner)
                .json(body),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn reminders(api: &Api, owner: &str, offsets: &[u16]) {
    let body = json!({"offsets_days": offsets, "email": false,
                      "kinds": ["payment_due_soon", "payment_missed", "promo_ending_soon"]});
    let answer = api.set_notifications(owner, owner, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Due in ten days, reminded three days before: the sweep of that morning appends one `PaymentDueSoon`,
/// however it runs (twice at once, then again); a debt whose minimum is paid gets none; the morning after
/// the unmet due date, one `PaymentMissed`.
async fn each_notice_goes_out_once_however_the_sweep_runs(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let unpaid = debt_due_in_ten_days(&api, &alice).await;
    let paid = debt_due_in_ten_days(&api, &alice).await;
    let payment = api
        .on_debt(
            "POST /debts/{debt_id}/payments",
            &paid,
            &alice,
            json!({"amount": "50", "paid_on": day(0)}),
        )
        .await;
    assert_eq!(payment.status, 201, "{}", payment.body);
    api.project_user(&alice).await;
    let indexed = entries_in_hour(&api, at(7, "09:00")).await;
    assert_eq!(
        indexed
            .iter()
            .map(|e| e.debt_id.as_str())
            .collect::<Vec<_>>(),
        [unpaid.as_str()],
        "only the unpaid debt has a notice at 09:00 UTC three days before its due date"
    );

    let early = sweep_notices(&api.store, at(7, "08:50")).await.unwrap();
    assert_eq!(early.notices, 0, "{early:?}");
    assert!(notices(&api, &unpaid).await.is_empty(), "not before nine");

    let (first, second) = tokio::join!(
        sweep_notices(&api.store, at(7, "09:10")),
        sweep_notices(&api.store, at(7, "09:10")),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.notices + second.notices, 1, "{first:?} {second:?}");
    let again = sweep_notices(&api.store, at(7, "09:25")).await.unwrap();
    assert_eq!(again.notices, 0, "{again:?}");
    let sent = notices(&api, &unpaid).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].0, "PaymentDueSoon");
    assert_eq!(
        sent[0].1,
        json!({"due_on": day(10), "minimum_due": "50.00", "paid": "0.00", "days_before": 3})
    );
    assert!(
        notices(&api, &paid).await.is_empty(),
        "paid in time: no notice"
    );
    assert!(
        entries_in_hour(&api, at(7, "09:00")).await.is_empty(),
        "the swept entries are removed"
    );
    let next = entries_in_hour(&api, at(11, "09:00")).await;
    assert_eq!(next.len(), 1, "next: the morning after the due date");

    for run in ["09:05", "09:05", "23:00"] {
        sweep_notices(&api.store, at(11, run)).await.unwrap();
    }
    let sent = notices(&api, &unpaid).await;
    assert_eq!(
        sent.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        ["PaymentDueSoon", "PaymentMissed"]
    );
    assert_eq!(
        sent[1].1,
        json!({"due_on": day(10), "minimum_due": "50.00", "paid": "0.00"})
    );
    assert!(notices(&api, &paid).await.is_empty());
}

/// Reminders at 7, 3 and 1 days before a due date on day 10: the sweep runs on day 2, then not until day 5
/// (the 7-day reminder's morning, day 3, passed while it was down); that run reads every hour it missed and
/// sends the nearest reminder reached, once; the later ones go out on their mornings.
async fn a_sweep_after_an_outage_catches_up_with_the_nearest_reminder_once(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    reminders(&api, &alice, &[7, 3, 1]).await;
    api.project_user(&alice).await;
    let debt_id = debt_due_in_ten_days(&api, &alice).await;
    api.project_user(&alice).await;

    let before = sweep_notices(&api.store, at(2, "09:30")).await.unwrap();
    assert_eq!(before.notices, 0);
    assert!(before.swept_through.is_some(), "{before:?}");
    // Down from day 2 to day 5 (three days): the 7-day reminder (day 3) was not sent.
    let after = sweep_notices(&api.store, at(5, "10:00")).await.unwrap();
    assert_eq!(
        after.hours,
        3 * 24 + 3,
        "every hour since the last finished one: {after:?}"
    );
    assert_eq!(after.notices, 1, "{after:?}");
    assert_eq!(
        after.swept_through.as_deref(),
        Some(NoticeHour::containing(at(5, "08:00")).label().as_str())
    );
    let sent = notices(&api, &debt_id).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1["days_before"], 7, "late, and once: {sent:?}");
    let again = sweep_notices(&api.store, at(5, "10:15")).await.unwrap();
    assert_eq!((again.notices, again.hours), (0, 2), "{again:?}");
    // Then on time: 3 days and 1 day before.
    sweep_notices(&api.store, at(7, "09:05")).await.unwrap();
    sweep_notices(&api.store, at(9, "09:05")).await.unwrap();
    let offsets: Vec<Value> = notices(&api, &debt_id)
        .await
        .into_iter()
        .map(|(_, data)| data["days_before"].clone())
        .collect();
    assert_eq!(offsets, [json!(7), json!(3), json!(1)]);
}

/// One debt due on the same date for two owners at the two ends of the day: the reminder goes out at nine
/// in each one's own morning (UTC+14 the evening before in UTC, UTC-12 the evening of the day).
async fn a_notice_falls_due_in_the_owners_own_morning(store: TestStore) {
    let api = Api::new(store);
    let mut owners = Vec::new();
    for zone in ["Etc/GMT-14", "Etc/GMT+12"] {
        let owner = username();
        api.register(&owner).await;
        let path = format!("/users/{owner}");
        settings(
            &api,
            &owner,
            "PATCH /users/{username}",
            path,
            json!({"time_zone": zone}),
        )
        .await;
        api.project_user(&owner).await;
        let debt_id = debt_due_in_ten_days(&api, &owner).await;
        api.project_user(&owner).await;
        owners.push(debt_id);
    }
    let [east, west] = [&owners[0], &owners[1]];
    // Day 7 at 09:00 in UTC+14 is day 6 at 19:00 UTC; in UTC-12 it is day 7 at 21:00 UTC.
    sweep_notices(&api.store, at(6, "18:30")).await.unwrap();
    assert!(notices(&api, east).await.is_empty(), "08:30 at UTC+14");
    sweep_notices(&api.store, at(6, "19:05")).await.unwrap();
    assert_eq!(notices(&api, east).await.len(), 1, "09:05 at UTC+14");
    assert!(notices(&api, west).await.is_empty());
    sweep_notices(&api.store, at(7, "20:45")).await.unwrap();
    assert!(notices(&api, west).await.is_empty(), "08:45 at UTC-12");
    sweep_notices(&api.store, at(7, "21:10")).await.unwrap();
    let sent = notices(&api, west).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].1["days_before"], 3);
    assert_eq!(
        notices(&api, east).await.len(),
        1,
        "and the east's only once"
    );
}

/// The stream records of the debt's and the user's events after `seen` of each (by the test's count).
async fn project_new_events(api: &Api, aggregates: &[store::AggregateRef], seen: &mut Vec<usize>) {
    let mut records = Vec::new();
    seen.resize(aggregates.len(), 0);
    for (aggregate, seen) in aggregates.iter().zip(seen.iter_mut()) {
        let history = api.store.history(aggregate).await;
        for event in &history[*seen..] {
            records.push(stream_record(event, records.len() as u64 + 1));
        }
        *seen = history.len();
    }
    let response = project_batch(&batch(records), &api.store.stores).await;
    assert!(response.batch_item_failures.is_empty());
}

/// The projector keeps the index: a new debt gets an entry at its first notice; a change of the owner's
/// zone writes its debts' entries again; a batch of the sweep's own notices writes none (the sweep wrote
/// the next entry itself).
async fn the_projector_writes_the_entries_the_sweep_reads(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let debt_id = debt_due_in_ten_days(&api, &alice).await;
    let followed = [integration_tests::user_ref(&alice), debt_ref(&debt_id)];
    let mut seen = Vec::new();
    project_new_events(&api, &followed, &mut seen).await;
    let names = |entries: Vec<NoticeEntry>| -> Vec<String> {
        entries.into_iter().map(|e| e.debt_id).collect()
    };
    let only = vec![debt_id.clone()];
    assert_eq!(names(entries_in_hour(&api, at(7, "09:00")).await), only);

    let path = format!("/users/{alice}");
    settings(
        &api,
        &alice,
        "PATCH /users/{username}",
        path,
        json!({"time_zone": "Etc/GMT-14"}),
    )
    .await;
    project_new_events(&api, &followed, &mut seen).await;
    assert_eq!(
        names(entries_in_hour(&api, at(6, "19:00")).await),
        only,
        "nine in the morning at UTC+14"
    );

    let swept = sweep_notices(&api.store, at(6, "19:30")).await.unwrap();
    assert_eq!(swept.notices, 1, "{swept:?}");
    assert!(entries_in_hour(&api, at(6, "19:00")).await.is_empty());
    project_new_events(&api, &followed, &mut seen).await;
    assert!(
        entries_in_hour(&api, at(6, "19:00")).await.is_empty(),
        "the notice's own record writes no entry"
    );
    assert!(
        entries_in_hour(&api, Utc::now()).await.is_empty(),
        "nor one due now"
    );
    // A calendar feed is no setting notices follow: its UserUpdated writes no entry either.
    let feed = api
        .call(
            ApiRequest::new(
                "POST /users/{username}/calendar",
                format!("/users/{alice}/calendar"),
            )
            .path_param("username", &alice)
            .as_user(&alice),
        )
        .await;
    assert_eq!(feed.status, 201, "{}", feed.body);
    project_new_events(&api, &followed, &mut seen).await;
    assert!(
        entries_in_hour(&api, at(6, "19:00")).await.is_empty(),
        "the feed's event wrote the debt's entry again"
    );
}

/// A debt whose events cannot be read (here: its next load fails) holds up no other debt and no hour:
/// the run sweeps the rest, marks the hours finished, and moves the failing debt's entry to the next hour,
/// where the next run, the fault gone, sends its reminder once.
async fn a_debt_that_fails_is_retried_an_hour_later_and_holds_up_nothing(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let failing_debt = debt_due_in_ten_days(&api, &alice).await;
    let healthy_debt = debt_due_in_ten_days(&api, &alice).await;
    api.project_user(&alice).await;
    let failing = std::sync::Arc::new(integration_tests::projection::failing(
        std::sync::Arc::clone(&api.store.engine),
        &failing_debt,
        1,
    ));
    let stores = store::Stores::of(failing);
    let deps = notices::SweepDeps::new(&stores);
    let run = notices::sweep(&deps, at(7, "09:10"), uuid::Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!((run.notices, run.failed), (1, 1), "{run:?}");
    assert!(
        run.swept_through.is_some(),
        "the hours are finished: {run:?}"
    );
    assert_eq!(notices(&api, &healthy_debt).await.len(), 1);
    assert!(notices(&api, &failing_debt).await.is_empty());
    let moved = entries_in_hour(&api, at(7, "10:00")).await;
    assert_eq!(
        moved.iter().map(|e| e.debt_id.as_str()).collect::<Vec<_>>(),
        [failing_debt.as_str()],
        "the failing debt's entry waits an hour"
    );
    let later = notices::sweep(&deps, at(7, "10:05"), uuid::Uuid::new_v4())
        .await
        .unwrap();
    assert_eq!((later.notices, later.failed), (1, 0), "{later:?}");
    assert_eq!(notices(&api, &failing_debt).await.len(), 1);
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_debt_that_fails_is_retried_an_hour_later_and_holds_up_nothing,
    the_projector_writes_the_entries_the_sweep_reads,
    each_notice_goes_out_once_however_the_sweep_runs,
    a_sweep_after_an_outage_catches_up_with_the_nearest_reminder_once,
    a_notice_falls_due_in_the_owners_own_morning,
);
