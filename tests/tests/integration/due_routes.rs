//! Due dates and overdue (issue 32): `next_due_on`, `minimum_due` and the status `overdue` on the debt, the
//! list's `status=overdue` and the summary's `overdue_debts`, through the Lambda entrypoints on every engine.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{Duration, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use serde_json::{json, Value};

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

async fn post(
    api: &Api,
    route: &'static str,
    debt_id: &str,
    owner: &str,
    body: Value,
) -> ApiResponse {
    let answer = api.on_debt(route, debt_id, owner, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer
}

async fn read_all(api: &Api, owner: &str) -> (ApiResponse, ApiResponse, ApiResponse) {
    api.project_user(owner).await;
    let listed = api
        .call(
            ApiRequest::new("GET /debts", "/debts")
                .as_user(owner)
                .query("status", "overdue"),
        )
        .await;
    let summary = api
        .call(
            ApiRequest::new(
                "GET /users/{username}/summary",
                format!("/users/{owner}/summary"),
            )
            .path_param("username", owner)
            .as_user(owner),
        )
        .await;
    let all = api
        .call(ApiRequest::new("GET /debts", "/debts").as_user(owner))
        .await;
    (listed, summary, all)
}

/// A statement closed 30 days ago, due 5 days ago with a minimum of 50.00: nothing paid in its cycle makes
/// the debt overdue (on the debt, in the list's `status=overdue`, in the summary); 50.00 dated in the cycle
/// clears it. A debt without a minimum is never overdue.
async fn a_missed_minimum_makes_a_debt_overdue_until_it_is_paid(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let other = api.new_debt_id(&alice).await;
    post(&api, "POST /debts/{debt_id}/statements", &debt_id, &alice, json!({
        "closing_date": day(-30), "statement_balance": "12000.50", "minimum_due": "50", "due_date": day(-5),
    }))
    .await;
    let (listed, summary, all) = read_all(&api, &alice).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let overdue: Vec<&Value> = listed.body["data"].as_array().unwrap().iter().collect();
    assert_eq!(overdue.len(), 1, "{}", listed.body);
    assert_eq!(overdue[0]["debt_id"], json!(debt_id));
    assert_eq!(overdue[0]["status"], "overdue");
    assert_eq!(overdue[0]["missed_due_on"], json!(day(-5)));
    assert_eq!(summary.body["data"]["overdue_debts"], 1, "{}", summary.body);
    let theirs = all.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["debt_id"] == json!(other))
        .unwrap();
    assert_eq!(theirs["status"], "open", "no minimum: never overdue");
    let read = api
        .call(debt_request("GET /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(read.body["data"]["status"], "overdue");
    assert!(
        read.body["data"]["next_due_on"]
            .as_str()
            .is_some_and(|d| *d >= *day(0)),
        "{}",
        read.body
    );

    post(
        &api,
        "POST /debts/{debt_id}/payments",
        &debt_id,
        &alice,
        json!({"amount": "50", "paid_on": day(-10)}),
    )
    .await;
    let (listed, summary, _) = read_all(&api, &alice).await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "paid in the cycle: {}",
        listed.body
    );
    assert_eq!(summary.body["data"]["overdue_debts"], 0);
    let read = api
        .call(debt_request("GET /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(read.body["data"]["status"], "open", "{}", read.body);
}

async fn debt_status(api: &Api, debt_id: &str, owner: &str) -> Value {
    let read = api
        .call(debt_request("GET /debts/{debt_id}", debt_id, owner))
        .await;
    read.body["data"]["status"].clone()
}

async fn set_zone(api: &Api, owner: &str, body: Value) -> ApiResponse {
    api.call(
        ApiRequest::new("PATCH /users/{username}", format!("/users/{owner}"))
            .path_param("username", owner)
            .as_user(owner)
            .json(body),
    )
    .await
}

/// `PATCH /users/{username}` sets the time zone a user's due dates end in (refusing what is not an IANA
/// name, and anyone else's), and a due date is overdue only once it has passed there: a statement due on
/// the UTC date before today is overdue in UTC but not where it is still that date (UTC-12 before 11:00 UTC);
/// one due today is not overdue in UTC but is where it is already tomorrow (UTC+14 from 11:00 UTC).
async fn a_due_date_ends_at_midnight_in_the_owners_time_zone(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    // An hour from either edge, so the test's own minutes never cross one.
    let before_noon = Utc::now().time() < chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap();
    let (zone, due) = if before_noon {
        ("Etc/GMT+12", day(-1))
    } else {
        ("Etc/GMT-14", day(0))
    };
    post(&api, "POST /debts/{debt_id}/statements", &debt_id, &alice, json!({
        "closing_date": day(-30), "statement_balance": "12000.50", "minimum_due": "50", "due_date": due,
    }))
    .await;
    api.project_user(&alice).await;

    let in_utc = debt_status(&api, &debt_id, &alice).await;
    assert_eq!(in_utc, if before_noon { "overdue" } else { "open" });

    let mallory = username();
    api.register(&mallory).await;
    let before = api.store.snapshot().await;
    for (body, field) in [
        (json!({"time_zone": "Mars/Olympus_Mons"}), "time_zone"),
        (json!({"time_zone": 5}), "time_zone"),
        (json!({}), "body"),
        (json!({"time_zone": "UTC", "theme": "dark"}), "theme"),
    ] {
        let refused = set_zone(&api, &alice, body.clone()).await;
        refused.assert_refused(field, &body);
    }
    let theirs = api
        .call(
            ApiRequest::new("PATCH /users/{username}", format!("/users/{alice}"))
                .path_param("username", &alice)
                .as_user(&mallory)
                .json(json!({"time_zone": "UTC"})),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    api.store
        .assert_unchanged(&before, "refused settings write nothing")
        .await;

    let set = set_zone(&api, &alice, json!({"time_zone": zone})).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["data"]["time_zone"], zone);
    assert_eq!(
        set_zone(&api, &alice, json!({"time_zone": zone}))
            .await
            .status,
        200,
        "the same again"
    );
    let user_events = api
        .store
        .history(&integration_tests::user_ref(&alice))
        .await;
    assert_eq!(user_events.len(), 2, "one UserUpdated");
    api.project_user(&alice).await;
    let local = debt_status(&api, &debt_id, &alice).await;
    assert_eq!(
        local,
        if before_noon { "open" } else { "overdue" },
        "in {zone}"
    );
}

/// `PUT /users/{username}/notifications`: the defaults until set (a reminder 3 days before, every kind, no
/// email), replaced whole, the same settings again appending nothing, and every malformed body a 422 that
/// writes nothing; anyone else's is 404.
async fn notification_settings_are_replaced_whole(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    api.project_user(&alice).await;
    let profile = api.profile(&alice).await;
    assert_eq!(
        profile.body["data"]["notifications"],
        json!({"offsets_days": [3], "email": false,
               "kinds": ["payment_due_soon", "payment_missed", "promo_ending_soon"]})
    );
    let chosen = json!({"offsets_days": [1, 7.0, 3], "email": true, "kinds": ["promo_ending_soon", "payment_missed"]});
    let set = api.set_notifications(&alice, &alice, chosen.clone()).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(
        set.body["data"]["notifications"],
        json!({"offsets_days": [7, 3, 1], "email": true, "kinds": ["payment_missed", "promo_ending_soon"]}),
        "offsets largest first, kinds in their order"
    );
    assert_eq!(
        api.set_notifications(&alice, &alice, chosen).await.status,
        200
    );
    let user_events = api
        .store
        .history(&integration_tests::user_ref(&alice))
        .await;
    assert_eq!(
        user_events.len(),
        2,
        "the same settings again append nothing"
    );

    let mallory = username();
    api.register(&mallory).await;
    let before = api.store.snapshot().await;
    let valid = json!({"offsets_days": [3], "email": false, "kinds": []});
    for (change, field) in [
        (json!({"offsets_days": []}), "offsets_days"),
        (json!({"offsets_days": [61]}), "offsets_days"),
        (json!({"offsets_days": [3, 3]}), "offsets_days"),
        (json!({"offsets_days": [1, 2, 3, 4, 5, 6]}), "offsets_days"),
        (json!({"offsets_days": ["3"]}), "offsets_days"),
        (json!({"kinds": ["payment_due"]}), "kinds"),
        (
            json!({"kinds": ["payment_missed", "payment_missed"]}),
            "kinds",
        ),
        (json!({"email": "yes"}), "email"),
        (json!({"theme": "dark"}), "theme"),
    ] {
        let mut body = valid.clone();
        body.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        let refused = api.set_notifications(&alice, &alice, body.clone()).await;
        refused.assert_refused(field, &body);
    }
    let missing = api
        .set_notifications(&alice, &alice, json!({"email": true}))
        .await;
    assert_eq!(missing.status, 422, "{}", missing.body);
    let theirs = api.set_notifications(&mallory, &alice, valid).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    api.store
        .assert_unchanged(&before, "refused settings write nothing")
        .await;
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    notification_settings_are_replaced_whole,
    a_missed_minimum_makes_a_debt_overdue_until_it_is_paid,
    a_due_date_ends_at_midnight_in_the_owners_time_zone,
);
