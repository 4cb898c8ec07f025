//! `POST /debts`, `PUT /debts/{debt_id}` and `DELETE /debts/{debt_id}` (and the README flow across every
//! write route) through their Lambda entrypoints, on every engine (`sqlite::...`, `dynamodb::...`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use integration_tests::api::ApiRequest;
use integration_tests::handlers::{car_loan, debt_request, username, Api};
use integration_tests::{
    debt_ref, dynamodb_test_store, on_every_engine, sqlite_test_store, user_ref, TestStore,
};
use serde_json::{json, Value};
use uuid::Uuid;

async fn the_original_readme_flow_works_end_to_end(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let created = api.register(&alice).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["data"]["username"], json!(alice));
    assert!(created.body["data"].get("password").is_none());
    assert!(
        created.body.to_string().find("pbkdf2").is_none(),
        "no hash in the response"
    );

    let login = api
        .call(ApiRequest::new("POST /login", "/login").json(json!({
            "username": alice, "password": "correct horse battery"
        })))
        .await;
    assert_eq!(login.status, 200, "{:?}", login.body);
    assert_eq!(login.body["token_type"], json!("Bearer"));
    let token = login.body["token"].as_str().expect("jq -r '.token' works");
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(login.body["expires_at"].as_str().unwrap()).unwrap();
    let lifetime = expires_at.to_utc() - chrono::Utc::now();
    assert!(lifetime > chrono::Duration::hours(23) && lifetime <= chrono::Duration::hours(24));

    let caller = api
        .authorized(Some(&format!("Bearer {token}")))
        .await
        .expect("the token is accepted");
    assert_eq!(caller, alice);

    let correlation = Uuid::new_v4().to_string();
    let debt = api
        .call(
            ApiRequest::new("POST /debts", "/debts")
                .as_user(&caller)
                .header("X-Correlation-Id", &correlation)
                .json(car_loan()),
        )
        .await;
    assert_eq!(debt.status, 201, "{:?}", debt.body);
    let data = &debt.body["data"];
    let debt_id = data["debt_id"]
        .as_str()
        .expect("jq -r '.data.debt_id' works");
    assert_eq!(data["owner"], json!(alice));
    assert_eq!(data["principal"], json!("15000.00"));
    assert_eq!(data["interest_rate"], json!("4.5"));
    assert_eq!(data["current_balance"], json!("12000.50"));
    assert_eq!(data["payment_frequency"], json!("monthly"));
    assert_eq!(data["version"], json!(1));
    assert_eq!(debt.header("etag"), Some("\"1\""));
    assert_eq!(debt.header("x-correlation-id"), Some(correlation.as_str()));
    assert_eq!(debt.header("content-type"), Some("application/json"));

    let events = api.store.history(&debt_ref(debt_id)).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].correlation_id.to_string(),
        correlation,
        "the correlation id is stored in the event"
    );
    assert_eq!(events[0].actor, alice);
}

/// `updates` balance updates of the debt sent at once, each with `if_match` when given: their statuses.
async fn concurrent_updates(
    api: &Arc<Api>,
    debt_id: &str,
    owner: &str,
    updates: u64,
    if_match: Option<&str>,
) -> Vec<u16> {
    let mut tasks = Vec::new();
    for n in 0..updates {
        let mut request = debt_request("PUT /debts/{debt_id}", debt_id, owner)
            .json(json!({"current_balance": format!("{}.00", 1000 + n)}));
        if let Some(etag) = if_match {
            request = request.header("If-Match", etag);
        }
        let api = Arc::clone(api);
        tasks.push(tokio::spawn(async move { api.call(request).await.status }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

async fn twenty_concurrent_updates_with_one_if_match_give_one_success(store: TestStore) {
    let api = Arc::new(Api::new(store));
    let alice = username();
    api.register(&alice).await;
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let etag = debt.header("etag").unwrap().to_owned();

    let mut statuses = concurrent_updates(&api, &debt_id, &alice, 20, Some(&etag)).await;
    statuses.sort();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        19,
        "{statuses:?}"
    );
    assert_eq!(
        api.event_count(&debt_id).await,
        2,
        "one DebtCreated and exactly one DebtUpdated"
    );
}

async fn concurrent_updates_without_if_match_lose_nothing(store: TestStore) {
    let api = Arc::new(Api::new(store));
    let alice = username();
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let statuses = concurrent_updates(&api, &debt_id, &alice, 8, None).await;
    let successes = statuses.iter().filter(|s| **s == 200).count();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 409),
        "{statuses:?}"
    );
    assert!(
        successes >= 2,
        "a conflicting write is retried once before giving up: {statuses:?}"
    );
    assert_eq!(
        api.event_count(&debt_id).await,
        1 + successes,
        "every 200 is one event, every 409 none"
    );
}

async fn updates_and_deletes_follow_the_debt_rules(store: TestStore) {
    let api = Api::new(store);
    let (alice, bob) = (username(), username());
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap();

    let updated = api
        .call(
            debt_request("PUT /debts/{debt_id}", debt_id, &alice)
                .json(json!({"current_balance": 11000, "creditor": null})),
        )
        .await;
    assert_eq!(updated.status, 200, "{:?}", updated.body);
    assert_eq!(updated.body["data"]["current_balance"], json!("11000.00"));
    assert_eq!(updated.body["data"]["creditor"], Value::Null);
    assert_eq!(updated.header("etag"), Some("\"2\""));

    let unchanged = api
        .call(
            debt_request("PUT /debts/{debt_id}", debt_id, &alice)
                .json(json!({"current_balance": "11000"})),
        )
        .await;
    assert_eq!(
        (unchanged.status, unchanged.header("etag")),
        (200, Some("\"2\""))
    );
    assert_eq!(
        api.event_count(debt_id).await,
        2,
        "an update that changes nothing appends nothing"
    );

    let stale = api
        .call(
            debt_request("PUT /debts/{debt_id}", debt_id, &alice)
                .header("If-Match", "\"1\"")
                .json(json!({"debt_name": "x"})),
        )
        .await;
    assert_eq!(stale.status, 412);

    for (what, request) in [
        (
            "another user's update",
            debt_request("PUT /debts/{debt_id}", debt_id, &bob).json(json!({"debt_name": "mine"})),
        ),
        (
            "another user's delete",
            debt_request("DELETE /debts/{debt_id}", debt_id, &bob),
        ),
        (
            "a debt that does not exist",
            debt_request(
                "DELETE /debts/{debt_id}",
                &Uuid::new_v4().to_string(),
                &alice,
            ),
        ),
        (
            "an id that is not a UUID",
            debt_request("DELETE /debts/{debt_id}", "../etc/passwd", &alice),
        ),
    ] {
        let response = api.call(request).await;
        assert_eq!(response.status, 404, "{what}: {:?}", response.body);
    }
    let owner_change = api
        .call(debt_request("PUT /debts/{debt_id}", debt_id, &alice).json(json!({"owner": bob})))
        .await;
    assert_eq!(owner_change.status, 422);

    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", debt_id, &alice).header("If-Match", "\"2\""))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    assert_eq!(deleted.body["data"]["deleted"], json!(true));
    assert_eq!(deleted.header("etag"), Some("\"3\""));
    for request in [
        debt_request("PUT /debts/{debt_id}", debt_id, &alice).json(json!({"debt_name": "again"})),
        debt_request("DELETE /debts/{debt_id}", debt_id, &alice),
    ] {
        assert_eq!(
            api.call(request).await.status,
            404,
            "a deleted debt is gone"
        );
    }
    assert_eq!(api.event_count(debt_id).await, 3);
}

async fn an_idempotent_retry_appends_nothing(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let key = Uuid::new_v4().to_string();
    let post = |body: Value| {
        ApiRequest::new("POST /debts", "/debts")
            .as_user(&alice)
            .header("Idempotency-Key", key.clone())
            .json(body)
    };
    let first = api.call(post(car_loan())).await;
    assert_eq!(first.status, 201);
    let debt_id = first.body["data"]["debt_id"].as_str().unwrap();
    api.call(
        debt_request("PUT /debts/{debt_id}", debt_id, &alice).json(json!({"debt_name": "Renamed"})),
    )
    .await;
    let retry = api.call(post(car_loan())).await;
    assert_eq!(retry.status, 201);
    assert_eq!(
        retry.body, first.body,
        "the retry gets the original response"
    );
    assert_eq!(
        api.event_count(debt_id).await,
        2,
        "the retry appended nothing"
    );
    let mut different = car_loan();
    different["principal"] = json!(1);
    let reused = api.call(post(different)).await;
    assert_eq!(reused.status, 422, "{:?}", reused.body);
    assert_eq!(
        reused.body["type"],
        json!("/problems/idempotency-key-reused")
    );
    let other_user = api
        .call(
            ApiRequest::new("POST /debts", "/debts")
                .as_user(&username())
                .header("Idempotency-Key", key.clone())
                .json(car_loan()),
        )
        .await;
    assert_ne!(
        other_user.body["data"]["debt_id"], first.body["data"]["debt_id"],
        "keys are per user"
    );

    let user_key = Uuid::new_v4().to_string();
    let bob = username();
    let register = |password: &str| {
        ApiRequest::new("POST /users", "/users").header("Idempotency-Key", user_key.clone()).json(json!({
            "username": bob, "email": format!("{bob}@example.com"), "full_name": "Bob", "password": password
        }))
    };
    let first = api.call(register("bobs password")).await;
    assert_eq!(first.status, 201);
    let before = api.store.snapshot().await;
    let retry = api.call(register("bobs password")).await;
    assert_eq!((retry.status, &retry.body), (201, &first.body));
    api.assert_unchanged(&before, "the retry wrote nothing")
        .await;
    assert_eq!(api.call(register("another password")).await.status, 422);
    assert_eq!(api.store.history(&user_ref(&bob)).await.len(), 1);
}

async fn every_bad_input_class_is_a_4xx_that_writes_nothing(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let before = api.store.snapshot().await;

    let post = || ApiRequest::new("POST /debts", "/debts").as_user(&alice);
    let put = || debt_request("PUT /debts/{debt_id}", &debt_id, &alice);
    let with = |field: &str, value: Value| {
        let mut body = car_loan();
        body[field] = value;
        body
    };
    let cases: Vec<(&str, ApiRequest, u16, Option<&str>)> = vec![
        ("malformed JSON", post().raw_body("application/json", "{\"debt_name\": "), 400, None),
        ("not an object", post().raw_body("application/json", "[1, 2]"), 400, None),
        ("empty body", post().raw_body("application/json", ""), 400, None),
        ("wrong content type", post().raw_body("text/plain", car_loan().to_string()), 415, None),
        ("no content type", post().header("content-length", "2"), 415, None),
        ("body over 64 KiB", post().json(with("creditor", json!("x".repeat(70_000)))), 413, None),
        ("string for a number", post().json(with("principal", json!("lots"))), 422, Some("principal")),
        ("number for a string", post().json(with("debt_name", json!(42))), 422, Some("debt_name")),
        ("unknown field", post().json(with("colour", json!("red"))), 422, Some("colour")),
        ("missing field", post().json(json!({"debt_name": "x"})), 422, Some("principal")),
        ("negative amount", post().json(with("current_balance", json!(-1))), 422, Some("current_balance")),
        ("three decimals", post().json(with("principal", json!(1.005))), 422, Some("principal")),
        ("zero principal", post().json(with("principal", json!(0))), 422, Some("principal")),
        ("rate over 100", post().json(with("interest_rate", json!(100.5))), 422, Some("interest_rate")),
        ("bad date", post().json(with("start_date", json!("2025-02-30"))), 422, Some("start_date")),
        ("bad frequency", post().json(with("payment_frequency", json!("daily"))), 422, Some("payment_frequency")),
        ("name too long", post().json(with("debt_name", json!("x".repeat(101)))), 422, Some("debt_name")),
        ("huge amount", post().json(with("principal", json!("1e15"))), 422, Some("principal")),
        ("bad idempotency key", post().header("Idempotency-Key", "has spaces").json(car_loan()), 400, None),
        ("empty update", put().json(json!({})), 422, Some("body")),
        ("update of an unknown field", put().json(json!({"owner": "mallory"})), 422, Some("owner")),
        ("bad If-Match", put().header("If-Match", "three").json(json!({"debt_name": "x"})), 400, None),
        ("no caller", ApiRequest::new("POST /debts", "/debts").json(car_loan()), 401, None),
        ("registration without password", ApiRequest::new("POST /users", "/users").json(json!({"username": "abc", "email": "a@b.co", "full_name": "A"})), 422, Some("password")),
        ("short password", ApiRequest::new("POST /users", "/users").json(json!({"username": "abc", "email": "a@b.co", "full_name": "A", "password": "short"})), 422, Some("password")),
        ("bad username", ApiRequest::new("POST /users", "/users").json(json!({"username": "a b", "email": "a@b.co", "full_name": "A", "password": "long enough"})), 422, Some("username")),
        ("bad email", ApiRequest::new("POST /users", "/users").json(json!({"username": "abc", "email": "nope", "full_name": "A", "password": "long enough"})), 422, Some("email")),
        ("login with a number", ApiRequest::new("POST /login", "/login").json(json!({"username": 1, "password": "x"})), 422, Some("username")),
    ];
    for (what, request, status, field) in cases {
        let response = api.call(request).await;
        response.problem_detail(status, what);
        if let Some(field) = field {
            let fields = response.strings("/errors", "field");
            assert!(
                fields.contains(&field),
                "{what}: errors name {fields:?}, not {field}"
            );
        }
    }
    api.assert_unchanged(&before, "no refused request wrote anything")
        .await;
}

async fn an_idempotent_retry_after_a_delete_is_a_conflict(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let post = || {
        ApiRequest::new("POST /debts", "/debts")
            .as_user(&alice)
            .header("Idempotency-Key", "retry-after-delete")
            .json(car_loan())
    };
    let first = api.call(post()).await;
    assert_eq!(first.status, 201);
    let debt_id = first.body["data"]["debt_id"].as_str().unwrap();
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 200);
    let before = api.store.snapshot().await;
    let retry = api.call(post()).await;
    let detail = retry.problem_detail(409, "a retry after the delete");
    assert!(detail.contains("deleted"), "{detail}");
    api.assert_unchanged(&before, "the retry wrote nothing")
        .await;
}

/// A debt takes at most `MAX_EVENTS_PER_DEBT` events through updates (then 409, writing nothing); it can
/// still be deleted.
async fn a_debt_at_its_event_limit_refuses_updates(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let created = api.create_debt(&alice).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    // Straight to the limit through the port: 99 updates per append (the store's transaction size).
    let limit = commands::debts::MAX_EVENTS_PER_DEBT;
    let mut version = 1;
    while version < limit {
        let batch: Vec<_> = (version + 1..=(version + 99).min(limit))
            .map(|v| integration_tests::debt_updated(&debt_id, v, 0))
            .collect();
        let appended = batch.len() as u64;
        let request = store::AppendRequest::new(version, batch);
        // The fixture's events are an actor's of their own; straight to the engine (nothing to seal).
        api.store.engine.append(request).await.unwrap();
        version += appended;
    }
    let update = || {
        debt_request("PUT /debts/{debt_id}", &debt_id, &alice)
            .json(json!({"debt_name": "One more"}))
    };
    let refused = api.call(update()).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    assert!(refused.body["detail"].as_str().unwrap().contains("limit"));
    assert_eq!(
        api.event_count(&debt_id).await as u64,
        limit,
        "nothing appended"
    );
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
}

/// The 1,000 live debts of one user: the next create is a 409 that says so and writes nothing; a delete frees
/// a place. The tally is seeded through the port, as if 999 debts had been created.
async fn a_user_at_the_live_debt_limit_cannot_create_another(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let limit = commands::debts::MAX_LIVE_DEBTS_PER_USER;
    let tallies = store::Item {
        key: store::keys::user_tallies_key(&alice),
        attributes: integration_tests::attrs(json!({ store::keys::LIVE_DEBTS_FIELD: limit - 1 })),
    };
    api.store.stores.records.put_item(&tallies).await.unwrap();
    let last = api.create_debt(&alice).await;
    assert_eq!(last.status, 201, "{:?}", last.body);

    let refused = api.post_debt(&alice, car_loan()).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("1000 debts") && detail.contains("delete one"),
        "{detail}"
    );

    let debt_id = last.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);
    let again = api.create_debt(&alice).await;
    assert_eq!(
        again.status, 201,
        "a delete frees a place: {:?}",
        again.body
    );
}

/// Finding 2 of issue 30 (bound the ledger): the debts a user ever created are at most 10,000, deleted ones
/// included, so the ledger that every `as_of` read and the erasure page through has a bound. At the limit a
/// create is a 409 that writes nothing, and a delete gives no place back. Seeded through the port.
async fn a_user_who_created_the_most_debts_cannot_create_another(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let limit = commands::debts::MAX_DEBTS_CREATED_PER_USER;
    let tally = store::Item {
        key: store::keys::user_ledger_tally_key(&alice),
        attributes: integration_tests::attrs(
            json!({ store::keys::DEBTS_CREATED_FIELD: limit - 1 }),
        ),
    };
    api.store.stores.records.put_item(&tally).await.unwrap();
    let last = api.create_debt(&alice).await;
    let debt_id = last.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 200, "{:?}", deleted.body);

    let before = api.store.snapshot().await;
    let refused = api.post_debt(&alice, car_loan()).await;
    assert_eq!(refused.status, 409, "{:?}", refused.body);
    let detail = refused.body["detail"].as_str().unwrap();
    assert!(detail.contains("10000 debts"), "{detail}");
    api.store
        .assert_unchanged(&before, "a refused create writes nothing")
        .await;
}

/// A client's own tracing id comes back, and is in the event, whether or not it is a UUID; an invalid one is
/// replaced by a fresh UUID.
async fn a_clients_correlation_id_is_kept_when_it_is_visible_ascii(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let long = "x".repeat(129);
    let cases: [(&str, bool); 5] = [
        ("trace-7f3a/span:42;sampled=1", true),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            true,
        ),
        ("has a space", false),
        ("caf\u{e9}", false),
        (&long, false),
    ];
    for (sent, kept) in cases {
        let debt = api
            .call(
                ApiRequest::new("POST /debts", "/debts")
                    .as_user(&alice)
                    .header("X-Correlation-Id", sent)
                    .json(car_loan()),
            )
            .await;
        assert_eq!(debt.status, 201, "{sent:?}: {:?}", debt.body);
        let echoed = debt.header("x-correlation-id").unwrap().to_owned();
        let debt_id = debt.body["data"]["debt_id"].as_str().unwrap();
        let events = api.store.history(&debt_ref(debt_id)).await;
        if kept {
            assert_eq!(echoed, sent, "the client's id comes back as it was sent");
            assert_eq!(events[0].client_correlation_id.as_deref(), Some(sent));
            assert_eq!(
                events[0].correlation_id,
                Uuid::new_v5(&http_api::context::CORRELATION_NAMESPACE, sent.as_bytes())
            );
        } else {
            let replaced = Uuid::parse_str(&echoed).expect("an invalid id is replaced by a UUID");
            assert_eq!(events[0].correlation_id, replaced, "{sent:?}");
            assert_eq!(events[0].client_correlation_id, None);
        }
    }
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_user_at_the_live_debt_limit_cannot_create_another,
    a_user_who_created_the_most_debts_cannot_create_another,
    a_clients_correlation_id_is_kept_when_it_is_visible_ascii,
    a_debt_at_its_event_limit_refuses_updates,
    an_idempotent_retry_after_a_delete_is_a_conflict,
    the_original_readme_flow_works_end_to_end,
    twenty_concurrent_updates_with_one_if_match_give_one_success,
    concurrent_updates_without_if_match_lose_nothing,
    updates_and_deletes_follow_the_debt_rules,
    an_idempotent_retry_appends_nothing,
    every_bad_input_class_is_a_4xx_that_writes_nothing,
);
