//! `GET /users/{username}/payoff-plan` and `GET /debts/{debt_id}/schedule` through their Lambda entrypoints,
//! over read items the projection built, on every engine (`sqlite::...`, `dynamodb::...`). The figures are
//! worked by hand in the comments (and in docs/openapi.json's examples).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use serde_json::{json, Value};

async fn create(
    api: &Api,
    owner: &str,
    name: &str,
    balance: &str,
    rate: &str,
    minimum: Option<&str>,
) -> String {
    let mut body = json!({"debt_name": name, "principal": balance, "interest_rate": rate,
                          "start_date": "2025-01-01", "payment_frequency": "monthly"});
    if let Some(minimum) = minimum {
        body["minimum_payment"] = json!(minimum);
    }
    let created = api.post_debt(owner, body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["data"]["debt_id"].as_str().unwrap().to_owned()
}

async fn plan(
    api: &Api,
    caller: &str,
    owner: &str,
    query: &[(&str, &str)],
    accept: Option<&str>,
) -> ApiResponse {
    let request = ApiRequest::new(
        "GET /users/{username}/payoff-plan",
        format!("/users/{owner}/payoff-plan"),
    )
    .path_param("username", owner)
    .as_user(caller);
    api.call(asking(request, query, accept)).await
}

/// `request` with the query parameters and, when given, an `Accept` header.
fn asking(mut request: ApiRequest, query: &[(&str, &str)], accept: Option<&str>) -> ApiRequest {
    for (name, value) in query {
        request = request.query(name, *value);
    }
    match accept {
        Some(accept) => request.header("Accept", accept),
        None => request,
    }
}

async fn schedule(
    api: &Api,
    owner: &str,
    debt_id: &str,
    query: &[(&str, &str)],
    accept: Option<&str>,
) -> ApiResponse {
    let request = debt_request("GET /debts/{debt_id}/schedule", debt_id, owner);
    api.call(asking(request, query, accept)).await
}

async fn a_plan_follows_the_monthly_rules_to_the_cent(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    // 1,000.00 at 12 % a year (1 % a month), a minimum of 400 a month, a budget of 500.
    let card = create(&api, &alice, "Card", "1000", "12", Some("400")).await;
    api.project_user(&alice).await;
    let query = [
        ("monthly_budget", "500"),
        ("start", "2026-12"),
        ("include", "schedule"),
    ];
    let answer = plan(&api, &alice, &alice, &query, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let data = &answer.body["data"];
    // Month 1: 10.00 interest, 500 paid, 510.00 left; month 2: 5.10, 500, 15.10; month 3: 0.15, 15.25, 0.
    let rows: Vec<(Value, Value, Value)> = data["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["interest"].clone(),
                r["payment"].clone(),
                r["balance"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            (json!("10.00"), json!("500.00"), json!("510.00")),
            (json!("5.10"), json!("500.00"), json!("15.10")),
            (json!("0.15"), json!("15.25"), json!("0.00")),
        ]
    );
    assert_eq!(data["months"], 3);
    assert_eq!(data["debt_free"], true);
    assert_eq!(data["debt_free_on"], "2027-02");
    assert_eq!(data["total_interest"], "15.25");
    assert_eq!(data["total_paid"], "1015.25");
    assert_eq!(data["debts"][0]["debt_id"], json!(card));
    assert_eq!(data["debts"][0]["paid_off_on"], "2027-02");
    // Minimums only: 10.00 + 6.10 + 2.16 of interest, also three months.
    assert_eq!(
        data["compare"]["minimum_only"],
        json!({"debt_free": true, "months": 3, "debt_free_on": "2027-02", "total_interest": "18.26",
               "balances": ["610.00", "216.10", "0.00"]})
    );
    // The chosen plan's month-end totals are its schedule's balances.
    assert_eq!(
        data["compare"]["avalanche"]["balances"],
        json!(["510.00", "15.10", "0.00"])
    );
    assert_eq!(data["compare"]["interest_saved_vs_minimum_only"], "3.01");
    assert_eq!(data["compare"]["months_saved_vs_minimum_only"], 0);

    // The one-debt plan at its minimum is the debt's schedule at that payment.
    let by_plan = plan(
        &api,
        &alice,
        &alice,
        &[
            ("monthly_budget", "400"),
            ("start", "2026-12"),
            ("include", "schedule"),
        ],
        None,
    )
    .await;
    let by_schedule = schedule(&api, &alice, &card, &[("start", "2026-12")], None).await;
    assert_eq!(by_schedule.status, 200, "{}", by_schedule.body);
    let s = &by_schedule.body["data"];
    assert_eq!(s["payment"], "400.00", "the monthly minimum by default");
    assert_eq!(s["months"], by_plan.body["data"]["months"]);
    assert_eq!(s["total_interest"], "18.26");
    assert_eq!(s["payment_for_36_months"], "33.22");
    for (row, planned) in s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(by_plan.body["data"]["schedule"].as_array().unwrap())
    {
        assert_eq!(
            (&row["interest"], &row["payment"], &row["balance"]),
            (
                &planned["interest"],
                &planned["payment"],
                &planned["balance"]
            )
        );
    }
    assert_eq!(
        s["rows"][2],
        json!({"month": 3, "on": "2027-02", "payment": "218.26", "interest": "2.16", "principal": "216.10", "balance": "0.00"})
    );

    // CSV, for a spreadsheet.
    let csv = plan(
        &api,
        &alice,
        &alice,
        &[("monthly_budget", "500"), ("start", "2026-12")],
        Some("text/csv"),
    )
    .await;
    assert_eq!(csv.status, 200);
    assert_eq!(csv.header("content-type"), Some("text/csv"));
    let text = csv.body.as_str().unwrap().to_owned();
    assert_eq!(
        text.lines().next(),
        Some("month,on,debt_id,interest,payment,balance")
    );
    assert_eq!(
        text.lines().nth(3),
        Some(format!("3,2027-02,{card},0.15,15.25,0.00").as_str())
    );
    let csv = schedule(
        &api,
        &alice,
        &card,
        &[("start", "2026-12")],
        Some("text/csv"),
    )
    .await;
    assert_eq!(
        csv.body.as_str().unwrap().lines().nth(1),
        Some("1,2026-12,400.00,10.00,390.00,610.00")
    );

    // How a payment changed the plan: the plan as of before it is the one above.
    // As answers state it (a whole millisecond has three digits, not six), to compare with the echo.
    let before = {
        use chrono::SubsecRound;
        let at = chrono::Utc::now().trunc_subsecs(6);
        queries::as_of::stated(at).as_str().unwrap().to_owned()
    };
    let today = chrono::Utc::now().date_naive().to_string();
    let paid = api
        .call(
            debt_request("POST /debts/{debt_id}/payments", &card, &alice)
                .json(json!({"amount": "600", "paid_on": today})),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    api.project_user(&alice).await;
    let now = plan(
        &api,
        &alice,
        &alice,
        &[("monthly_budget", "500"), ("start", "2026-12")],
        None,
    )
    .await;
    // 400.00 left: 4.00 of interest, then 404.00 paid in month 1.
    assert_eq!(
        (
            now.body["data"]["months"].clone(),
            now.body["data"]["total_interest"].clone()
        ),
        (json!(1), json!("4.00"))
    );
    let then = plan(
        &api,
        &alice,
        &alice,
        &[
            ("monthly_budget", "500"),
            ("start", "2026-12"),
            ("as_of", &before),
        ],
        None,
    )
    .await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(then.body["as_of"], json!(before));
    assert_eq!(then.body["data"]["total_interest"], "15.25");
}

async fn strategies_order_and_refusals(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let high = create(&api, &alice, "High rate", "3000", "24", Some("100")).await;
    let small = create(&api, &alice, "Small", "500", "5", Some("50")).await;
    api.project_user(&alice).await;
    let order = |answer: &ApiResponse| -> Vec<String> {
        let ids = answer.strings("/data/debts", "debt_id");
        ids.into_iter().map(str::to_owned).collect()
    };
    let avalanche = plan(&api, &alice, &alice, &[("monthly_budget", "400")], None).await;
    assert_eq!(avalanche.status, 200, "{}", avalanche.body);
    assert_eq!(order(&avalanche), [high.clone(), small.clone()]);
    assert_eq!(avalanche.body["data"]["strategy"], "avalanche");
    let snowball = plan(
        &api,
        &alice,
        &alice,
        &[("monthly_budget", "400"), ("strategy", "snowball")],
        None,
    )
    .await;
    assert_eq!(order(&snowball), [small.clone(), high.clone()]);
    // Avalanche pays less interest than snowball here; both beat the minimums.
    let interest = |a: &ApiResponse| {
        a.body["data"]["total_interest"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    };
    assert!(interest(&avalanche) < interest(&snowball));
    assert_eq!(
        avalanche.body["data"]["compare"]["snowball"]["total_interest"],
        snowball.body["data"]["total_interest"]
    );
    let custom_order = format!("{small},{high}");
    let custom = plan(
        &api,
        &alice,
        &alice,
        &[
            ("monthly_budget", "400"),
            ("strategy", "custom"),
            ("order", &custom_order),
        ],
        None,
    )
    .await;
    assert_eq!(custom.status, 200, "{}", custom.body);
    assert_eq!(order(&custom), [small.clone(), high.clone()]);

    assert!(plan(&api, &alice, &alice, &[], None)
        .await
        .field_error("monthly_budget")
        .contains("required"));
    for bad in ["0", "-5", "12.345", "lots"] {
        plan(&api, &alice, &alice, &[("monthly_budget", bad)], None)
            .await
            .field_error("monthly_budget");
    }
    assert!(
        plan(&api, &alice, &alice, &[("monthly_budget", "149.99")], None)
            .await
            .field_error("monthly_budget")
            .contains("150.00")
    );
    // Each refused query names its field; a budget of 400 covers the minimums throughout.
    let twice = format!("{small},{small}");
    let refusals: [(&[(&str, &str)], &str); 7] = [
        (&[("strategy", "custom"), ("order", &high)], "order"),
        (&[("strategy", "custom"), ("order", &twice)], "order"),
        (
            &[
                ("strategy", "custom"),
                ("order", "00000000-0000-4000-8000-000000000000"),
            ],
            "order",
        ),
        (&[("strategy", "custom")], "order"),
        (&[("order", &custom_order)], "order"),
        (&[("strategy", "cheapest")], "strategy"),
        (&[("start", "2026-13")], "start"),
    ];
    for (query, name) in refusals {
        let query: Vec<(&str, &str)> = [("monthly_budget", "400")]
            .into_iter()
            .chain(query.iter().copied())
            .collect();
        plan(&api, &alice, &alice, &query, None)
            .await
            .field_error(name);
    }
    assert_eq!(
        plan(
            &api,
            &username(),
            &alice,
            &[("monthly_budget", "400")],
            None
        )
        .await
        .status,
        404
    );

    // A debt without a minimum is named; a schedule needs a payment then, and one that covers the interest.
    let loose = create(&api, &alice, "No minimum", "800", "10", None).await;
    api.project_user(&alice).await;
    let refused = plan(&api, &alice, &alice, &[("monthly_budget", "400")], None).await;
    assert!(
        refused.field_error("minimum_payment").contains(&loose),
        "{}",
        refused.body
    );
    schedule(&api, &alice, &loose, &[], None)
        .await
        .field_error("payment");
    // 3,000.00 at 2 % a month is 60.00 of interest: 60 a month would never lower it.
    assert!(schedule(&api, &alice, &high, &[("payment", "60")], None)
        .await
        .field_error("payment")
        .contains("never"));
    assert_eq!(
        schedule(&api, &alice, &high, &[("payment", "60.01")], None)
            .await
            .status,
        200
    );
    assert_eq!(
        schedule(&api, &username(), &high, &[], None).await.status,
        404
    );
}

/// Every plan answers, and within a bound: a debt that outgrows any payment ends as "never" (it overflowed
/// and panicked before), a schedule comes in pages of whole months, an order is capped before it is checked.
async fn plans_stay_bounded_whatever_the_debts(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    // 2,000.00 at 100 % accrues 166.67 in the first month: neither a 1.00 minimum nor a 100 budget keeps up.
    let growing = create(&api, &alice, "Growing", "2000", "100", Some("1.00")).await;
    let tame = create(&api, &alice, "Tame", "500", "0", Some("10")).await;
    api.project_user(&alice).await;
    let query = [("monthly_budget", "100"), ("include", "schedule")];
    let never = plan(&api, &alice, &alice, &query, None).await;
    assert_eq!(never.status, 200, "{}", never.body);
    let data = &never.body["data"];
    assert_eq!(data["debt_free"], false);
    assert_eq!(data["never_falls"]["debt_id"], json!(growing));
    assert_eq!(data["never_falls"]["month"], 1);
    assert_eq!(data["months"], 1);
    // One JSON type per field: a plan that never ends says so with a flag, its figures null.
    assert_eq!(
        {
            let mut headline = data["compare"]["minimum_only"].clone();
            headline.as_object_mut().unwrap().remove("balances");
            headline
        },
        json!({"debt_free": false, "months": null, "debt_free_on": null, "total_interest": null})
    );
    assert_eq!(data["compare"]["avalanche"]["debt_free"], false);
    assert_eq!(data["schedule_next_month"], Value::Null);
    let csv = plan(&api, &alice, &alice, &query, Some("text/csv")).await;
    assert_eq!(csv.status, 200);

    // An order longer than anyone's debts is refused before it is looked at.
    let long: Vec<String> = (0..1_001).map(|_| tame.clone()).collect();
    let long = long.join(",");
    let refused = plan(
        &api,
        &alice,
        &alice,
        &[
            ("monthly_budget", "500"),
            ("strategy", "custom"),
            ("order", &long),
        ],
        None,
    )
    .await;
    assert!(
        refused.field_error("order").contains("at most 1000"),
        "{}",
        refused.body
    );

    // 30 debts of 1,000.00 at 0 % paid 10.00 each (and 300 in all) take 100 months: 3,000 rows in two pages
    // of whole months.
    let bob = username();
    for n in 0..30 {
        create(&api, &bob, &format!("Debt {n}"), "1000", "0", Some("10")).await;
    }
    api.project_user(&bob).await;
    let page = |from: Option<u32>, accept: Option<&'static str>| {
        let (api, bob) = (&api, &bob);
        async move {
            let mut query = vec![
                ("monthly_budget", "300".to_owned()),
                ("include", "schedule".to_owned()),
            ];
            if let Some(from) = from {
                query.push(("from_month", from.to_string()));
            }
            let query: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            plan(api, bob, bob, &query, accept).await
        }
    };
    let first = page(None, None).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let rows = first.body["data"]["schedule"].as_array().unwrap();
    let per_page = queries::SCHEDULE_ROWS_PER_PAGE;
    assert_eq!(
        rows.len(),
        per_page / 30 * 30,
        "whole months, as many as fit"
    );
    let next = first.body["data"]["schedule_next_month"].as_u64().unwrap();
    assert_eq!(next, (per_page / 30) as u64 + 1);
    assert_eq!(rows.last().unwrap()["month"], next - 1);
    let second = page(Some(next as u32), None).await;
    let rest = second.body["data"]["schedule"].as_array().unwrap();
    assert_eq!(rows.len() + rest.len(), 3_000, "every row once");
    assert_eq!(rest[0]["month"], next);
    assert_eq!(second.body["data"]["schedule_next_month"], Value::Null);
    let csv = page(None, Some("text/csv")).await;
    let link = csv.header("link").expect("a CSV page names the next");
    assert!(
        link.ends_with(&format!("from_month={next}>; rel=\"next\""))
            && link.contains("monthly_budget=300"),
        "{link}"
    );
    let csv_rows = csv.body.as_str().unwrap().lines().count() - 1;
    assert_eq!(csv_rows, rows.len());
    for bad in ["0", "1201", "x", "+3"] {
        let query = [
            ("monthly_budget", "300"),
            ("include", "schedule"),
            ("from_month", bad),
        ];
        plan(&api, &bob, &bob, &query, None)
            .await
            .field_error("from_month");
        // Without the schedule it is still a parameter of the request, and still refused (schemathesis
        // found a malformed one answered 200).
        plan(
            &api,
            &bob,
            &bob,
            &[("monthly_budget", "300"), ("from_month", bad)],
            None,
        )
        .await
        .field_error("from_month");
    }
}

/// Issue 31: a plan follows the debt's rate schedule: a 0 % promotion through March 2027 charges no interest
/// in January to March, and April accrues at the card's own 24 % again (900.00 x 24 / 1200 = 18.00).
async fn a_plan_follows_the_rate_schedule(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let card = create(&api, &alice, "Card", "1200", "24", Some("100")).await;
    let promotion = api
        .call(debt_request("POST /debts/{debt_id}/rates", &card, &alice).json(json!({
            "rate": "0", "effective_on": "2026-12-01", "ends_on": "2027-03-31", "kind": "promotional"
        })))
        .await;
    assert_eq!(promotion.status, 201, "{}", promotion.body);
    api.project_user(&alice).await;
    let query = [
        ("monthly_budget", "100"),
        ("start", "2027-01"),
        ("include", "schedule"),
    ];
    let answer = plan(&api, &alice, &alice, &query, None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let interest: Vec<&str> = answer.body["data"]["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .take(5)
        .map(|row| row["interest"].as_str().unwrap())
        .collect();
    assert_eq!(interest, ["0.00", "0.00", "0.00", "18.00", "16.36"]);
}

/// Issue 31: a weekly budget is a month's 52 / 12 of it; a budget change holds from its month, an extra adds
/// to one month; a target month gives the least budget that pays off by then; months outside the plan, a
/// change below the minimums and an unknown frequency are 422.
async fn a_plans_budget_moves_as_asked(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    create(&api, &alice, "Loan", "5000", "0", Some("100")).await;
    api.project_user(&alice).await;
    let ask = |extra_query: Vec<(&'static str, &'static str)>| {
        let mut query = vec![
            ("monthly_budget", "100"),
            ("start", "2027-01"),
            ("include", "schedule"),
        ];
        query.extend(extra_query);
        let (api, alice) = (&api, alice.clone());
        async move { plan(api, &alice, &alice, &query, None).await }
    };
    let weekly = ask(vec![
        ("budget_frequency", "weekly"),
        ("budget_changes", "2027-03:50"),
        ("extra", "2027-02:100.50"),
    ])
    .await;
    assert_eq!(weekly.status, 200, "{}", weekly.body);
    assert_eq!(
        weekly.body["data"]["monthly_budget"], "433.33",
        "100 x 52 / 12"
    );
    let payments: Vec<&str> = weekly.body["data"]["schedule"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|row| row["payment"].as_str().unwrap())
        .collect();
    // March's change is weekly too: 50 x 52 / 12 = 216.67.
    assert_eq!(payments, ["433.33", "533.83", "216.67"]);
    // Rule 10: 5,000 at 0 % paid off by the end of June 2027 (six months) takes 833.34 a month.
    let target = ask(vec![("target", "2027-06")]).await;
    assert_eq!(target.status, 200, "{}", target.body);
    assert_eq!(target.body["data"]["required_monthly_budget"], "833.34");
    for (query, field) in [
        (vec![("target", "2026-12")], "target"),
        (vec![("extra", "2026-12:10")], "extra"),
        (vec![("budget_changes", "2027-02:99.99")], "monthly_budget"),
        (vec![("budget_frequency", "daily")], "budget_frequency"),
        (vec![("budget_changes", "2027-02")], "budget_changes"),
    ] {
        let refused = ask(query).await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.to_string().contains(field), "{}", refused.body);
    }
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_plan_follows_the_monthly_rules_to_the_cent,
    a_plans_budget_moves_as_asked,
    a_plan_follows_the_rate_schedule,
    strategies_order_and_refusals,
    plans_stay_bounded_whatever_the_debts,
);
