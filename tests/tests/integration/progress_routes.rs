//! `GET /users/{username}/progress`, `PUT /users/{username}/plan` and `GET /users/{username}/plan` (issue 33)
//! through their Lambda entrypoints, on every engine. Progress is checked against a fold written here, apart
//! from the code under test: each debt's opening balance plus its charges less its payments dated by each
//! month's end, a deleted debt counted until its deletion's month.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::collections::BTreeMap;

use chrono::{Datelike, Months, NaiveDate, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use rust_decimal::Decimal;
use serde_json::{json, Value};

/// The first day of the month `back` months before this one (UTC, the owner's zone by default).
fn month_start(back: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    today.with_day(1).unwrap() - Months::new(back)
}

fn label(day: NaiveDate) -> String {
    day.format("%Y-%m").to_string()
}

fn dec(text: &str) -> Decimal {
    text.parse().unwrap()
}

/// A debt as the test knows it: when it started, what it opened at, and its movements (signed: a payment
/// lowers the balance), each with its kind.
struct Known {
    id: String,
    start: NaiveDate,
    opening: Decimal,
    moves: Vec<(NaiveDate, Decimal, &'static str)>,
    deleted: bool,
}

impl Known {
    /// The balance at `end` by effective date, as the test folds it.
    fn balance(&self, end: NaiveDate, this_month: NaiveDate) -> Decimal {
        if self.start > end || (self.deleted && end >= this_month) {
            return Decimal::ZERO;
        }
        self.opening
            + self
                .moves
                .iter()
                .filter(|(day, _, _)| *day <= end)
                .map(|(_, amount, _)| *amount)
                .sum::<Decimal>()
    }

    /// What moved in the month starting `first`, of `kind`, as a positive amount.
    fn moved(&self, first: NaiveDate, kind: &str) -> Decimal {
        self.moves
            .iter()
            .filter(|(day, _, k)| {
                *k == kind && day.year() == first.year() && day.month() == first.month()
            })
            .map(|(_, amount, _)| amount.abs())
            .sum()
    }
}

async fn create(api: &Api, owner: &str, start: NaiveDate, balance: &str, rate: &str) -> Known {
    let body = json!({"debt_name": "Loan", "principal": balance, "interest_rate": rate,
                      "start_date": start.to_string(), "payment_frequency": "monthly",
                      "minimum_payment": "50"});
    let created = api.post_debt(owner, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    Known {
        id: created.body["data"]["debt_id"].as_str().unwrap().to_owned(),
        start,
        opening: dec(balance),
        moves: Vec::new(),
        deleted: false,
    }
}

async fn pay(api: &Api, owner: &str, debt: &mut Known, on: NaiveDate, amount: &str) {
    let body = json!({"amount": amount, "paid_on": on.to_string()});
    let paid = api
        .on_debt("POST /debts/{debt_id}/payments", &debt.id, owner, body)
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    debt.moves.push((on, -dec(amount), "paid"));
}

async fn charge(
    api: &Api,
    owner: &str,
    debt: &mut Known,
    on: NaiveDate,
    amount: &str,
    kind: &'static str,
) {
    let body = json!({"amount": amount, "charged_on": on.to_string(), "kind": kind});
    let charged = api
        .on_debt("POST /debts/{debt_id}/charges", &debt.id, owner, body)
        .await;
    assert_eq!(charged.status, 201, "{}", charged.body);
    debt.moves.push((on, dec(amount), kind));
}

fn user_request(route: &'static str, path: &str, owner: &str, caller: &str) -> ApiRequest {
    ApiRequest::new(route, format!("/users/{owner}/{path}"))
        .path_param("username", owner)
        .as_user(caller)
}

async fn progress(api: &Api, owner: &str, query: &[(&str, &str)]) -> ApiResponse {
    let mut request = user_request("GET /users/{username}/progress", "progress", owner, owner);
    for (name, value) in query {
        request = request.query(name, *value);
    }
    api.call(request).await
}

async fn adopt(api: &Api, caller: &str, owner: &str, body: Value) -> ApiResponse {
    api.call(user_request("PUT /users/{username}/plan", "plan", owner, caller).json(body))
        .await
}

async fn adopted(api: &Api, owner: &str) -> ApiResponse {
    api.call(user_request(
        "GET /users/{username}/plan",
        "plan",
        owner,
        owner,
    ))
    .await
}

fn money(value: &Value) -> Decimal {
    dec(value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not an amount")))
}

async fn progress_is_the_fold_of_payments_charges_and_a_deleted_debt(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let (m3, m2, m1, m0) = (
        month_start(3),
        month_start(2),
        month_start(1),
        month_start(0),
    );
    let today = Utc::now().date_naive();
    let mut car = create(&api, &alice, m3 + chrono::Days::new(4), "5000.00", "6").await;
    let mut card = create(&api, &alice, m2, "1200.00", "24").await;
    let mut old = create(&api, &alice, m3, "300.00", "0").await;
    pay(&api, &alice, &mut car, m2 + chrono::Days::new(9), "250.00").await;
    // Recorded now, dated two months back: by effective date it counts in that month.
    pay(&api, &alice, &mut card, m1 + chrono::Days::new(2), "100.00").await;
    charge(
        &api,
        &alice,
        &mut card,
        m1 + chrono::Days::new(27),
        "21.40",
        "interest",
    )
    .await;
    charge(&api, &alice, &mut car, today, "35.00", "fee").await;
    pay(&api, &alice, &mut old, m2 + chrono::Days::new(1), "75.00").await;
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &old.id, &alice))
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    old.deleted = true;

    let answer = progress(&api, &alice, &[]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let data = &answer.body["data"];
    assert_eq!(
        data["from"],
        label(m3),
        "from the first debt's start by default"
    );
    assert_eq!(data["to"], label(m0));
    assert_eq!(data["plan_adopted"], false);
    let months = data["months"].as_array().unwrap();
    assert_eq!(months.len(), 4);
    let debts = [&car, &card, &old];
    for (month, first) in months.iter().zip([m3, m2, m1, m0]) {
        let end = (first + Months::new(1)).pred_opt().unwrap();
        let expected_total: Decimal = debts.iter().map(|d| d.balance(end, m0)).sum();
        assert_eq!(month["month"], label(first));
        assert_eq!(money(&month["total_balance"]), expected_total, "{month}");
        for (field, kind) in [("paid", "paid"), ("interest", "interest"), ("fees", "fee")] {
            let expected: Decimal = debts.iter().map(|d| d.moved(first, kind)).sum();
            assert_eq!(money(&month[field]), expected, "{field} in {month}");
        }
        let rows: BTreeMap<&str, &Value> = month["debts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["debt_id"].as_str().unwrap(), row))
            .collect();
        for debt in debts {
            match rows.get(debt.id.as_str()) {
                Some(row) => assert_eq!(money(&row["balance"]), debt.balance(end, m0)),
                None => assert!(
                    debt.balance(end, m0).is_zero() && debt.moved(first, "paid").is_zero(),
                    "a debt with a balance or a movement has its row: {month}"
                ),
            }
        }
        assert_eq!(month["planned_total"], Value::Null);
    }
    assert!(
        months[2]["debts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["debt_id"] == json!(old.id)),
        "the deleted debt counts before its deletion's month"
    );
    assert_eq!(money(&months[3]["fees"]), dec("35.00"));

    // A narrower range, and the refusals.
    let one = progress(&api, &alice, &[("from", &label(m1)), ("to", &label(m1))]).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["data"]["months"].as_array().unwrap().len(), 1);
    assert_eq!(one.body["data"]["months"][0], months[2]);
    let next = label(month_start(0) + Months::new(1));
    let far = label(month_start(130));
    for (query, field) in [
        (vec![("from", "2026-13")], "from"),
        (vec![("to", next.as_str())], "to"),
        (
            vec![("from", label(m0).as_str()), ("to", label(m1).as_str())],
            "from",
        ),
        (vec![("from", far.as_str())], "from"),
    ] {
        let refused = progress(&api, &alice, &query).await;
        refused.assert_refused(field, &format!("{query:?}"));
    }
    let bob = username();
    api.register(&bob).await;
    let theirs = api
        .call(user_request(
            "GET /users/{username}/progress",
            "progress",
            &alice,
            &bob,
        ))
        .await;
    assert_eq!(theirs.status, 404, "someone else's progress");
    let empty = progress(&api, &bob, &[]).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["data"]["months"][0]["total_balance"], "0.00");
}

async fn an_adopted_plan_keeps_its_promise_and_progress_is_measured_against_it(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let nothing = adopt(&api, &alice, &alice, json!({"monthly_budget": "500"})).await;
    nothing.assert_refused("monthly_budget", &"no open debt");
    let missing = adopted(&api, &alice).await;
    assert_eq!(missing.status, 404, "{}", missing.body);

    let card = create(&api, &alice, month_start(2), "1000.00", "12").await;
    let loan = create(&api, &alice, month_start(2), "2000.00", "6").await;
    api.project_user(&alice).await;
    let start = label(month_start(0) + Months::new(1));
    let body = json!({"strategy": "avalanche", "monthly_budget": "600",
                      "extra": [{"month": start, "amount": "100"}]});
    let answer = adopt(&api, &alice, &alice, body).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let plan = answer.body["data"].clone();
    assert_eq!(plan["start"], json!(start));
    assert_eq!(plan["starting_total"], "3000.00");
    assert_eq!(
        plan["order"],
        json!([card.id, loan.id]),
        "highest rate first"
    );
    assert_eq!(plan["extra"], json!([{"month": start, "amount": "100.00"}]));

    // The promise is the payoff plan's own schedule, month-end totals summed.
    let query = [
        ("monthly_budget", "600"),
        ("start", start.as_str()),
        ("extra", &format!("{start}:100")),
        ("include", "schedule"),
    ];
    let mut request = user_request(
        "GET /users/{username}/payoff-plan",
        "payoff-plan",
        &alice,
        &alice,
    );
    for (name, value) in query {
        request = request.query(name, value);
    }
    let payoff = api.call(request).await;
    assert_eq!(payoff.status, 200, "{}", payoff.body);
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for row in payoff.body["data"]["schedule"].as_array().unwrap() {
        *totals
            .entry(row["on"].as_str().unwrap().to_owned())
            .or_default() += money(&row["balance"]);
    }
    let planned: BTreeMap<String, Decimal> = plan["planned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["month"].as_str().unwrap().to_owned(), money(&p["total"])))
        .collect();
    assert_eq!(planned, totals);
    assert_eq!(plan["debt_free_on"], payoff.body["data"]["debt_free_on"]);
    assert_eq!(
        plan["total_interest"],
        payoff.body["data"]["total_interest"]
    );
    assert_eq!(
        plan["today"],
        json!({"month": label(month_start(0)), "total": "3000.00", "planned_total": "3000.00",
               "ahead_by": {"amount": "0.00", "months": 0}, "debt_free": true,
               "debt_free_on": payoff.body["data"]["debt_free_on"],
               "months": payoff.body["data"]["months"], "why_not": null})
    );
    assert_eq!(
        adopted(&api, &alice).await.body["data"],
        plan,
        "GET shows what PUT answered"
    );

    // A payment today puts this month ahead of the plan's curve, in money.
    let mut card = card;
    pay(&api, &alice, &mut card, Utc::now().date_naive(), "400.00").await;
    api.project_user(&alice).await;
    let now = adopted(&api, &alice).await;
    assert_eq!(
        now.body["data"]["planned"], plan["planned"],
        "the promise is never rewritten"
    );
    assert_eq!(now.body["data"]["today"]["total"], "2600.00");
    assert_eq!(now.body["data"]["today"]["ahead_by"]["amount"], "400.00");
    let measured = progress(&api, &alice, &[("from", &label(month_start(1)))]).await;
    assert_eq!(measured.status, 200, "{}", measured.body);
    let months = measured.body["data"]["months"].as_array().unwrap();
    assert_eq!(measured.body["data"]["plan_adopted"], true);
    assert_eq!(
        months[0]["planned_total"],
        Value::Null,
        "before the adoption"
    );
    assert_eq!(months[1]["planned_total"], "3000.00");
    assert_eq!(months[1]["ahead_by"]["amount"], "400.00");

    // Adopting again supersedes the plan; the log keeps both.
    let again = adopt(
        &api,
        &alice,
        &alice,
        json!({"strategy": "snowball", "monthly_budget": 700}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(
        adopted(&api, &alice).await.body["data"]["strategy"],
        "snowball"
    );
    let log = api.store.history(&store::AggregateRef::user(&alice)).await;
    let plans = log
        .iter()
        .filter(|e| e.payload.event_type() == "PlanAdopted")
        .count();
    assert_eq!(plans, 2);

    // Refused, and nothing appended.
    for (body, field) in [
        (json!({"monthly_budget": "20"}), "monthly_budget"),
        (json!({"monthly_budget": "600", "start": start}), "start"),
        (
            json!({"monthly_budget": "600", "strategy": "custom"}),
            "order",
        ),
        (
            json!({"monthly_budget": "600", "strategy": "custom", "order": "a,b"}),
            "order",
        ),
        (
            json!({"monthly_budget": "600", "extra": [{"month": "2020-01", "amount": "5"}]}),
            "extra",
        ),
        (json!({"strategy": "snowball"}), "monthly_budget"),
    ] {
        adopt(&api, &alice, &alice, body.clone())
            .await
            .assert_refused(field, &body);
    }
    let after = api.store.history(&store::AggregateRef::user(&alice)).await;
    assert_eq!(after.len(), log.len(), "a refused plan appends nothing");
    let bob = username();
    api.register(&bob).await;
    let theirs = adopt(&api, &bob, &alice, json!({"monthly_budget": "600"})).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    // A budget that only pays the minimums on a debt whose interest outruns them never ends: refused.
    let carol = username();
    api.register(&carol).await;
    create(&api, &carol, month_start(1), "100000.00", "30").await;
    api.project_user(&carol).await;
    adopt(&api, &carol, &carol, json!({"monthly_budget": "50"}))
        .await
        .assert_refused("monthly_budget", &"a plan that never ends");
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    progress_is_the_fold_of_payments_charges_and_a_deleted_debt,
    an_adopted_plan_keeps_its_promise_and_progress_is_measured_against_it,
);
