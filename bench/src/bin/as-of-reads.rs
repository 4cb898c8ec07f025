//! What reads of the past cost next to reads of the present, in-process on SQLite: a user with 100 and then
//! 1,000 debts of 5 events each (a creation and 4 payments); p50 of `GET /debts/{id}`, `GET /debts` and the
//! summary, each now (read items) and `?as_of=` now (folded from the events), and their ratio in the same run.
//! Run with `make bench-as-of`.

use std::time::{Duration, Instant};

use api::Handlers;
use bench::stats::{millis, Samples};
use chrono::{SecondsFormat, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{call, handlers_over};
use projections::replay::{replay, ReplayOptions, Scope};
use serde_json::json;
use store::Stores;

const USER: &str = "bench";
const RUNS: usize = 21;

async fn p50(mut call: impl AsyncFnMut() -> ApiResponse) -> Duration {
    let mut samples = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let response = call().await;
        samples.push(start.elapsed());
        assert_eq!(response.status, 200, "{}", response.body);
    }
    Samples::new(samples).median()
}

/// `count` debts of 5 events each, their read items, and their contributions to the summary.
async fn seed(stores: &Stores, handlers: &Handlers, count: usize) -> String {
    let today = Utc::now().date_naive();
    let mut first = String::new();
    for n in 0..count {
        let created = ApiRequest::new("POST /debts", "/debts").as_user(USER).json(
            json!({"debt_name": format!("Debt {n}"), "principal": "1000.00", "interest_rate": "9.5",
                         "start_date": "2025-01-01", "payment_frequency": "monthly"}),
        );
        let created = call(handlers, created).await;
        let id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
        for _ in 0..4 {
            let payment = ApiRequest::new(
                "POST /debts/{debt_id}/payments",
                format!("/debts/{id}/payments"),
            )
            .path_param("debt_id", id.clone())
            .as_user(USER)
            .json(json!({"amount": "10.00", "paid_on": today}));
            assert_eq!(call(handlers, payment).await.status, 201);
        }
        if first.is_empty() {
            first = id;
        }
    }
    replay(
        stores,
        &ReplayOptions::new(Scope::User(USER.into())),
        |_| {},
    )
    .await
    .unwrap();
    for aggregate in integration_tests::projection::aggregates(stores.events.as_ref()).await {
        for event in stores.events.load_events(&aggregate, 0).await.unwrap() {
            analytics::record_event(stores, &event).await.unwrap();
        }
    }
    first
}

async fn read(
    handlers: &Handlers,
    route: &'static str,
    debt_id: &str,
    as_of: Option<&str>,
) -> ApiResponse {
    let request = match route {
        "GET /debts" => ApiRequest::new(route, "/debts").as_user(USER),
        "GET /debts/{debt_id}" => ApiRequest::new(route, format!("/debts/{debt_id}"))
            .path_param("debt_id", debt_id)
            .as_user(USER),
        _ => ApiRequest::new(route, format!("/users/{USER}/summary"))
            .path_param("username", USER)
            .as_user(USER),
    };
    let request = match as_of {
        Some(at) => request.query("as_of", at),
        None => request,
    };
    call(handlers, request).await
}

#[tokio::main]
async fn main() {
    // The handlers' metric documents would interleave with the table; a benchmark has no use for them.
    lambda_support::metrics::send_to(|_| {});
    println!("Reads now (read items) and as of now (folded from the events), in-process on SQLite, p50 of {RUNS}:");
    println!(
        "{:<32} {:>6} {:>12} {:>12} {:>8}",
        "read", "debts", "now", "as_of", "ratio"
    );
    for count in [100, 1_000] {
        let stores = Stores::of(integration_tests::sqlite_store().await);
        let handlers = handlers_over(&stores);
        let debt_id = seed(&stores, &handlers, count).await;
        let at = Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true);
        for route in [
            "GET /debts/{debt_id}",
            "GET /debts",
            "GET /users/{username}/summary",
        ] {
            let now = p50(async || read(&handlers, route, &debt_id, None).await).await;
            let past = p50(async || read(&handlers, route, &debt_id, Some(&at)).await).await;
            println!(
                "{route:<32} {count:>6} {:>9.3} ms {:>9.3} ms {:>7.1}x",
                millis(now),
                millis(past),
                past.as_secs_f64() / now.as_secs_f64()
            );
        }
    }
}
