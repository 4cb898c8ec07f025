//! The projector's lag in its logs: every read item it writes is logged with its lag (its newest event's
//! `occurred_at` to the write), and a lag past `PROJECTION_LAG_WARN_MS` is a warning. Its own test binary,
//! because the threshold is read from the environment once per process.

use std::sync::Arc;
use std::time::Duration;

use auth::passwords::MIN_ITERATIONS;
use auth::{PasswordHasher, StaticKeys, Tokens};
use integration_tests::api::ApiRequest;
use integration_tests::projection::{batch, records_for_all_events};
use integration_tests::{sqlite_store, Captured, Handlers};
use serde_json::{json, Value};

/// The `lag_ms` of each read item the projector logged, with whether it was a warning.
fn logged_lags(captured: &Captured) -> Vec<(bool, i64)> {
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

// One thread, so the thread-local subscriber sees the projector's logs.
#[tokio::test(flavor = "current_thread")]
async fn a_lag_past_the_threshold_is_a_warning() {
    std::env::set_var("PROJECTION_LAG_WARN_MS", "200");
    let captured = Captured::default();
    let _guard = tracing::subscriber::set_default(lambda_support::logging::json_subscriber(
        captured.clone(),
    ));
    let store = sqlite_store().await;
    let tokens = Tokens::new(
        Arc::new(StaticKeys::from_secret(
            "projection-lag-test-secret-32-chars",
        )),
        "debts-api",
    );
    let handlers = Handlers::new(&store, PasswordHasher::new(MIN_ITERATIONS).unwrap(), tokens);
    let created = commands::create_user(
        ApiRequest::new("POST /users", "/users")
            .json(json!({"username": "lena", "email": "lena@example.com", "full_name": "Lena", "password": "correct horse battery"}))
            .build(),
        &handlers.users,
    )
    .await
    .unwrap();
    assert_eq!(created.status(), 201);

    // Projected at once: logged, under the threshold.
    let records = records_for_all_events(store.as_ref()).await;
    projections::project_batch(&batch(records), store.as_ref()).await;
    let at_once = logged_lags(&captured);
    assert_eq!(at_once.len(), 1, "{}", captured.text());
    assert!(!at_once[0].0 && at_once[0].1 < 200, "{at_once:?}");

    // A debt projected 300 ms after it was created: a warning, with its lag.
    let debt = commands::create_debt(
        ApiRequest::new("POST /debts", "/debts")
            .as_user("lena")
            .json(json!({"debt_name": "Loan", "principal": "500.00", "interest_rate": "3", "start_date": "2025-01-01", "payment_frequency": "monthly"}))
            .build(),
        &handlers.debts,
    )
    .await
    .unwrap();
    assert_eq!(debt.status(), 201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let records = records_for_all_events(store.as_ref()).await;
    projections::project_batch(&batch(records), store.as_ref()).await;
    let late: Vec<_> = logged_lags(&captured).into_iter().skip(1).collect();
    assert!(
        late.iter().any(|(warned, lag)| *warned && *lag >= 300),
        "{late:?}"
    );
}
