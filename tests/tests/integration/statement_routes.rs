//! `POST /debts/{debt_id}/statements` (issue 31): the lender's statement reconciled against the balance by
//! effective date, through the Lambda entrypoints on every engine (`sqlite::...`, `dynamodb::...`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{Duration, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

const STATEMENTS: &str = "POST /debts/{debt_id}/statements";
const PAY: &str = "POST /debts/{debt_id}/payments";
const CHARGE: &str = "POST /debts/{debt_id}/charges";

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn dec(raw: &Value) -> Decimal {
    Decimal::from_str(raw.as_str().expect("a decimal string")).unwrap()
}

/// A card of 12,000.50 at 4.5 % (monthly rule) from 2025-06-01: 500.50 paid ten days ago and 100.00 today.
/// The lender's statement closing five days ago says 11,543.13 with 43.13 of interest: the records said
/// 11,500.00 on that day, so the statement books 43.13 of interest, the model's own interest for the cycle is
/// 11,500.00 x 4.5 / 1200 = 43.125, 43.13, and today's payment stays on top: 11,443.13.
async fn a_statement_books_the_difference_on_its_closing_date(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    for (amount, paid_on) in [("500.50", day(-10)), ("100.00", day(0))] {
        let paid = api
            .on_debt(
                PAY,
                &debt_id,
                &alice,
                json!({"amount": amount, "paid_on": paid_on}),
            )
            .await;
        assert_eq!(paid.status, 201, "{}", paid.body);
    }
    let body = json!({
        "closing_date": day(-5), "statement_balance": "11543.13", "minimum_due": "120",
        "interest_charged": "43.13",
    });
    let stated = api
        .on_debt(STATEMENTS, &debt_id, &alice, body.clone())
        .await;
    assert_eq!(stated.status, 201, "{}", stated.body);
    let data = &stated.body["data"];
    assert_eq!(data["current_balance"], "11443.13");
    assert_eq!(data["version"], 4);
    let closing = day(-5);
    let due = (Utc::now().date_naive() + Duration::days(16)).to_string();
    assert_eq!(
        data["last_statement"],
        json!({
            "closing_date": closing, "statement_balance": "11543.13", "minimum_due": "120.00",
            "due_date": due, "interest_charged": "43.13", "expected_balance": "11500.00",
            "difference": "43.13", "model_interest": "43.13",
            "booked": [{"kind": "interest", "amount": "43.13"}],
        })
    );
    let again = api.on_debt(STATEMENTS, &debt_id, &alice, body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        again.body["data"]["version"], 4,
        "the same statement appends nothing"
    );

    api.project_user(&alice).await;
    let read = api
        .call(debt_request("GET /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["data"]["last_statement"], data["last_statement"]);
    // Shown, never booked: today's balance over the five days since the closing at 4.5 % / 36500 a day.
    let estimate = (Decimal::from_str("11443.13").unwrap() * Decimal::from(5 * 45)
        / Decimal::from(365_000))
    .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
    assert_eq!(
        dec(&read.body["data"]["estimated_interest_since_statement"]),
        estimate
    );

    let history = api
        .call(debt_request(
            "GET /debts/{debt_id}/history",
            &debt_id,
            &alice,
        ))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let entries = history.body["data"].as_array().unwrap();
    let statement = &entries[3];
    assert_eq!(statement["event_type"], "StatementRecorded");
    assert_eq!(
        statement["effective_on"],
        json!(closing),
        "the day it happened"
    );
    assert!(
        statement["occurred_at"].is_string(),
        "and when it was recorded"
    );
    assert_eq!(statement["data"]["interest_charged"], "43.13");
    assert_eq!(
        statement["data"]["model_interest"], "43.13",
        "the lender's beside the model's"
    );
    assert_eq!(
        statement["balance"],
        json!({"before": "11400.00", "after": "11443.13"})
    );
    assert_eq!(entries[1]["effective_on"], json!(day(-10)));
    assert_eq!(entries[0]["effective_on"], "2025-06-01");
}

/// What a statement refuses (422 naming the field, nothing written), and what it closes: a payment dated in
/// its cycle. Someone else's debt is 404.
async fn statements_refuse_what_does_not_reconcile(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let stated = api
        .on_debt(
            STATEMENTS,
            &debt_id,
            &alice,
            json!({"closing_date": day(-3), "statement_balance": "12000.50", "minimum_due": "50"}),
        )
        .await;
    assert_eq!(stated.status, 201, "{}", stated.body);
    assert!(
        stated.body["data"]["last_statement"]
            .get("booked")
            .is_none(),
        "{}",
        stated.body
    );
    let mallory = username();
    api.register(&mallory).await;
    let before = api.store.snapshot().await;
    for (route, body, field) in [
        (
            STATEMENTS,
            json!({"closing_date": day(1), "statement_balance": "1", "minimum_due": "0"}),
            "closing_date",
        ),
        (
            STATEMENTS,
            json!({"closing_date": day(-4), "statement_balance": "1", "minimum_due": "0"}),
            "closing_date",
        ),
        (
            STATEMENTS,
            json!({"closing_date": day(-3), "statement_balance": "1", "minimum_due": "0"}),
            "closing_date",
        ),
        (
            STATEMENTS,
            json!({"closing_date": "2025-05-31", "statement_balance": "1", "minimum_due": "0"}),
            "closing_date",
        ),
        (
            STATEMENTS,
            json!({"closing_date": day(0), "statement_balance": "10", "minimum_due": "11"}),
            "minimum_due",
        ),
        (
            STATEMENTS,
            json!({"closing_date": day(0), "statement_balance": "10", "minimum_due": "1", "due_date": day(-1)}),
            "due_date",
        ),
        (
            STATEMENTS,
            json!({"closing_date": day(0), "statement_balance": "-1", "minimum_due": "0"}),
            "statement_balance",
        ),
        (PAY, json!({"amount": "10", "paid_on": day(-3)}), "paid_on"),
        (PAY, json!({"amount": "10", "paid_on": day(-30)}), "paid_on"),
    ] {
        let refused = api.on_debt(route, &debt_id, &alice, body.clone()).await;
        refused.assert_refused(field, &body);
    }
    let theirs = api
        .on_debt(
            STATEMENTS,
            &debt_id,
            &mallory,
            json!({"closing_date": day(0), "statement_balance": "1", "minimum_due": "0"}),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    api.store
        .assert_unchanged(&before, "a refused statement writes nothing")
        .await;
    let after_closing = api
        .on_debt(
            PAY,
            &debt_id,
            &alice,
            json!({"amount": "10", "paid_on": day(-2)}),
        )
        .await;
    assert_eq!(
        after_closing.status, 201,
        "the next cycle is open: {}",
        after_closing.body
    );
}

async fn get(
    api: &Api,
    route: &'static str,
    path: String,
    owner: &str,
    query: &[(&str, &str)],
) -> ApiResponse {
    let id = path.rsplit('/').next().unwrap_or_default().to_owned();
    let mut request = ApiRequest::new(route, path).as_user(owner);
    if route.contains("{debt_id}") {
        request = request.path_param("debt_id", &id);
    }
    if route.contains("{username}") {
        request = request.path_param("username", owner);
    }
    for (name, value) in query {
        request = request.query(name, *value);
    }
    api.call(request).await
}

/// `?on=DATE` by effective date on the debt, the list and the summary, and with `as_of` (bitemporal): a
/// charge of interest dated 40 days ago and a payment dated 10 days ago but recorded after the instant `T`.
async fn balances_by_effective_date_and_recorded_time(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let path = format!("/debts/{debt_id}");
    let charged = api
        .on_debt(
            CHARGE,
            &debt_id,
            &alice,
            json!({"amount": "20", "charged_on": day(-40), "kind": "interest"}),
        )
        .await;
    assert_eq!(charged.status, 201, "{}", charged.body);
    let before_payment = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let paid = api
        .on_debt(
            PAY,
            &debt_id,
            &alice,
            json!({"amount": "500.50", "paid_on": day(-10)}),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let later_debt = api
        .call(
            ApiRequest::new("POST /debts", "/debts").as_user(&alice).json(json!({
                "debt_name": "New card", "principal": "100", "interest_rate": "20", "start_date": day(-1),
                "payment_frequency": "monthly", "statement_day": 5, "due_days": 25, "interest_method": "daily",
            })),
        )
        .await;
    assert_eq!(later_debt.status, 201, "{}", later_debt.body);
    let terms = &later_debt.body["data"];
    assert_eq!(
        (terms["statement_day"].clone(), terms["due_days"].clone()),
        (json!(5), json!(25))
    );
    assert_eq!(terms["interest_method"], "daily");

    let debt = |query: Vec<(&'static str, String)>| {
        let (api, alice, path) = (&api, alice.clone(), path.clone());
        async move {
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            get(api, "GET /debts/{debt_id}", path, &alice, &query).await
        }
    };
    let on_20 = debt(vec![("on", day(-20))]).await;
    assert_eq!(on_20.status, 200, "{}", on_20.body);
    assert_eq!(on_20.body["data"]["current_balance"], "12020.50");
    assert_eq!(on_20.body["data"]["total_paid"], "0.00");
    assert_eq!(on_20.body["data"]["total_charged"], "20.00");
    assert_eq!(on_20.body["on"], json!(day(-20)));
    let on_5 = debt(vec![("on", day(-5))]).await;
    assert_eq!(on_5.body["data"]["current_balance"], "11520.00");
    assert_eq!(on_5.body["data"]["last_payment_on"], json!(day(-10)));
    let on_today = debt(vec![("on", day(0))]).await;
    api.project_user(&alice).await;
    let recorded = api
        .call(debt_request("GET /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(on_today.body["data"]["current_balance"], "11520.00");
    assert_eq!(
        recorded.body["data"]["current_balance"], "11520.00",
        "all dates past: today's"
    );
    let bitemporal = debt(vec![("on", day(-5)), ("as_of", before_payment.clone())]).await;
    assert_eq!(bitemporal.status, 200, "{}", bitemporal.body);
    assert_eq!(
        bitemporal.body["data"]["current_balance"], "12020.50",
        "by effective date, as recorded before the payment"
    );
    assert!(bitemporal.body["as_of"].is_string());
    assert_eq!(
        debt(vec![("on", "2025-05-31".into())]).await.status,
        404,
        "not started"
    );
    let bad = debt(vec![("on", "2025-13-01".into())]).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.field_error("on").len() > 3, "{}", bad.body);

    let listed = get(
        &api,
        "GET /debts",
        "/debts".into(),
        &alice,
        &[("on", &day(-20))],
    )
    .await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let items = listed.body["data"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the new card had not started: {}",
        listed.body
    );
    assert_eq!(items[0]["current_balance"], "12020.50");
    let summary_path = format!("/users/{alice}/summary");
    let summary = get(
        &api,
        "GET /users/{username}/summary",
        summary_path.clone(),
        &alice,
        &[("on", &day(-20))],
    )
    .await;
    assert_eq!(summary.status, 200, "{}", summary.body);
    assert_eq!(summary.body["data"]["total_current_balance"], "12020.50");
    assert_eq!(summary.body["data"]["total_paid"], "0.00");
    let months = summary.body["data"]["interest_by_month"]
        .as_array()
        .unwrap();
    assert_eq!(months.len(), 12);
    let charged_month = &day(-40)[..7];
    for month in months {
        let expected = if month["month"] == charged_month {
            "20.00"
        } else {
            "0.00"
        };
        assert_eq!(month["interest"], expected, "{}", summary.body);
    }
    let now = get(
        &api,
        "GET /users/{username}/summary",
        summary_path,
        &alice,
        &[("on", &day(0))],
    )
    .await;
    assert_eq!(
        now.body["data"]["total_current_balance"], "11620.00",
        "both debts"
    );
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    balances_by_effective_date_and_recorded_time,
    a_statement_books_the_difference_on_its_closing_date,
    statements_refuse_what_does_not_reconcile,
    terms_are_stated_changed_and_checked,
);

/// A debt's terms: stated on creation, changed by an update (one event naming only them), and refused (422
/// naming the field) outside their ranges.
async fn terms_are_stated_changed_and_checked(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let read = api
        .call(debt_request("PUT /debts/{debt_id}", &debt_id, &alice).json(json!({"due_days": 21})))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(
        read.body["data"]["version"], 1,
        "the defaults: nothing changed"
    );
    assert_eq!(
        read.body["data"]["statement_day"], 1,
        "the start date's day"
    );
    assert_eq!(read.body["data"]["interest_method"], "monthly");
    let changed = api
        .call(
            debt_request("PUT /debts/{debt_id}", &debt_id, &alice)
                .json(json!({"statement_day": 28, "due_days": 25, "interest_method": "daily"})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["data"]["version"], 2);
    assert_eq!(changed.body["data"]["statement_day"], 28);
    let before = api.store.snapshot().await;
    for (body, field) in [
        (json!({"statement_day": 29}), "statement_day"),
        (json!({"statement_day": 0}), "statement_day"),
        (json!({"statement_day": "5"}), "statement_day"),
        (json!({"statement_day": 5.5}), "statement_day"),
        (json!({"statement_day": -5}), "statement_day"),
        (json!({"due_days": 91}), "due_days"),
        (json!({"interest_method": "weekly"}), "interest_method"),
    ] {
        let refused = api
            .call(debt_request("PUT /debts/{debt_id}", &debt_id, &alice).json(body.clone()))
            .await;
        refused.assert_refused(field, &body);
    }
    api.store
        .assert_unchanged(&before, "refused terms write nothing")
        .await;
}
