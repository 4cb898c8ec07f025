//! `POST /debts/{debt_id}/payments` and `/charges`, `minimum_payment`, and reads `as_of` a past instant,
//! through their Lambda entrypoints on every engine (`sqlite::...`, `dynamodb::...`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{Duration, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{car_loan, debt_request, username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use serde_json::{json, Value};
use std::sync::Arc;

const PAY: &str = "POST /debts/{debt_id}/payments";
const CHARGE: &str = "POST /debts/{debt_id}/charges";

fn today() -> String {
    Utc::now().date_naive().to_string()
}

async fn pay(api: &Api, owner: &str, debt_id: &str, body: Value) -> ApiResponse {
    api.call(debt_request(PAY, debt_id, owner).json(body)).await
}

async fn charge(api: &Api, owner: &str, debt_id: &str, body: Value) -> ApiResponse {
    api.call(debt_request(CHARGE, debt_id, owner).json(body))
        .await
}

async fn get_debt(api: &Api, owner: &str, debt_id: &str, as_of: Option<&str>) -> ApiResponse {
    let mut request = debt_request("GET /debts/{debt_id}", debt_id, owner);
    if let Some(at) = as_of {
        request = request.query("as_of", at);
    }
    api.call(request).await
}

async fn list_debts(api: &Api, owner: &str, query: &[(&str, &str)]) -> ApiResponse {
    let mut request = ApiRequest::new("GET /debts", "/debts").as_user(owner);
    for (name, value) in query {
        request = request.query(name, *value);
    }
    api.call(request).await
}

async fn summary(api: &Api, owner: &str, as_of: Option<&str>) -> ApiResponse {
    let mut request = ApiRequest::new(
        "GET /users/{username}/summary",
        format!("/users/{owner}/summary"),
    )
    .path_param("username", owner)
    .as_user(owner);
    if let Some(at) = as_of {
        request = request.query("as_of", at);
    }
    api.call(request).await
}

/// `at` to the microsecond, written as answers state an instant (`queries::as_of::stated`: a whole
/// millisecond has three digits), so that an echoed `as_of` compares equal whatever its digits.
fn instant(at: chrono::DateTime<Utc>) -> String {
    use chrono::SubsecRound;
    queries::as_of::stated(at.trunc_subsecs(6))
        .as_str()
        .expect("an instant is a string")
        .to_owned()
}

async fn payments_lower_the_balance_until_the_debt_is_paid_off(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let created = api.create_debt(&alice).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["data"]["status"], "open");
    assert_eq!(created.body["data"]["total_paid"], "0.00");
    assert_eq!(created.body["data"]["minimum_payment"], Value::Null);

    let paid = pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "2000.50", "paid_on": today(), "note": " November "}),
    )
    .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.header("etag"), Some("\"2\""));
    let data = &paid.body["data"];
    assert_eq!(data["current_balance"], "10000.00");
    assert_eq!(data["total_paid"], "2000.50");
    assert_eq!(data["last_payment_on"], json!(today()));
    assert_eq!(data["status"], "open");
    assert_eq!(data["paid_off_on"], Value::Null);

    // More than the balance: 422 naming it, nothing written.
    let before = api.store.snapshot().await;
    let over = pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": 10000.01, "paid_on": today()}),
    )
    .await;
    assert!(
        over.field_error("amount").contains("10000.00"),
        "{}",
        over.body
    );
    for (body, field) in [
        (json!({"amount": "0", "paid_on": today()}), "amount"),
        (json!({"amount": "-5", "paid_on": today()}), "amount"),
        (json!({"amount": "1.001", "paid_on": today()}), "amount"),
        (
            json!({"amount": "1", "paid_on": (Utc::now() + Duration::days(1)).date_naive().to_string()}),
            "paid_on",
        ),
        (json!({"amount": "1", "paid_on": "2025-05-31"}), "paid_on"),
        (
            json!({"amount": "1", "paid_on": "2025-06-01T00:00:00Z"}),
            "paid_on",
        ),
        (json!({"amount": "1"}), "paid_on"),
        (
            json!({"amount": "1", "paid_on": today(), "note": ""}),
            "note",
        ),
        (
            json!({"amount": "1", "paid_on": today(), "kind": "fee"}),
            "kind",
        ),
    ] {
        let refused = pay(&api, &alice, &debt_id, body.clone()).await;
        refused.field_error(field);
    }
    assert!(pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "1", "paid_on": "2025-05-31"})
    )
    .await
    .field_error("paid_on")
    .contains("2025-06-01"));
    api.assert_unchanged(&before, "refusals leave nothing behind")
        .await;

    let cleared = pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "10000", "paid_on": "2025-06-01"}),
    )
    .await;
    assert_eq!(cleared.status, 201, "{}", cleared.body);
    let data = &cleared.body["data"];
    assert_eq!(data["current_balance"], "0.00");
    assert_eq!(data["status"], "paid_off");
    assert_eq!(data["total_paid"], "12000.50");
    // Paid off once both payments were made: the later day of the two.
    assert_eq!(data["paid_off_on"], json!(today()));
    assert_eq!(data["last_payment_on"], json!(today()));

    let again = pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "1", "paid_on": today()}),
    )
    .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(again.body["detail"].as_str().unwrap().contains("paid off"));

    // A charge opens it again.
    let fee = charge(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "35", "charged_on": today(), "kind": "fee", "note": "late fee"}),
    )
    .await;
    assert_eq!(fee.status, 201, "{}", fee.body);
    assert_eq!(fee.header("etag"), Some("\"4\""));
    let data = &fee.body["data"];
    assert_eq!(data["current_balance"], "35.00");
    assert_eq!(data["total_charged"], "35.00");
    assert_eq!(data["status"], "open");
    assert_eq!(data["paid_off_on"], Value::Null);
    for (body, field) in [
        (
            json!({"amount": "1", "charged_on": today(), "kind": "penalty"}),
            "kind",
        ),
        (json!({"amount": "1", "charged_on": today()}), "kind"),
        (
            json!({"amount": "0.00", "charged_on": today(), "kind": "fee"}),
            "amount",
        ),
        (
            json!({"amount": "999999999999.99", "charged_on": today(), "kind": "purchase"}),
            "amount",
        ),
        (
            json!({"amount": "1", "charged_on": "2025-05-31", "kind": "fee"}),
            "charged_on",
        ),
    ] {
        charge(&api, &alice, &debt_id, body)
            .await
            .field_error(field);
    }
    assert_eq!(api.event_count(&debt_id).await, 4);

    // The history shows each movement with the balance before and after.
    let history = api
        .call(debt_request(
            "GET /debts/{debt_id}/history",
            &debt_id,
            &alice,
        ))
        .await;
    let entries = history.body["data"].as_array().unwrap();
    assert_eq!(
        history.event_types(),
        [
            "DebtCreated",
            "PaymentRecorded",
            "PaymentRecorded",
            "ChargeAdded"
        ]
    );
    assert_eq!(
        entries[1]["data"],
        json!({"amount": "2000.50", "paid_on": today(), "note": "November"})
    );
    assert_eq!(
        entries[1]["balance"],
        json!({"before": "12000.50", "after": "10000.00"})
    );
    assert_eq!(
        entries[2]["balance"],
        json!({"before": "10000.00", "after": "0.00"})
    );
    assert_eq!(entries[3]["data"]["kind"], "fee");
    assert_eq!(
        entries[3]["balance"],
        json!({"before": "0.00", "after": "35.00"})
    );
}

async fn payments_and_charges_keep_if_match_and_idempotency_keys(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let created = api.create_debt(&alice).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let body = json!({"amount": "100", "paid_on": today()});

    let stale = api
        .call(
            debt_request(PAY, &debt_id, &alice)
                .header("If-Match", "\"7\"")
                .json(body.clone()),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let first = api
        .call(
            debt_request(PAY, &debt_id, &alice)
                .header("If-Match", "\"1\"")
                .header("Idempotency-Key", "pay-1")
                .json(body.clone()),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.header("etag"), Some("\"2\""));

    // Something else happens to the debt; the retry still gets the first answer and appends nothing.
    let other = charge(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "5", "charged_on": today(), "kind": "interest"}),
    )
    .await;
    assert_eq!(other.status, 201);
    let retry = api
        .call(
            debt_request(PAY, &debt_id, &alice)
                .header("If-Match", "\"1\"")
                .header("Idempotency-Key", "pay-1")
                .json(json!({"amount": "100.00", "paid_on": today()})),
        )
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("etag"), Some("\"2\""));
    assert_eq!(api.event_count(&debt_id).await, 3);

    // The same key with another request: 422, whatever the route.
    let other_body = api
        .call(
            debt_request(PAY, &debt_id, &alice)
                .header("Idempotency-Key", "pay-1")
                .json(json!({"amount": "99", "paid_on": today()})),
        )
        .await;
    assert_eq!(other_body.status, 422, "{}", other_body.body);
    let other_route = api
        .call(
            debt_request(CHARGE, &debt_id, &alice)
                .header("Idempotency-Key", "pay-1")
                .json(json!({"amount": "100", "charged_on": today(), "kind": "fee"})),
        )
        .await;
    assert_eq!(other_route.status, 422, "{}", other_route.body);
    // Keys are per user: bob's "pay-1" is his own (and alice's debt is not found for him).
    let bob = username();
    let bobs = api.create_debt(&bob).await;
    let bobs_id = bobs.body["data"]["debt_id"].as_str().unwrap();
    let his = api
        .call(
            debt_request(PAY, bobs_id, &bob)
                .header("Idempotency-Key", "pay-1")
                .json(body.clone()),
        )
        .await;
    assert_eq!(his.status, 201, "{}", his.body);
    assert_eq!(api.event_count(&debt_id).await, 3);

    // Someone else's debt, a deleted one, and no debt at all are 404, for both routes.
    for route in [PAY, CHARGE] {
        let body = json!({"amount": "1", "paid_on": today(), "charged_on": today(), "kind": "fee"});
        let mut body = body.as_object().unwrap().clone();
        body.remove(if route == PAY {
            "charged_on"
        } else {
            "paid_on"
        });
        if route == PAY {
            body.remove("kind");
        }
        let body = Value::Object(body);
        let theirs = api
            .call(debt_request(route, &debt_id, &bob).json(body.clone()))
            .await;
        assert_eq!(theirs.status, 404, "{route}: {}", theirs.body);
        let missing = api
            .call(
                debt_request(route, "0193a0a0-0000-7000-8000-000000000000", &alice)
                    .json(body.clone()),
            )
            .await;
        assert_eq!(missing.status, 404, "{route}");
    }
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 200);
    let after = pay(&api, &alice, &debt_id, body).await;
    assert_eq!(after.status, 404, "{}", after.body);
}

async fn minimum_payments_are_set_on_create_and_update(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let mut loan = car_loan();
    loan["minimum_payment"] = json!("250");
    let created = api.post_debt(&alice, loan).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["data"]["minimum_payment"], "250.00");
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap();
    let put =
        |body: Value| api.call(debt_request("PUT /debts/{debt_id}", debt_id, &alice).json(body));
    let changed = put(json!({"minimum_payment": 99.5})).await;
    assert_eq!(
        changed.body["data"]["minimum_payment"], "99.50",
        "{}",
        changed.body
    );
    let cleared = put(json!({"minimum_payment": null})).await;
    assert_eq!(
        cleared.body["data"]["minimum_payment"],
        Value::Null,
        "{}",
        cleared.body
    );
    put(json!({"minimum_payment": "-1"}))
        .await
        .field_error("minimum_payment");
    let mut bad = car_loan();
    bad["minimum_payment"] = json!("1.234");
    let refused = api.post_debt(&alice, bad).await;
    refused.field_error("minimum_payment");
    assert_eq!(api.event_count(debt_id).await, 3);
}

async fn reads_as_of_an_instant_fold_the_events_recorded_by_then(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let before_anything = instant(Utc::now());
    let created = api.create_debt(&alice).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let other = api.create_debt(&alice).await;
    let other_id = other.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let after_create = instant(Utc::now());
    let paid = pay(
        &api,
        &alice,
        &debt_id,
        json!({"amount": "12000.50", "paid_on": today()}),
    )
    .await;
    assert_eq!(paid.status, 201);
    let after_payment = instant(Utc::now());
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &other_id, &alice))
        .await;
    assert_eq!(deleted.status, 200);

    // One debt at each instant.
    let then = get_debt(&api, &alice, &debt_id, Some(&after_create)).await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(then.body["as_of"], json!(after_create));
    assert_eq!(then.body["data"]["current_balance"], "12000.50");
    assert_eq!(then.body["data"]["version"], 1);
    assert_eq!(then.header("etag"), None, "a past state has no ETag");
    let later = get_debt(&api, &alice, &debt_id, Some(&after_payment)).await;
    assert_eq!(later.body["data"]["status"], "paid_off");
    assert_eq!(
        get_debt(&api, &alice, &debt_id, Some(&before_anything))
            .await
            .status,
        404
    );
    // Deleted since: still there at an earlier instant; gone now.
    assert_eq!(
        get_debt(&api, &alice, &other_id, Some(&after_payment))
            .await
            .status,
        200
    );
    assert_eq!(
        get_debt(&api, &alice, &other_id, Some(&instant(Utc::now())))
            .await
            .status,
        404
    );
    // Someone else's is never there.
    assert_eq!(
        get_debt(&api, &username(), &debt_id, Some(&after_payment))
            .await
            .status,
        404
    );

    // The list and the summary at each instant.
    let listed = |response: &ApiResponse| -> Vec<String> {
        let mut ids: Vec<String> = response
            .strings("/data", "debt_id")
            .into_iter()
            .map(str::to_owned)
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![debt_id.clone(), other_id.clone()];
    both.sort();
    let at_create = list_debts(&api, &alice, &[("as_of", &after_create)]).await;
    assert_eq!(at_create.status, 200, "{}", at_create.body);
    assert_eq!(listed(&at_create), both);
    assert_eq!(at_create.body["as_of"], json!(after_create));
    assert_eq!(
        listed(&list_debts(&api, &alice, &[("as_of", &before_anything)]).await),
        Vec::<String>::new()
    );
    let paid_off = list_debts(
        &api,
        &alice,
        &[("as_of", &after_payment), ("status", "paid_off")],
    )
    .await;
    assert_eq!(listed(&paid_off), vec![debt_id.clone()]);
    let open = list_debts(
        &api,
        &alice,
        &[("as_of", &after_payment), ("status", "open")],
    )
    .await;
    assert_eq!(listed(&open), vec![other_id.clone()]);
    let now = list_debts(&api, &alice, &[("as_of", &instant(Utc::now()))]).await;
    assert_eq!(listed(&now), vec![debt_id.clone()]);

    let then = summary(&api, &alice, Some(&after_create)).await;
    assert_eq!(then.status, 200, "{}", then.body);
    assert_eq!(then.body["data"]["open_debts"], 2);
    assert_eq!(then.body["data"]["total_current_balance"], "24001.00");
    assert_eq!(then.body["data"]["total_paid"], "0.00");
    let later = summary(&api, &alice, Some(&after_payment)).await;
    assert_eq!(
        later.body["data"]["open_debts"], 1,
        "the paid-off debt is not open"
    );
    assert_eq!(later.body["data"]["total_paid"], "12000.50");
    assert_eq!(later.body["data"]["paid_last_30_days"], "12000.50");
    assert_eq!(later.body["data"]["total_principal"], "30000.00");
    // A date means the end of that UTC day; yesterday, nothing existed yet.
    let yesterday = (Utc::now() - Duration::days(1)).date_naive().to_string();
    let empty = summary(&api, &alice, Some(&yesterday)).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(empty.body["data"]["open_debts"], 0);
    assert!(empty.body["as_of"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{yesterday}T23:59:59.999999999")));

    // The future, today's end, and anything unparseable are 422, on every route.
    let tomorrow = instant(Utc::now() + Duration::minutes(1));
    for bad in [
        tomorrow.as_str(),
        &today(),
        "yesterday",
        "2026-13-01",
        "1700000000",
        "",
    ] {
        get_debt(&api, &alice, &debt_id, Some(bad))
            .await
            .field_error("as_of");
        list_debts(&api, &alice, &[("as_of", bad)])
            .await
            .field_error("as_of");
        summary(&api, &alice, Some(bad)).await.field_error("as_of");
    }
    assert_eq!(
        list_debts(&api, &alice, &[("status", "closed")])
            .await
            .status,
        400
    );
}

/// A user registered before sealing existed has no data key: the first command of theirs that writes a
/// personal field (a debt's new name, a payment's or a charge's note) makes one. Each command runs for a
/// different such user, so each makes the first key (on AWS: `kms:GenerateDataKey` in that function's
/// footprint).
async fn any_debt_command_makes_a_legacy_users_first_key(store: TestStore) {
    let api = Api::new(store);
    let commands: [(&str, Value); 3] = [
        ("PUT /debts/{debt_id}", json!({"debt_name": "Renamed"})),
        (
            PAY,
            json!({"amount": "10", "paid_on": today(), "note": "first"}),
        ),
        (
            CHARGE,
            json!({"amount": "10", "charged_on": today(), "kind": "fee", "note": "fee"}),
        ),
    ];
    for (route, body) in commands {
        let owner = username();
        let debt_id = uuid::Uuid::new_v4().to_string();
        // As written before sealing: schema version 1, personal fields in clear, no data key.
        for mut event in [
            integration_tests::user_created(&owner, "old@example.com"),
            integration_tests::debt_created(&debt_id, &owner),
        ] {
            event.schema_version = 1;
            event.actor = owner.clone();
            let request = store::AppendRequest::new(0, vec![event]);
            api.store
                .engine
                .append(request)
                .await
                .expect("a legacy event");
        }
        // Registered then too: credentials, which every write of theirs requires.
        let credentials = store::Item {
            key: store::keys::credentials_key(&owner),
            attributes: integration_tests::attrs(
                json!({"password_hash": "pbkdf2-sha256$1$b2xk$b2xk"}),
            ),
        };
        api.store.engine.put_item(&credentials).await.unwrap();
        let key = store::keys::data_key_key(&owner);
        assert!(api.store.engine.get_item(&key).await.unwrap().is_none());
        let response = api
            .call(
                debt_request(route, &debt_id, &owner)
                    .header("If-Match", "\"1\"")
                    .json(body),
            )
            .await;
        assert!(
            response.status < 300,
            "{route}: {} {}",
            response.status,
            response.body
        );
        assert!(
            api.store.engine.get_item(&key).await.unwrap().is_some(),
            "{route} made the first key"
        );
    }
}

/// Finding 18: two requests with one `Idempotency-Key` at once, the second loading the debt after the first
/// paid most of it: the second gets the first one's answer. Before, it decided against the lower balance and
/// got a 422 (more than what is owed), though its key said it was the same payment.
#[tokio::test]
async fn sqlite_a_concurrent_retry_gets_the_first_answer_whatever_it_loaded() {
    let plain = sqlite_test_store().await;
    let first_api = Api::new(plain.clone());
    let alice = username();
    first_api.register(&alice).await;
    let created = first_api.create_debt(&alice).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let balance: f64 = created.body["data"]["current_balance"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    // More than half: once one is recorded, the other is more than what is left.
    let amount = format!("{:.2}", balance * 0.6);
    // The retry's function instance reads the debt's events 300 ms late.
    let slow: Arc<dyn store::Engine> = Arc::new(integration_tests::projection::slow(
        Arc::clone(&plain.engine),
        std::time::Duration::from_millis(300),
    ));
    let retry_api = Api::new(plain.through(slow, Arc::new(plain.sqlite_kek().unwrap())));
    let key = uuid::Uuid::new_v4().to_string();
    let pay = || {
        debt_request(PAY, &debt_id, &alice)
            .header("Idempotency-Key", key.clone())
            .json(json!({"amount": amount, "paid_on": today()}))
    };
    let (first, retry) = tokio::join!(
        async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            first_api.call(pay()).await
        },
        retry_api.call(pay())
    );
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body, first.body, "the first answer");
    assert_eq!(first_api.event_count(&debt_id).await, 2, "one payment");
}

const RATES: &str = "POST /debts/{debt_id}/rates";

/// Issue 31's rate schedule: a standard step in the past and a promotion running today; the debt shows both in
/// order, the rate in force today and the promotion's last day. Bad steps are 422 naming the field, a full
/// schedule is 409, someone else's debt 404, a stale `If-Match` 412, and no refusal writes anything.
async fn a_debts_rate_schedule_gives_the_rate_in_force_today(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt_id = api.new_debt_id(&alice).await;
    let day = |days: i64| (Utc::now().date_naive() + Duration::days(days)).to_string();
    let step = |body: Value| debt_request(RATES, &debt_id, &alice).json(body);
    let standard = api
        .call(step(
            json!({"rate": "19.99", "effective_on": "2025-07-01", "kind": "standard"}),
        ))
        .await;
    assert_eq!(standard.status, 201, "{}", standard.body);
    assert_eq!(standard.header("etag"), Some("\"2\""));
    let (promo_from, promo_to) = (day(-30), day(60));
    let promotion = api
        .call(step(json!({
            "rate": 0, "effective_on": promo_from, "ends_on": promo_to, "kind": "promotional"
        })))
        .await;
    assert_eq!(promotion.status, 201, "{}", promotion.body);
    assert_eq!(
        promotion.body["data"]["rate_schedule"],
        json!([
            {"rate": "19.99", "effective_on": "2025-07-01", "kind": "standard"},
            {"rate": "0", "effective_on": promo_from, "ends_on": promo_to, "kind": "promotional"},
        ])
    );
    api.project_user(&alice).await;
    let read = get_debt(&api, &alice, &debt_id, None).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["data"]["current_rate"], "0");
    assert_eq!(read.body["data"]["promo_ends_on"], json!(promo_to));
    assert_eq!(
        read.body["data"]["interest_rate"], "4.5",
        "the debt's own rate stays"
    );
    assert_eq!(
        read.body["data"]["rate_schedule"].as_array().unwrap().len(),
        2
    );

    // With an Idempotency-Key, a retry gets the first answer and appends nothing.
    let key = uuid::Uuid::new_v4().to_string();
    let penalty = || {
        step(json!({"rate": "29.99", "effective_on": day(90), "kind": "penalty"}))
            .header("idempotency-key", key.clone())
    };
    let first = api.call(penalty()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let again = api.call(penalty()).await;
    assert_eq!((again.status, &again.body), (201, &first.body));
    assert_eq!(first.body["data"]["version"], 4);

    let mallory = username();
    api.register(&mallory).await;
    let before = api.store.snapshot().await;
    for (body, field) in [
        (
            json!({"rate": "101", "effective_on": day(0), "kind": "standard"}),
            "rate",
        ),
        (
            json!({"rate": "5", "effective_on": "2025-05-31", "kind": "standard"}),
            "effective_on",
        ),
        (
            json!({"rate": "5", "effective_on": day(0), "ends_on": day(-1), "kind": "promotional"}),
            "ends_on",
        ),
        (
            json!({"rate": "5", "effective_on": day(0), "kind": "teaser"}),
            "kind",
        ),
    ] {
        let refused = api.call(step(body)).await;
        refused.assert_refused(field, &field);
    }
    let theirs = api
        .call(
            debt_request(RATES, &debt_id, &mallory)
                .json(json!({"rate": "5", "effective_on": day(0), "kind": "standard"})),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let stale = api
        .call(
            step(json!({"rate": "5", "effective_on": day(0), "kind": "standard"}))
                .header("If-Match", "\"1\""),
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    api.store
        .assert_unchanged(&before, "a refused rate step writes nothing")
        .await;
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    any_debt_command_makes_a_legacy_users_first_key,
    a_debts_rate_schedule_gives_the_rate_in_force_today,
    payments_lower_the_balance_until_the_debt_is_paid_off,
    payments_and_charges_keep_if_match_and_idempotency_keys,
    minimum_payments_are_set_on_create_and_update,
    reads_as_of_an_instant_fold_the_events_recorded_by_then,
);

/// Finding 9's keyed digests meet what came before them: credentials written before digest keys get one on
/// first use (the password hash kept), and a record holding the unkeyed digest of its request still answers
/// its retry until it expires.
#[tokio::test]
async fn sqlite_digest_keys_come_to_older_credentials_and_older_records_still_answer() {
    let plain = sqlite_test_store().await;
    let api = Api::new(plain.clone());
    let alice = username();
    api.register(&alice).await;
    let credentials_key = store::keys::credentials_key(&alice);
    let mut credentials = plain
        .engine
        .get_item(&credentials_key)
        .await
        .unwrap()
        .unwrap();
    let hash = credentials.attributes["password_hash"].clone();
    credentials
        .attributes
        .remove("digest_key")
        .expect("registration made one");
    plain.engine.put_item(&credentials).await.unwrap();
    let debt_id = api.new_debt_id(&alice).await;
    let key = uuid::Uuid::new_v4().to_string();
    let pay = || {
        debt_request(PAY, &debt_id, &alice)
            .header("idempotency-key", key.clone())
            .json(json!({"amount": "10.00", "paid_on": today(), "note": "first"}))
    };
    let first = api.call(pay()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    let now = plain
        .engine
        .get_item(&credentials_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.attributes["password_hash"], hash);
    assert!(now.attributes["digest_key"]
        .as_str()
        .is_some_and(|k| k.len() == 64));
    assert_eq!(api.call(pay()).await.body, first.body, "a keyed retry");

    // The record as written before digests were keyed: the plain SHA-256 of the same canonical request.
    let record_key = store::keys::debt_command_idempotency_key(&alice, &key);
    let mut record = plain.engine.get_item(&record_key).await.unwrap().unwrap();
    let unkeyed =
        integration_tests::unkeyed_digest(&plain.last_payment_request(&debt_id, None).await);
    record.attributes.insert("request".into(), json!(unkeyed));
    plain.engine.put_item(&record).await.unwrap();
    let again = api.call(pay()).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body, "an unkeyed record's retry");
}
