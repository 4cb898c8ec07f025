//! The projector's lag in its logs: every read item it writes is logged with its lag (its newest event's
//! `occurred_at` to the write), and a lag past the threshold is a warning. The lag is read on a test clock,
//! set to a known distance after the events: what is asserted is the projector's arithmetic and judgement,
//! never how fast this machine happens to be.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, TimeZone, Utc};
use integration_tests::api::ApiRequest;
use integration_tests::handlers::{call, handlers_over};
use integration_tests::lambdas::project_batch_watched;
use integration_tests::projection::{batch, records_for_all_events};
use integration_tests::{capture_logs, sqlite_store, LogCapture};
use projections::projector::LagWatch;
use serde_json::{json, Value};
use store::{AggregateRef, Stores};

/// The test clock: nanoseconds since the epoch, set by the test before each batch.
static NOW: AtomicI64 = AtomicI64::new(0);

fn test_clock() -> DateTime<Utc> {
    Utc.timestamp_nanos(NOW.load(Ordering::SeqCst))
}

/// The `lag_ms` of each read item the projector logged, with whether it was a warning.
fn logged_lags(captured: &LogCapture) -> Vec<(bool, i64)> {
    captured
        .text()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|line| {
            let lag = line["fields"]["lag_ms"].as_i64()?;
            Some((line["level"] == "WARN", lag))
        })
        .collect()
}

/// Projects every stored event with the clock at `after` past the newest event of `aggregate`.
async fn project_at(stores: &Stores, aggregate: &AggregateRef, after: Duration) {
    let history = stores.events.load_events(aggregate, 0).await.unwrap();
    let newest = history.last().expect("events").occurred_at;
    NOW.store(
        (newest + after).timestamp_nanos_opt().unwrap(),
        Ordering::SeqCst,
    );
    let watch = LagWatch {
        clock: test_clock,
        warn_after: Duration::milliseconds(200),
    };
    let records = records_for_all_events(stores.events.as_ref()).await;
    project_batch_watched(&batch(records), stores, &watch).await;
}

// One thread, so that the projector logs on the capturing thread.
#[tokio::test(flavor = "current_thread")]
async fn a_lag_past_the_threshold_is_a_warning() {
    let captured = capture_logs();
    let stores = Stores::of(sqlite_store().await);
    let handlers = handlers_over(&stores);
    let created = call(
        &handlers,
        ApiRequest::new("POST /users", "/users")
            .json(json!({"username": "lena", "email": "lena@example.com", "full_name": "Lena", "password": "correct horse battery"})),
    )
    .await;
    assert_eq!(created.status, 201);

    // Projected 50 ms after the registration: logged with that lag, under the threshold.
    project_at(
        &stores,
        &AggregateRef::user("lena"),
        Duration::milliseconds(50),
    )
    .await;
    assert_eq!(logged_lags(&captured), [(false, 50)], "{}", captured.text());

    // A debt projected 300 ms after it was created: a warning, with its lag.
    let debt = call(
        &handlers,
        ApiRequest::new("POST /debts", "/debts")
            .as_user("lena")
            .json(json!({"debt_name": "Loan", "principal": "500.00", "interest_rate": "3", "start_date": "2025-01-01", "payment_frequency": "monthly"})),
    )
    .await;
    assert_eq!(debt.status, 201);
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap();
    project_at(
        &stores,
        &AggregateRef::debt(debt_id),
        Duration::milliseconds(300),
    )
    .await;
    let late: Vec<_> = logged_lags(&captured).into_iter().skip(1).collect();
    assert_eq!(late, [(true, 300)], "{}", captured.text());
}
