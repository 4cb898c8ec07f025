//! `POST /debts/{debt_id}/statements` (issue 31): the lender's statement reconciled against the balance by
//! effective date, through the Lambda entrypoints on every engine (`sqlite::...`, `dynamodb::...`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{Duration, Utc};
use integration_tests::api::ApiResponse;
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::lambdas::replay;
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use projections::replay::{ReplayOptions, Scope};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use std::str::FromStr;

const STATEMENTS: &str = "POST /debts/{debt_id}/statements";
const PAY: &str = "POST /debts/{debt_id}/payments";

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn dec(raw: &Value) -> Decimal {
    Decimal::from_str(raw.as_str().expect("a decimal string")).unwrap()
}

async fn post(
    api: &Api,
    route: &'static str,
    debt_id: &str,
    owner: &str,
    body: Value,
) -> ApiResponse {
    api.call(debt_request(route, debt_id, owner).json(body))
        .await
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
        let paid = post(
            &api,
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
    let stated = post(&api, STATEMENTS, &debt_id, &alice, body.clone()).await;
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
    let again = post(&api, STATEMENTS, &debt_id, &alice, body).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(
        again.body["data"]["version"], 4,
        "the same statement appends nothing"
    );

    replay(
        &api.store.stores,
        &ReplayOptions::new(Scope::User(alice.clone())),
        |_| {},
    )
    .await
    .unwrap();
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
    let stated = post(
        &api,
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
        let refused = post(&api, route, &debt_id, &alice, body.clone()).await;
        assert_eq!(refused.status, 422, "{body}: {}", refused.body);
        assert!(
            refused.field_error(field).len() > 3,
            "{body}: {}",
            refused.body
        );
    }
    let theirs = post(
        &api,
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
    let after_closing = post(
        &api,
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

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_statement_books_the_difference_on_its_closing_date,
    statements_refuse_what_does_not_reconcile,
);
