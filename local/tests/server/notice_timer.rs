//! `debts-local`'s notice timer, driven by a test clock: the same sweep as the Lambda function, over the
//! same store, at the times the test sets.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use integration_tests::handlers::{username, Api};
use integration_tests::{debt_ref, sqlite_test_store};
use local::notice_timer::NoticeTimer;
use serde_json::json;
use store::Stores;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_timer_runs_the_sweep_at_its_clocks_time() {
    let api = Api::new(sqlite_test_store().await);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let today = Utc::now().date_naive();
    let answer = api
        .on_debt(
            "POST /debts/{debt_id}/statements",
            &debt_id,
            &alice,
            json!({"closing_date": (today - Duration::days(1)).to_string(), "statement_balance": "100",
                   "minimum_due": "25", "due_date": (today + Duration::days(10)).to_string()}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    api.project_user(&alice).await;

    let now: Arc<Mutex<DateTime<Utc>>> = Arc::new(Mutex::new(Utc::now()));
    let clock = Arc::clone(&now);
    let timer = NoticeTimer::new(
        &Stores::of(Arc::clone(&api.store.engine)),
        Arc::new(move || *clock.lock().unwrap()),
    );
    let reminder_morning = (today + Duration::days(7))
        .and_hms_opt(9, 0, 0)
        .unwrap()
        .and_utc();
    *now.lock().unwrap() = reminder_morning - Duration::minutes(5);
    assert_eq!(timer.run().await.unwrap().notices, 0, "not yet");
    *now.lock().unwrap() = reminder_morning + Duration::minutes(5);
    assert_eq!(timer.run().await.unwrap().notices, 1);
    assert_eq!(timer.run().await.unwrap().notices, 0, "once");
    let history = api.store.history(&debt_ref(&debt_id)).await;
    assert_eq!(
        history.last().unwrap().payload.event_type(),
        "PaymentDueSoon"
    );
}
