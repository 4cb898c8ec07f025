//! Measures what the write side costs on this machine: PBKDF2 time per hash, and the p50/p90 latency of each
//! command handler called in-process (as Lambda calls it) against the SQLite engine; then a payoff plan of 20
//! debts over 30 years with its schedule, next to the listing of the same debts. Run with `make bench`.
//!
//! create-user and login each spend exactly one hash; their "excluding hashing" figure subtracts the median
//! hash time measured in the same run at the same work factor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::Handlers;
use auth::passwords::{DEFAULT_ITERATIONS, MIN_ITERATIONS};
use auth::{Password, PasswordHasher, StaticKeys, Tokens};
use bench::report::Row;
use bench::stats::{micros, millis as ms, Samples};
use integration_tests::api::{ApiRequest, ApiResponse};
use lambda_http::{Body, Response};
use serde_json::json;
use store::{EventLog, Stores};

// Handlers run on SQLite only inside `debts-local`, which allocates with mimalloc: measured with the same
// allocator, these figures are the local server's (the port calls beside them use it too).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The same derivation through OpenSSL (Python's `hashlib.pbkdf2_hmac`), median of `runs`, timed inside Python
/// so interpreter start-up is not counted; `None` when there is no `python3`.
fn openssl_median_hash(iterations: u32, runs: usize) -> Option<Duration> {
    let script = format!(
        "import hashlib, time, statistics\n\
         t = []\n\
         for _ in range({runs}):\n\
         \x20   s = time.perf_counter(); hashlib.pbkdf2_hmac('sha256', b'benchmark password', b'0123456789abcdef', {iterations}); t.append(time.perf_counter() - s)\n\
         print(statistics.median(t))"
    );
    let output = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .ok()?;
    let seconds: f64 = String::from_utf8(output.stdout).ok()?.trim().parse().ok()?;
    Some(Duration::from_secs_f64(seconds))
}

fn median_hash(iterations: u32, runs: usize) -> Duration {
    let hasher = PasswordHasher::new(iterations).unwrap();
    let password = Password::parse("benchmark password").unwrap();
    let samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(hasher.hash(&password));
            start.elapsed()
        })
        .collect();
    Samples::new(samples).median()
}

async fn time<F, Fut>(runs: usize, mut call: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Response<Body>>,
{
    let mut samples = Vec::with_capacity(runs);
    for n in 0..runs {
        let start = Instant::now();
        let response = call(n).await;
        samples.push(start.elapsed());
        assert!(
            response.status().is_success(),
            "run {n}: {:?}",
            ApiResponse::read(response).body
        );
    }
    samples
}

fn report(name: &str, samples: Vec<Duration>, minus: Duration) {
    let samples = Samples::new(samples);
    let (p50, p90) = (samples.median(), samples.percentile(0.9));
    println!(
        "{name:<12} n={:<4} p50 {:>8.3} ms  p90 {:>8.3} ms  p50 excluding hashing {:>7.3} ms",
        samples.len(),
        ms(p50),
        ms(p90),
        ms(p50.saturating_sub(minus))
    );
}

// A benchmark script: one measurement after another, in the order they print; splitting it hides the order.
#[allow(clippy::too_many_lines)]
#[tokio::main]
async fn main() {
    // The metric documents would interleave with the report; writing them is not what is measured here.
    lambda_support::metrics::send_to(|_| {});
    println!("PBKDF2-HMAC-SHA256 per hash (median of 7):");
    for iterations in [DEFAULT_ITERATIONS, MIN_ITERATIONS] {
        println!(
            "  {iterations:>7} iterations: {:>8.1} ms",
            ms(median_hash(iterations, 7))
        );
    }
    let hash = median_hash(MIN_ITERATIONS, 21);
    match openssl_median_hash(MIN_ITERATIONS, 21) {
        Some(openssl) => {
            let ratio = hash.as_secs_f64() / openssl.as_secs_f64();
            println!(
                "  per {MIN_ITERATIONS} iterations: {:.1} ms here, {:.1} ms through OpenSSL (Python hashlib), ratio {ratio:.2}",
                ms(hash),
                ms(openssl),
            );
            Row {
                figure: "PBKDF2-HMAC-SHA256, 100,000 iterations",
                goal: "≤ 1.1× OpenSSL",
                value: format!("{:.1} ms", ms(hash)),
                reference: format!("OpenSSL {:.1} ms", ms(openssl)),
                ratio,
                met: ratio <= 1.1,
            }
            .print();
        }
        None => println!("  (no python3: the OpenSSL reference was not measured)"),
    }

    // As the handlers run: personal fields sealed (and opened) under each user's data key.
    let stores = integration_tests::sqlite_test_store().await.stores;
    let passwords = PasswordHasher::new(MIN_ITERATIONS).unwrap();
    let tokens = Tokens::new(
        Arc::new(StaticKeys::from_secret(
            "benchmark-secret-of-at-least-32-chars",
        )),
        "bench",
    );
    let Handlers {
        users,
        login,
        debts,
        queries,
        ..
    } = Handlers::new(&stores, Arc::clone(&stores.events), passwords, tokens);

    println!("\nCommand handlers in-process on SQLite (work factor {MIN_ITERATIONS} for the hashing ones):");
    let register = |n: usize| {
        ApiRequest::new("POST /users", "/users").json(json!({
            "username": format!("bench{n}"), "email": format!("bench{n}@example.com"),
            "full_name": "Bench", "password": "benchmark password"
        }))
    };
    report(
        "create-user",
        time(100, |n| {
            let r = register(n).build();
            async { commands::create_user(r, &users).await.unwrap() }
        })
        .await,
        hash,
    );
    let credentials = ApiRequest::new("POST /login", "/login")
        .json(json!({"username": "bench0", "password": "benchmark password"}));
    report(
        "login",
        time(100, |_| {
            let r = credentials.build();
            async { commands::login(r, &login).await.unwrap() }
        })
        .await,
        hash,
    );

    let new_debt = ApiRequest::new("POST /debts", "/debts").as_user("bench0").json(json!({
        "debt_name": "Loan", "principal": "1000.00", "interest_rate": "5", "start_date": "2025-01-01",
        "payment_frequency": "monthly"
    }));
    let created = time(500, |_| {
        let r = new_debt.build();
        async { commands::create_debt(r, &debts).await.unwrap() }
    })
    .await;
    let created_p50 = Samples::new(created.clone()).median();
    report("create-debt", created, Duration::ZERO);
    let ids = list_debts(stores.events.as_ref()).await;
    let update = |n: usize| {
        let id = &ids[n % ids.len()];
        ApiRequest::new("PUT /debts/{debt_id}", format!("/debts/{id}"))
            .path_param("debt_id", id.clone())
            .as_user("bench0")
            .json(json!({"current_balance": format!("{}.00", 500 + n)}))
    };
    report(
        "update-debt",
        time(500, |n| {
            let r = update(n).build();
            async { commands::update_debt(r, &debts).await.unwrap() }
        })
        .await,
        Duration::ZERO,
    );
    let delete = |n: usize| {
        let id = &ids[n];
        ApiRequest::new("DELETE /debts/{debt_id}", format!("/debts/{id}"))
            .path_param("debt_id", id.clone())
            .as_user("bench0")
    };
    report(
        "delete-debt",
        time(ids.len(), |n| {
            let r = delete(n).build();
            async { commands::delete_debt(r, &debts).await.unwrap() }
        })
        .await,
        Duration::ZERO,
    );
    // After the handlers, so that the debts it appends are not among those updated and deleted above.
    let appended = p50_of(500, || {
        let id = uuid::Uuid::new_v4().to_string();
        let event = integration_tests::debt_created(&id, "bench0");
        stores
            .events
            .append(store::AppendRequest::new(0, vec![event]))
    })
    .await;
    Row {
        figure: "create-debt p50, in-process",
        goal: "≤ 150 µs",
        value: micros(created_p50),
        reference: format!("port append of its event {}", micros(appended)),
        ratio: created_p50.as_secs_f64() / appended.as_secs_f64(),
        met: created_p50 <= Duration::from_micros(150),
    }
    .print();
    payoff_plan(&stores, &debts, &queries).await;
    reads(&stores, &users, &debts, &queries).await;
}

/// The p50 of `runs` calls of `call`, which must succeed.
async fn p50_of<F, Fut, T, E>(runs: usize, mut call: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Debug,
{
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        std::hint::black_box(call().await.expect("the reference call succeeds"));
        samples.push(start.elapsed());
    }
    Samples::new(samples).median()
}

/// Builds `user`'s read items from their events (replay of that user), as the projector would have.
async fn project(stores: &Stores, user: &str) {
    let scope = projections::replay::Scope::User(user.into());
    let options = projections::replay::ReplayOptions::new(scope);
    projections::replay::replay(stores, &options, |_| {})
        .await
        .unwrap();
}

/// Signs `reader` up with 50 debts and projects them; answers the debts' ids.
async fn reader_with_debts(
    stores: &Stores,
    users: &commands::UserDeps,
    debts: &commands::DebtDeps,
) -> Vec<String> {
    let register = ApiRequest::new("POST /users", "/users").json(json!({
        "username": "reader", "email": "reader@example.com", "full_name": "Reader",
        "password": "benchmark password"
    }));
    assert_eq!(
        commands::create_user(register.build(), users)
            .await
            .unwrap()
            .status(),
        201
    );
    let mut ids = Vec::new();
    for n in 0..50 {
        let request = ApiRequest::new("POST /debts", "/debts")
            .as_user("reader")
            .json(json!({
                "debt_name": format!("Loan {n}"), "principal": "1000.00", "interest_rate": "5",
                "start_date": "2025-01-01", "payment_frequency": "monthly"
            }));
        let created =
            ApiResponse::read(commands::create_debt(request.build(), debts).await.unwrap());
        ids.push(created.body["data"]["debt_id"].as_str().unwrap().to_owned());
    }
    project(stores, "reader").await;
    ids
}

/// The GET handlers on one user's 50 projected debts, each next to the storage call under it (the floor
/// the handler adds its work to: authorisation, parsing, the view, the JSON answer).
// Measurements in the order they print, each beside its reference; split up, the pairs would drift apart.
#[allow(clippy::too_many_lines)]
async fn reads(
    stores: &Stores,
    users: &commands::UserDeps,
    debts: &commands::DebtDeps,
    deps: &queries::QueryDeps,
) {
    let id = reader_with_debts(stores, users, debts).await.swap_remove(0);
    let get_debt = ApiRequest::new("GET /debts/{debt_id}", format!("/debts/{id}"))
        .path_param("debt_id", id.clone())
        .as_user("reader");
    let get_user = ApiRequest::new("GET /users/{username}", "/users/reader")
        .path_param("username", "reader")
        .as_user("reader");
    let list = ApiRequest::new("GET /debts", "/debts")
        .as_user("reader")
        .query("limit", "50");
    let debt_answer = queries::get_debt(get_debt.build(), deps).await.unwrap();
    assert_eq!(debt_answer.status(), 200, "the debt reads back");
    let user_answer = queries::get_user(get_user.build(), deps).await.unwrap();
    assert_eq!(user_answer.status(), 200, "the user reads back");
    let listed = ApiResponse::read(queries::list_debts(list.build(), deps).await.unwrap());
    assert_eq!(
        listed.body["data"].as_array().map(Vec::len),
        Some(50),
        "a page of 50"
    );

    let runs = 2000;
    let debt_p50 = p50_of(runs, || queries::get_debt(get_debt.build(), deps)).await;
    let user_p50 = p50_of(runs, || queries::get_user(get_user.build(), deps)).await;
    let list_p50 = p50_of(runs / 4, || queries::list_debts(list.build(), deps)).await;
    let debt_key = store::keys::debt_read_key("reader", &id);
    let user_key = store::keys::user_info_key("reader");
    let page = store::Query::partition(&user_key.pk, store::keys::DEBT_SK_PREFIX).limit(50);
    let debt_floor = p50_of(runs, || stores.records.get_item(&debt_key)).await;
    let user_floor = p50_of(runs, || stores.records.get_item(&user_key)).await;
    let list_floor = p50_of(runs / 4, || stores.records.query(&page)).await;

    println!("\nQuery handlers in-process on SQLite, next to the storage call each makes:");
    let rows = [
        (
            "get-debt p50, in-process",
            "≤ 100 µs",
            debt_p50,
            debt_floor,
            100,
            "port get_item",
        ),
        (
            "get-user p50, in-process",
            "≤ 100 µs",
            user_p50,
            user_floor,
            100,
            "port get_item",
        ),
        (
            "list-debts (50) p50, in-process",
            "≤ 300 µs",
            list_p50,
            list_floor,
            300,
            "port query of 50",
        ),
    ];
    for (figure, goal, value, floor, limit_us, what) in rows {
        println!(
            "  {figure:<32} {:>8}   {what} {:>8}",
            micros(value),
            micros(floor)
        );
        Row {
            figure,
            goal,
            value: micros(value),
            reference: format!("{what} {}", micros(floor)),
            ratio: value.as_secs_f64() / floor.as_secs_f64(),
            met: value <= Duration::from_micros(limit_us),
        }
        .print();
    }
}

/// A payoff plan through its handler: 20 debts of 10,000.00 at 6 % with the 30-year level payment (59.96) as
/// their minimum and the sum as the budget, so the plan, and each comparison, runs 360 months; with
/// `include=schedule` (7,200 rows). The reference is `GET /debts` of the same 20 read items.
async fn payoff_plan(stores: &Stores, debts: &commands::DebtDeps, deps: &queries::QueryDeps) {
    for n in 0..20 {
        let request = ApiRequest::new("POST /debts", "/debts").as_user("planner").json(json!({
            "debt_name": format!("Loan {n}"), "principal": "10000.00", "interest_rate": "6",
            "start_date": "2025-01-01", "payment_frequency": "monthly", "minimum_payment": "59.96"
        }));
        let created = commands::create_debt(request.build(), debts).await.unwrap();
        assert_eq!(created.status(), 201);
    }
    project(stores, "planner").await;
    let plan = ApiRequest::new(
        "GET /users/{username}/payoff-plan",
        "/users/planner/payoff-plan",
    )
    .path_param("username", "planner")
    .as_user("planner")
    .query("monthly_budget", "1199.20")
    .query("include", "schedule");
    let listing = ApiRequest::new("GET /debts", "/debts")
        .as_user("planner")
        .query("limit", "100");
    let months = ApiResponse::read(queries::get_payoff_plan(plan.build(), deps).await.unwrap())
        .body["data"]["months"]
        .clone();
    assert_eq!(months, json!(360), "the plan runs 30 years");
    let planned = time(21, |_| {
        let r = plan.build();
        async { queries::get_payoff_plan(r, deps).await.unwrap() }
    })
    .await;
    let listed = time(21, |_| {
        let r = listing.build();
        async { queries::list_debts(r, deps).await.unwrap() }
    })
    .await;
    let (plan_p50, list_p50) = (
        Samples::new(planned).median(),
        Samples::new(listed).median(),
    );
    println!("\nPayoff plan in-process on SQLite: 20 debts, 360 months, include=schedule (goal: p50 under 5 ms)");
    println!(
        "  payoff-plan p50 {:>8.3} ms; GET /debts of the same debts p50 {:>8.3} ms; ratio {:.1}",
        ms(plan_p50),
        ms(list_p50),
        plan_p50.as_secs_f64() / list_p50.as_secs_f64()
    );
    Row {
        figure: "payoff plan p50 (20 debts, 360 months, schedule)",
        goal: "< 5 ms",
        value: format!("{:.2} ms", ms(plan_p50)),
        reference: format!("GET /debts of them {:.2} ms", ms(list_p50)),
        ratio: plan_p50.as_secs_f64() / list_p50.as_secs_f64(),
        met: plan_p50 < Duration::from_millis(5),
    }
    .print();
}

/// The ids of every debt in the store (from replay's aggregate listing).
async fn list_debts(store: &dyn EventLog) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store
            .list_aggregates(store::Scan::whole(cursor.as_deref()))
            .await
            .unwrap();
        ids.extend(
            page.items
                .into_iter()
                .filter(|a| a.aggregate_type == events::AggregateType::Debt)
                .map(|a| a.aggregate_id),
        );
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}
