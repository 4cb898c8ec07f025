//! Erasure end to end on both engines: a user with debts, payments, charges and notes erases themselves;
//! afterwards no personal string is left in any item of the store, the read model says `"[erased]"` where
//! it said their words (amounts and versions stay), history and `as_of` reads show the same, their token
//! and password are refused, their email can register again, and a replay of the log rebuilds the erased
//! read model byte for byte.

// One story, top to bottom.
#![allow(clippy::too_many_lines)]

use std::sync::{Arc, Mutex};

use analytics::publish::{BusEntry, EventBus, PublishError};
use async_trait::async_trait;
use integration_tests::lambdas::publish_batch;

use chrono::Utc;
use integration_tests::api::ApiRequest;
use integration_tests::handlers::{debt_request, username, Api};
use integration_tests::lambdas::replay;
use integration_tests::projection::{
    batch, delete_read_model, read_model_snapshot, records_for_all_events,
};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use projections::replay::{ReplayOptions, Scope};
use serde_json::{json, Value};
use store::keys;
use store::ledger::{ledger_item, LedgerEntry};
use store::{AppendRequest, Engine};

/// A `DebtCreated` as written before sealing existed (schema version 1, personal fields in clear).
const LEGACY_FIXTURE: &str = include_str!("../../../events/tests/fixtures/debt_created_v1.json");

/// Stores the fixture as `owner`'s debt named `debt_name`, with its ledger entry, in the engine as it was:
/// nothing seals it. Returns the debt's id.
async fn legacy_debt(engine: &dyn Engine, owner: &str, debt_name: &str, creditor: &str) -> String {
    let debt_id = uuid::Uuid::new_v4().to_string();
    let mut stored: Value = serde_json::from_str(LEGACY_FIXTURE).unwrap();
    stored["event_id"] = json!(uuid::Uuid::new_v4());
    stored["aggregate_id"] = json!(debt_id);
    stored["actor"] = json!(owner);
    stored["data"]["owner"] = json!(owner);
    stored["data"]["debt_name"] = json!(debt_name);
    stored["data"]["creditor"] = json!(creditor);
    let mut event = store::codec::decode_envelope(stored).unwrap();
    event.schema_version = 1;
    engine
        .append(AppendRequest::new(0, vec![event.clone()]))
        .await
        .unwrap();
    engine
        .put_item(&ledger_item(
            owner,
            &debt_id,
            LedgerEntry::Created,
            event.occurred_at,
        ))
        .await
        .unwrap();
    debt_id
}

/// What a subscriber of the bus receives.
#[derive(Default)]
struct CapturingBus(Mutex<Vec<BusEntry>>);

#[async_trait]
impl EventBus for CapturingBus {
    async fn put(&self, entries: &[BusEntry]) -> Result<Vec<Option<String>>, PublishError> {
        self.0.lock().unwrap().extend_from_slice(entries);
        Ok(vec![None; entries.len()])
    }
}

/// Hands every stored event, as the stream carries it (sealed), to the projector and to the publisher, and
/// what the bus then carries to the analytics consumer (again, as at-least-once delivery may). Returns the
/// bus entries.
async fn project_everything(store: &TestStore) -> Vec<BusEntry> {
    let records = records_for_all_events(store.engine.as_ref()).await;
    let failures =
        integration_tests::lambdas::project_batch(&batch(records.clone()), &store.stores).await;
    assert!(failures.batch_item_failures.is_empty());
    let bus = CapturingBus::default();
    let published = publish_batch(&batch(records), &bus).await;
    assert!(published.batch_item_failures.is_empty());
    let entries = bus.0.into_inner().unwrap();
    for entry in &entries {
        let envelope =
            store::codec::decode_envelope(serde_json::from_str(&entry.detail).unwrap()).unwrap();
        integration_tests::lambdas::record_event(&store.stores, &envelope)
            .await
            .unwrap();
    }
    entries
}

/// The user's export (`export-events --user`), as an operator answers an access request: fields opened.
async fn export_of(store: &TestStore, user: &str) -> Vec<Value> {
    let filter = tools::export::ExportFilter {
        user: Some(user.to_owned()),
        ..Default::default()
    };
    let mut out = Vec::new();
    tools::export::export(
        store.stores.events.as_ref(),
        store.engine.as_ref(),
        &filter,
        &mut out,
        |_| {},
    )
    .await
    .unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

async fn summary_of(store: &TestStore, owner: &str) -> Value {
    let today = Utc::now().date_naive();
    json!(
        queries::portfolio_summary(store.stores.read_model.as_ref(), owner, today)
            .await
            .unwrap()
    )
}

/// A debt's events as every reader of the log gets them (sealed fields opened, or `[erased]`), as JSON text.
async fn opened_history(store: &TestStore, debt_id: &str) -> String {
    let events = store
        .stores
        .events
        .load_events(&store::AggregateRef::debt(debt_id), 0)
        .await
        .unwrap();
    serde_json::to_string(&events).unwrap()
}

async fn debt_as_of(api: &Api, owner: &str, debt_id: &str, at: &str) -> Value {
    let request = debt_request("GET /debts/{debt_id}", debt_id, owner).query("as_of", at);
    let response = api.call(request).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["data"].clone()
}

/// Every personal string the story writes, each unique to this run.
struct Personal {
    email: String,
    full_name: String,
    debt_name: String,
    creditor: String,
    notes: [String; 2],
    renamed: String,
}

impl Personal {
    fn new(tag: &str) -> Self {
        Personal {
            email: format!("{tag}@mail.example"),
            full_name: format!("Fullname {tag}"),
            debt_name: format!("Debtname {tag}"),
            creditor: format!("Creditor {tag}"),
            notes: [format!("Paynote {tag}"), format!("Chargenote {tag}")],
            renamed: format!("Renamed {tag}"),
        }
    }

    fn all(&self) -> Vec<&str> {
        let mut all = vec![
            self.email.as_str(),
            self.full_name.as_str(),
            self.debt_name.as_str(),
            self.creditor.as_str(),
            self.renamed.as_str(),
        ];
        all.extend(self.notes.iter().map(String::as_str));
        all
    }

    /// The personal strings found anywhere in the store's items.
    async fn found_in(&self, store: &TestStore) -> Vec<String> {
        let items = store.snapshot().await.join("\n");
        self.all()
            .into_iter()
            .filter(|s| items.contains(s))
            .map(str::to_owned)
            .collect()
    }
}

async fn a_users_erasure_leaves_no_personal_data_and_replays_the_same(store: TestStore) {
    let api = Api::new(store.clone());
    let alice = username();
    let personal = Personal::new(&alice);
    // Idempotency-Key records outlive the erasure by up to a day: they must hold nothing personal either.
    let registered = api
        .call(
            ApiRequest::new("POST /users", "/users")
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .json(json!({
                    "username": alice, "email": personal.email, "full_name": personal.full_name,
                    "password": "correct horse battery",
                })),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    assert_eq!(registered.body["data"]["email"], json!(personal.email));
    let token = api.token(&alice).await;
    let created = api
        .call(
            ApiRequest::new("POST /debts", "/debts")
                .as_user(&alice)
                .json(json!({
                    "debt_name": personal.debt_name, "creditor": personal.creditor,
                    "principal": "1000.00", "interest_rate": "5", "current_balance": "900.00",
                    "start_date": "2025-01-01", "payment_frequency": "monthly",
                })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let today = Utc::now().date_naive().to_string();
    for (route, body) in [
        (
            "POST /debts/{debt_id}/payments",
            json!({"amount": "100.00", "paid_on": today, "note": personal.notes[0]}),
        ),
        (
            "POST /debts/{debt_id}/charges",
            json!({"amount": "20.00", "charged_on": today, "kind": "fee", "note": personal.notes[1]}),
        ),
    ] {
        let request = debt_request(route, &debt_id, &alice)
            .header("idempotency-key", uuid::Uuid::new_v4().to_string())
            .json(body);
        let response = api.call(request).await;
        assert_eq!(response.status, 201, "{}", response.body);
    }
    let other = api.new_debt_id(&alice).await;
    let renamed = api
        .call(
            debt_request("PUT /debts/{debt_id}", &other, &alice)
                .json(json!({"debt_name": personal.renamed})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &other, &alice))
        .await;
    assert_eq!(deleted.status, 200);
    let entries = project_everything(&store).await;
    let before_erasure = Utc::now().to_rfc3339();
    // Subscribers get sealed fields.
    let sealed_debt_events = entries
        .iter()
        .filter(|e| e.detail.contains(&debt_id))
        .inspect(|e| assert!(!e.detail.contains(&personal.debt_name), "{}", e.detail))
        .filter(|e| e.detail.contains("\"enc\""))
        .count();
    assert_eq!(sealed_debt_events, 3);
    let summary_before = summary_of(&store, &alice).await;
    // An access request is answered from the log, in clear.
    let export_before = export_of(&store, &alice).await;
    let exported = serde_json::to_string(&export_before).unwrap();
    assert!(exported.contains(&personal.notes[0]) && exported.contains(&personal.email));
    assert_eq!(summary_before["open_debts"], 1, "{summary_before}");

    // Before: the events hold only ciphertext, the read model the clear text (the scan finds it there).
    let events = store
        .sealed_history(&integration_tests::debt_ref(&debt_id))
        .await;
    let stored = serde_json::to_string(&events).unwrap();
    assert!(!stored.contains(&personal.debt_name) && !stored.contains(&personal.notes[0]));
    assert!(stored.contains("\"enc\""), "{stored}");
    let found = personal.found_in(&store).await;
    for s in [
        &personal.email,
        &personal.full_name,
        &personal.debt_name,
        &personal.creditor,
    ] {
        assert!(
            found.contains(s),
            "{s} is in the read model before the erasure"
        );
    }
    let balance_before =
        debt_as_of(&api, &alice, &debt_id, &before_erasure).await["current_balance"].clone();

    // A wrong password changes nothing.
    let refused = api
        .call(ApiRequest::erasure(&alice, "not my password"))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(api
        .authorized(Some(&format!("Bearer {token}")))
        .await
        .is_some());
    // Someone else's account reads as not found.
    let mallory = username();
    api.register(&mallory).await;
    let not_yours = api
        .call(ApiRequest::erasure(&alice, "correct horse battery").as_user(&mallory))
        .await;
    assert_eq!(not_yours.status, 404);

    let erased = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(erased.body["data"]["debts"], 2);
    let entries = project_everything(&store).await;
    // The bus announces the erasure; a subscriber finds the user's debts by their owner (no list: bounded).
    let erasure: Vec<Value> = entries
        .iter()
        .filter(|e| e.detail_type == "UserErased")
        .map(|e| serde_json::from_str(&e.detail).unwrap())
        .collect();
    assert_eq!(erasure.len(), 1);
    assert_eq!(erasure[0]["data"], json!({}), "{}", erasure[0]);
    // The export still has every event, and the erasure, with the personal fields erased.
    let export_after = export_of(&store, &alice).await;
    assert_eq!(export_after.len(), export_before.len() + 1);
    let exported = serde_json::to_string(&export_after).unwrap();
    assert!(exported.contains("[erased]"), "{exported}");
    assert!(
        personal.all().iter().all(|s| !exported.contains(s)),
        "{exported}"
    );
    // The figures still add up: amounts are not personal.
    assert_eq!(summary_of(&store, &alice).await, summary_before);
    let user_log = store.history(&integration_tests::user_ref(&alice)).await;
    let kinds: Vec<&str> = user_log.iter().map(|e| e.event_type()).collect();
    assert_eq!(
        kinds,
        ["UserCreated", "UserErased"],
        "nothing was written in clear"
    );

    // Nothing personal is left in any item: events, read items, credentials, reservations.
    assert_eq!(personal.found_in(&store).await, Vec::<String>::new());
    // The read model keeps the amounts and versions, with the words erased.
    let item = store
        .stores
        .records
        .get_item(&keys::debt_read_key(&alice, &debt_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.attributes["debt_name"], "[erased]");
    assert_eq!(item.attributes["creditor"], "[erased]");
    assert_eq!(item.attributes["current_balance"], balance_before);
    let user = store
        .stores
        .records
        .get_item(&keys::user_info_key(&alice))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(user.attributes.get("email"), None, "{:?}", user.attributes);
    // Her token reads nothing now, and the events, as every reader opens them, say the same.
    let refused = api
        .call(debt_request(
            "GET /debts/{debt_id}/history",
            &debt_id,
            &alice,
        ))
        .await;
    assert_eq!(refused.status, 401, "{}", refused.body);
    let history = opened_history(&store, &debt_id).await;
    assert!(
        history.contains("[erased]") && !history.contains(&personal.notes[0]),
        "{history}"
    );
    assert!(balance_before.is_string());

    // The token and the password no longer work; the email registers again, the username does not.
    assert_eq!(api.authorized(Some(&format!("Bearer {token}"))).await, None);
    let login = api
        .call(
            ApiRequest::new("POST /login", "/login")
                .json(json!({"username": alice, "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, 401);
    let again = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(again.status, 404, "an erased user is gone: {}", again.body);
    let same_username = api
        .call(ApiRequest::new("POST /users", "/users").json(json!({
            "username": alice, "email": format!("new-{}", personal.email), "full_name": "X Y",
            "password": "correct horse battery",
        })))
        .await;
    assert_eq!(same_username.status, 409);
    let newcomer = username();
    let same_email = api
        .call(ApiRequest::new("POST /users", "/users").json(json!({
            "username": newcomer, "email": personal.email, "full_name": "X Y",
            "password": "correct horse battery",
        })))
        .await;
    assert_eq!(same_email.status, 201, "{}", same_email.body);
    project_everything(&store).await;

    // Replay from the log rebuilds the same erased read model.
    let projected = read_model_snapshot(store.stores.read_model.as_ref()).await;
    delete_read_model(store.stores.read_model.as_ref()).await;
    replay(&store.stores, &ReplayOptions::new(Scope::All), |_| {})
        .await
        .unwrap();
    assert_eq!(
        read_model_snapshot(store.stores.read_model.as_ref()).await,
        projected
    );
}

async fn a_user_registered_before_sealing_is_sealed_from_then_on_and_erased_in_place(
    store: TestStore,
) {
    let bob = username();
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (email, legacy_name, legacy_creditor) = (
        format!("{tag}@mail.example"),
        format!("Legacyname {tag}"),
        format!("Legacycreditor {tag}"),
    );
    // As written before sealing existed: `UserCreated` in clear at schema version 1, credentials, a debt
    // from the stored version-1 fixture, and no data key.
    let mut registered = integration_tests::user_created(&bob, &email);
    registered.schema_version = 1;
    let hash = auth::PasswordHasher::new(auth::passwords::MIN_ITERATIONS)
        .unwrap()
        .hash(&auth::Password::parse("correct horse battery").unwrap());
    let credentials = store::Item {
        key: keys::credentials_key(&bob),
        attributes: integration_tests::attrs(json!({ "password_hash": hash })),
    };
    store
        .engine
        .append(AppendRequest::new(0, vec![registered]).with_guard("credentials", credentials))
        .await
        .unwrap();
    let legacy = legacy_debt(store.engine.as_ref(), &bob, &legacy_name, &legacy_creditor).await;
    let key = keys::data_key_key(&bob);
    assert!(store.engine.get_item(&key).await.unwrap().is_none());

    // Their next command makes their data key, in its own transaction, and seals under it.
    let api = Api::new(store.clone());
    let created = api.create_debt(&bob).await;
    assert!(store.engine.get_item(&key).await.unwrap().is_some());
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let stored = store
        .sealed_history(&integration_tests::debt_ref(&debt_id))
        .await;
    assert!(matches!(
        &stored[0].payload,
        events::EventPayload::DebtCreated(d) if matches!(d.debt_name, events::Personal::Sealed(_))
    ));
    project_everything(&store).await;
    let clear = [
        email.as_str(),
        "Test User",
        legacy_name.as_str(),
        legacy_creditor.as_str(),
    ];
    let everything = store.snapshot().await.join("\n");
    assert!(
        clear.iter().all(|s| everything.contains(s)),
        "the legacy words are there before"
    );

    let erased = api
        .call(ApiRequest::erasure(&bob, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    project_everything(&store).await;
    // Legacy events are redacted in place, and the log says which, right after the erasure.
    let user_log = store.history(&integration_tests::user_ref(&bob)).await;
    let kinds: Vec<&str> = user_log.iter().map(|e| e.event_type()).collect();
    assert_eq!(kinds, ["UserCreated", "UserErased", "LegacyEventRedacted"]);
    let events::EventPayload::LegacyEventRedacted(redacted) = &user_log[2].payload else {
        unreachable!()
    };
    let listed: Vec<(&str, u64, Vec<String>)> = redacted
        .events
        .iter()
        .map(|e| (e.aggregate_id.as_str(), e.version, e.fields.clone()))
        .collect();
    assert_eq!(
        listed,
        [
            (
                bob.as_str(),
                1,
                vec!["email".to_owned(), "full_name".to_owned()]
            ),
            (
                legacy.as_str(),
                1,
                vec!["debt_name".to_owned(), "creditor".to_owned()]
            ),
        ]
    );
    let stored = store
        .engine
        .get_item(&keys::event_key(events::AggregateType::Debt, &legacy, 1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.attributes["schema_version"], 1,
        "still the version it was written in"
    );
    let legacy_history = opened_history(&store, &legacy).await;
    assert!(legacy_history.contains("[erased]"), "{legacy_history}");
    let everything = store.snapshot().await;
    let left: Vec<&String> = everything
        .iter()
        .filter(|item| clear.iter().any(|s| item.contains(s)))
        .collect();
    assert!(left.is_empty(), "nothing legacy is left: {left:?}");

    // A command that passed a cached authorizer decision is refused and writes nothing.
    let before = store.snapshot().await;
    let late = api
        .call(
            ApiRequest::new("POST /debts", "/debts")
                .as_user(&bob)
                .json(integration_tests::handlers::car_loan()),
        )
        .await;
    assert_eq!(late.status, 401, "{}", late.body);
    assert_eq!(late.body["detail"], "this account was erased");
    assert_eq!(store.snapshot().await, before);
}

/// The same token right after the erasure, while API Gateway's authorizer cache may still pass it and this
/// process may still hold the data key: every command is refused by the store's own transaction (the owner's
/// credentials must exist) and every read by the handler (401), and nothing is written. Before, a payment,
/// a charge, a balance update and a deletion all succeeded.
async fn an_erased_users_token_writes_and_reads_nothing(store: TestStore) {
    let api = Api::new(store.clone());
    let alice = username();
    api.register(&alice).await;
    let debt_id = api.new_debt_id(&alice).await;
    // The key is in this process's cache now (on the engine that keeps keys): a note would seal.
    let today = Utc::now().date_naive().to_string();
    let noted = debt_request("POST /debts/{debt_id}/payments", &debt_id, &alice)
        .json(json!({"amount": "1.00", "paid_on": today, "note": "warm the key"}));
    let noted = api.call(noted).await;
    assert_eq!(noted.status, 201, "{}", noted.body);
    let erased = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);

    let before = store.snapshot().await;
    let writes = [
        (
            "POST /debts/{debt_id}/payments",
            json!({"amount": "10.00", "paid_on": today}),
        ),
        (
            "POST /debts/{debt_id}/payments",
            json!({"amount": "10.00", "paid_on": today, "note": "after the erasure"}),
        ),
        (
            "POST /debts/{debt_id}/charges",
            json!({"amount": "5.00", "charged_on": today, "kind": "fee"}),
        ),
        ("PUT /debts/{debt_id}", json!({"current_balance": "1.00"})),
        (
            "PUT /debts/{debt_id}",
            json!({"debt_name": "Renamed after"}),
        ),
    ];
    for (route, body) in writes {
        let refused = api
            .call(debt_request(route, &debt_id, &alice).json(body))
            .await;
        assert_eq!(refused.status, 401, "{route}: {}", refused.body);
        assert_eq!(refused.body["detail"], "this account was erased");
    }
    let deleted = api
        .call(debt_request("DELETE /debts/{debt_id}", &debt_id, &alice))
        .await;
    assert_eq!(deleted.status, 401, "{}", deleted.body);
    let created = api
        .post_debt(&alice, integration_tests::handlers::car_loan())
        .await;
    assert_eq!(created.status, 401, "{}", created.body);
    assert_eq!(store.snapshot().await, before, "nothing was written");

    let reads = [
        ApiRequest::new("GET /debts", "/debts").as_user(&alice),
        debt_request("GET /debts/{debt_id}", &debt_id, &alice),
        debt_request("GET /debts/{debt_id}/history", &debt_id, &alice),
        debt_request("GET /debts/{debt_id}/schedule", &debt_id, &alice).query("payment", "100"),
        ApiRequest::new("GET /users/{username}", format!("/users/{alice}"))
            .path_param("username", &alice)
            .as_user(&alice),
        ApiRequest::new(
            "GET /users/{username}/summary",
            format!("/users/{alice}/summary"),
        )
        .path_param("username", &alice)
        .as_user(&alice),
        ApiRequest::new(
            "GET /users/{username}/payoff-plan",
            format!("/users/{alice}/payoff-plan"),
        )
        .path_param("username", &alice)
        .query("monthly_budget", "100")
        .as_user(&alice),
    ];
    for request in reads {
        let route = request.event()["routeKey"].clone();
        let refused = api.call(request).await;
        assert_eq!(refused.status, 401, "{route}: {}", refused.body);
    }
}

/// Fails the first ledger query that continues a page (the erasure's second page), once, and counts the
/// read-model writes and debt loads it lets through.
#[derive(Default)]
struct SecondPageFails {
    failed: std::sync::atomic::AtomicBool,
    writes: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl integration_tests::intercept::Hook for SecondPageFails {
    async fn before(
        &self,
        call: integration_tests::intercept::Call<'_>,
    ) -> Result<(), store::StoreError> {
        use integration_tests::intercept::Call;
        use std::sync::atomic::Ordering;
        match call {
            Call::Query(query)
                if query.cursor.is_some() && !self.failed.swap(true, Ordering::SeqCst) =>
            {
                Err(store::StoreError::Engine(
                    "injected: the invocation ran out of time".into(),
                ))
            }
            Call::WriteReadItem => {
                self.writes.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// An erasure of a user with more debts than one ledger page, interrupted after the first page: the user's
/// own item (email, name) was already a tombstone, the first page's debts read "[erased]", and the retry
/// goes on from the second page without rewriting the first. Before, the user item came last, the debts
/// were rewritten one by one from the first on every retry, and `UserErased` listed every debt id (about
/// 10,000 passed DynamoDB's 400 KB item limit: no erasure at all).
async fn an_interrupted_erasure_resumes_where_it_stopped(store: TestStore) {
    use std::sync::atomic::Ordering;
    let api = Api::new(store.clone());
    let alice = username();
    api.register(&alice).await;
    let debts = 130;
    for n in 0..debts {
        let created = api
            .post_debt(
                &alice,
                json!({"debt_name": format!("Secret {n}"), "principal": "100", "interest_rate": "1",
                       "start_date": "2025-01-01", "payment_frequency": "monthly"}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
    }
    project_everything(&store).await;
    let erased = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let event = store.history(&integration_tests::user_ref(&alice)).await;
    let erasure = serde_json::to_value(&event.last().unwrap().payload).unwrap();
    assert!(erasure["data"].get("debt_ids").is_none(), "{erasure}");

    let hook = Arc::new(SecondPageFails::default());
    let hooked: Arc<dyn Engine> = Arc::new(integration_tests::intercept::Intercepted::new(
        Arc::clone(&store.engine),
        Arc::clone(&hook),
    ));
    let stores = store::Stores::of(hooked).with_events(Arc::clone(&store.stores.events));
    let user = store::AggregateRef::user(&alice);
    let emitted = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&emitted);
    let capture = lambda_support::metrics::capture_on_this_thread(move |line| {
        sink.lock().unwrap().push(line.to_owned());
    });
    let first = integration_tests::footprint::as_function(
        "projector",
        projections::catch_up::catch_up(&stores, &user, None),
    )
    .await;
    drop(capture);
    assert!(first.is_err(), "the second page failed: {first:?}");
    let unfinished = emitted
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains("ErasuresUnfinished"))
        .count();
    assert_eq!(unfinished, 1, "the stack's alarm hears of it");
    let user_item = store
        .engine
        .get_item(&keys::user_info_key(&alice))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        user_item.attributes["erased"],
        json!(true),
        "the user's item went first"
    );
    let names = |items: Vec<String>| -> usize {
        items.iter().filter(|item| item.contains("Secret ")).count()
    };
    let clear_after_first = names(store.snapshot().await);
    assert!(
        clear_after_first > 0 && clear_after_first < debts,
        "the first page is erased, the second not yet: {clear_after_first} still clear"
    );
    let written_first = hook.writes.swap(0, Ordering::SeqCst);

    let retried = integration_tests::footprint::as_function(
        "projector",
        projections::catch_up::catch_up(&stores, &user, None),
    )
    .await;
    assert!(retried.is_ok(), "{retried:?}");
    assert_eq!(names(store.snapshot().await), 0, "every debt erased");
    let written_retry = hook.writes.load(Ordering::SeqCst);
    assert!(
        written_retry < written_first,
        "the retry rewrote only the second page: {written_retry} writes after {written_first}"
    );
    let done = store
        .engine
        .get_item(&keys::erasure_progress_key(&alice))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.attributes["done"], json!(true));
    // Done is done: another delivery rewrites nothing.
    let again = integration_tests::footprint::as_function(
        "projector",
        projections::catch_up::catch_up(&stores, &user, None),
    )
    .await
    .unwrap();
    assert_eq!(again, projections::catch_up::Projected::UpToDate);
    assert_eq!(hook.writes.load(Ordering::SeqCst), written_retry);
}

/// A key-encryption key that counts how many data keys it unwrapped.
struct CountingKek {
    inner: privacy::LocalKek,
    unwrapped: std::sync::atomic::AtomicUsize,
    /// Whose keys were unwrapped, in order.
    owners: Mutex<Vec<String>>,
}

#[async_trait]
impl privacy::KeyEncryptionKey for CountingKek {
    async fn new_data_key(
        &self,
        owner: &str,
    ) -> Result<(privacy::DataKey, privacy::WrappedKey), privacy::PrivacyError> {
        self.inner.new_data_key(owner).await
    }

    async fn unwrap(
        &self,
        owner: &str,
        wrapped: &privacy::WrappedKey,
    ) -> Result<privacy::DataKey, privacy::PrivacyError> {
        self.unwrapped
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.owners.lock().unwrap().push(owner.to_owned());
        self.inner.unwrap(owner, wrapped).await
    }
}

/// Finding 11: someone else's debt (its history, or itself as of an instant) is 404 before anything of it
/// is opened: no data key of its owner is unwrapped (on AWS, no KMS `Decrypt` in its owner's audit trail,
/// and no time to tell it exists). Before, both loaded and decrypted the debt, then checked the owner.
#[tokio::test]
async fn sqlite_another_users_debt_is_never_opened() {
    use std::sync::atomic::Ordering;
    let plain = sqlite_test_store().await;
    let kek = Arc::new(CountingKek {
        inner: plain.sqlite_kek().unwrap(),
        unwrapped: Default::default(),
        owners: Mutex::default(),
    });
    // Every open unwraps afresh, as a cold instance's would.
    let api =
        Api::new(plain.sealed_cold_by(Arc::clone(&kek) as Arc<dyn privacy::KeyEncryptionKey>));
    let (alice, mallory) = (username(), username());
    api.register(&alice).await;
    api.register(&mallory).await;
    let debt_id = api.new_debt_id(&alice).await;
    let now = Utc::now().to_rfc3339();
    kek.unwrapped.store(0, Ordering::SeqCst);
    let history = api
        .call(debt_request(
            "GET /debts/{debt_id}/history",
            &debt_id,
            &mallory,
        ))
        .await;
    assert_eq!(history.status, 404, "{}", history.body);
    let past = api
        .call(debt_request("GET /debts/{debt_id}", &debt_id, &mallory).query("as_of", now))
        .await;
    assert_eq!(past.status, 404, "{}", past.body);
    assert_eq!(
        kek.unwrapped.load(Ordering::SeqCst),
        0,
        "nothing of alice's was opened"
    );
    // Her own read opens it (the counter counts).
    let own = api
        .call(debt_request(
            "GET /debts/{debt_id}/history",
            &debt_id,
            &alice,
        ))
        .await;
    assert_eq!(own.status, 200);
    assert!(kek.unwrapped.load(Ordering::SeqCst) > 0);
}

/// Finding 10: a user registered with an address today's parser refuses (an earlier parser took it) is
/// erased with their email reservation, which the erasure used to skip (the address stayed taken forever).
async fn an_address_an_older_parser_took_is_released_too(store: TestStore) {
    let api = Api::new(store.clone());
    let owner = username();
    let email = format!("{owner}@Intranet");
    assert!(
        domain::Email::parse(&email).is_err(),
        "today's parser refuses it"
    );
    let passwords = auth::PasswordHasher::new(auth::passwords::MIN_ITERATIONS).unwrap();
    let hash = passwords.hash(&auth::Password::parse("correct horse battery").unwrap());
    let guard = keys::email_guard_key(&email.to_lowercase());
    let registered = AppendRequest::new(0, vec![integration_tests::user_created(&owner, &email)])
        .with_guard(
            "email",
            store::Item {
                key: guard.clone(),
                attributes: integration_tests::attrs(json!({"username": owner})),
            },
        )
        .with_guard(
            "credentials",
            store::Item {
                key: keys::credentials_key(&owner),
                attributes: integration_tests::attrs(json!({"password_hash": hash})),
            },
        );
    store.stores.events.append(registered).await.unwrap();
    assert!(store.engine.get_item(&guard).await.unwrap().is_some());
    let erased = api
        .call(ApiRequest::erasure(&owner, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(
        store.engine.get_item(&guard).await.unwrap(),
        None,
        "the address is free again"
    );
}

/// Finding 19: `export-events --user` opens that user's events only: every other user's debt is passed by
/// its stored owner, never decrypted (before, it decrypted every user's events to export one).
#[tokio::test]
async fn sqlite_one_users_export_opens_nobody_elses_events() {
    let plain = sqlite_test_store().await;
    let kek = Arc::new(CountingKek {
        inner: plain.sqlite_kek().unwrap(),
        unwrapped: Default::default(),
        owners: Mutex::default(),
    });
    let store = plain.sealed_cold_by(Arc::clone(&kek) as Arc<dyn privacy::KeyEncryptionKey>);
    let api = Api::new(store.clone());
    let (alice, bob) = (username(), username());
    for user in [&alice, &bob] {
        api.register(user).await;
        api.create_debt(user).await;
    }
    kek.owners.lock().unwrap().clear();
    let exported = export_of(&store, &alice).await;
    assert_eq!(exported.len(), 2, "her registration and her debt");
    let owners = kek.owners.lock().unwrap().clone();
    assert!(
        owners.iter().all(|owner| owner == &alice),
        "unwrapped: {owners:?}"
    );
    assert!(!owners.is_empty(), "hers were opened");
}

/// Refuses every purge of the engine's files, as SQLite does while a reader holds the WAL.
struct BusyPurge;

#[async_trait]
impl integration_tests::intercept::Hook for BusyPurge {
    async fn before(
        &self,
        call: integration_tests::intercept::Call<'_>,
    ) -> Result<(), store::StoreError> {
        match call {
            integration_tests::intercept::Call::PurgeResidue => Err(store::StoreError::Busy),
            _ => Ok(()),
        }
    }
}

/// Finding 14: an erasure whose purge of the engine's files is refused (a busy WAL checkpoint) still answers
/// 200: it was committed (a 503 told the user to retry what was done, and the retry found no such user).
#[tokio::test]
async fn sqlite_a_busy_purge_does_not_turn_a_committed_erasure_into_a_503() {
    let plain = sqlite_test_store().await;
    let busy: Arc<dyn Engine> = Arc::new(integration_tests::intercept::Intercepted::new(
        Arc::clone(&plain.engine),
        BusyPurge,
    ));
    let store = plain.through(busy, Arc::new(plain.sqlite_kek().unwrap()));
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let erased = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let history = plain.history(&integration_tests::user_ref(&alice)).await;
    assert!(matches!(
        history.last().map(|e| &e.payload),
        Some(events::EventPayload::UserErased(_))
    ));
}

/// Finding 9: an idempotency record outlives its user's erasure by up to a day; it held the plain SHA-256 of
/// the request, so a small dictionary recovered a payment's note ("rent") and tested a guessed email and
/// name. Now it holds an HMAC under a secret in the user's credentials, which the erasure deletes: the same
/// guesses match nothing, though the records are still there.
async fn no_idempotency_record_confirms_a_guess_after_an_erasure(store: TestStore) {
    let api = Api::new(store.clone());
    let alice = username();
    let (email, full_name) = (format!("{alice}@example.com"), "Alice Example");
    let (registration_key, payment_key) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    let registered = api
        .call(
            ApiRequest::new("POST /users", "/users")
                .header("idempotency-key", registration_key.clone())
                .json(json!({
                    "username": alice, "email": email, "full_name": full_name,
                    "password": "correct horse battery",
                })),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let debt_id = api.new_debt_id(&alice).await;
    let paid = api
        .call(
            debt_request("POST /debts/{debt_id}/payments", &debt_id, &alice)
                .header("idempotency-key", payment_key.clone())
                .json(
                    json!({"amount": "100.00", "paid_on": Utc::now().date_naive(), "note": "rent"}),
                ),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let erased = api
        .call(ApiRequest::erasure(&alice, "correct horse battery"))
        .await;
    assert_eq!(erased.status, 200, "{}", erased.body);

    let record = |key: store::ItemKey| {
        let engine = Arc::clone(&store.engine);
        async move {
            let item = engine
                .get_item(&key)
                .await
                .unwrap()
                .expect("kept for its day");
            item.attributes["request"].as_str().unwrap().to_owned()
        }
    };
    let payment = record(keys::debt_command_idempotency_key(&alice, &payment_key)).await;
    // The payment as its event records it (amount and day in clear), with each guess for its note.
    for guess in ["food", "rent", "car", "loan"] {
        let canonical = store.last_payment_request(&debt_id, Some(guess)).await;
        assert_ne!(
            payment,
            integration_tests::unkeyed_digest(&canonical),
            "the note {guess:?} was confirmed"
        );
    }
    let registration = record(keys::user_idempotency_key(&registration_key)).await;
    let canonical = json!({"username": alice, "email": email, "full_name": full_name}).to_string();
    assert_ne!(
        registration,
        integration_tests::unkeyed_digest(&canonical),
        "the email and name were confirmed"
    );
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_users_erasure_leaves_no_personal_data_and_replays_the_same,
    no_idempotency_record_confirms_a_guess_after_an_erasure,
    a_user_registered_before_sealing_is_sealed_from_then_on_and_erased_in_place,
    an_erased_users_token_writes_and_reads_nothing,
    an_interrupted_erasure_resumes_where_it_stopped,
    an_address_an_older_parser_took_is_released_too,
);

/// Finding 17: a sealed event copied into another user's debt (by whoever can write the table) opened
/// there, because the key is found by the field's `kid` and nothing bound the aggregate. Now the aggregate
/// is part of the associated data: the copy does not open, and loading that debt says it is corrupt.
#[tokio::test]
async fn sqlite_an_event_copied_into_another_users_debt_does_not_open_there() {
    let store = sqlite_test_store().await;
    let api = Api::new(store.clone());
    let (alice, mallory) = (username(), username());
    api.register(&alice).await;
    api.register(&mallory).await;
    let debt_of = |response: integration_tests::api::ApiResponse| {
        response.body["data"]["debt_id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let hers = debt_of(api.create_debt(&alice).await);
    let his = debt_of(api.create_debt(&mallory).await);
    let secret = format!("alice's card {}", uuid::Uuid::new_v4());
    let renamed = api
        .call(
            debt_request("PUT /debts/{debt_id}", &hers, &alice).json(json!({"debt_name": secret})),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let mut copied = store
        .sealed_history(&integration_tests::debt_ref(&hers))
        .await
        .pop()
        .unwrap();
    assert!(matches!(
        copied.payload,
        events::EventPayload::DebtUpdated(_)
    ));
    copied.aggregate_id.clone_from(&his);
    copied.version = 2;
    store
        .engine
        .append(AppendRequest::new(1, vec![copied]))
        .await
        .unwrap();
    let loaded = store
        .stores
        .events
        .load_events(&integration_tests::debt_ref(&his), 0)
        .await;
    match loaded {
        Err(store::StoreError::Corrupt { reason, .. }) => {
            assert!(reason.starts_with("debt_name"), "{reason}");
        }
        Err(other) => panic!("{other}"),
        Ok(events) => panic!(
            "the copy opened in mallory's debt: {}",
            serde_json::to_string(&events).unwrap()
        ),
    }
}

/// The sealed event log, counting the events it opens.
struct OpenedEvents {
    inner: Arc<dyn store::EventLog>,
    opened: std::sync::atomic::AtomicUsize,
}

#[async_trait]
impl store::EventLog for OpenedEvents {
    async fn append(&self, request: AppendRequest) -> store::StoreResult<()> {
        self.inner.append(request).await
    }
    async fn load_events_through(
        &self,
        of: &store::AggregateRef,
        after: u64,
        through: u64,
    ) -> store::StoreResult<Vec<events::EventEnvelope>> {
        let events = self.inner.load_events_through(of, after, through).await?;
        self.opened
            .fetch_add(events.len(), std::sync::atomic::Ordering::SeqCst);
        Ok(events)
    }
    async fn first_event(
        &self,
        of: &store::AggregateRef,
    ) -> store::StoreResult<Option<events::EventEnvelope>> {
        let event = self.inner.first_event(of).await?;
        self.opened.fetch_add(
            usize::from(event.is_some()),
            std::sync::atomic::Ordering::SeqCst,
        );
        Ok(event)
    }
    async fn list_aggregates(
        &self,
        scan: store::Scan<'_>,
    ) -> store::StoreResult<store::Page<store::AggregateRef>> {
        self.inner.list_aggregates(scan).await
    }
    async fn redact_legacy_event(
        &self,
        redaction: &events::RedactedEvent,
    ) -> store::StoreResult<()> {
        self.inner.redact_legacy_event(redaction).await
    }
}

/// Finding 7 of issue 30: every page of a debt's history loaded and opened (decrypted) the whole debt. Now a
/// page opens its own events, one past it, and the at most two events that last set the name and the
/// creditor before it (for the page's diffs); what came earlier is folded as stored. The page is the same
/// as the one a single listing gives, personal "from" values included.
#[tokio::test]
async fn sqlite_a_history_page_opens_its_own_events_only() {
    let store = sqlite_test_store().await;
    let api = Api::new(store.clone());
    let alice = username();
    api.register(&alice).await;
    let debt_id = api.new_debt_id(&alice).await;
    let today = Utc::now().date_naive().to_string();
    let update = |body: Value| debt_request("PUT /debts/{debt_id}", &debt_id, &alice).json(body);
    let pay = || {
        debt_request("POST /debts/{debt_id}/payments", &debt_id, &alice)
            .json(json!({"amount": "1.00", "paid_on": today, "note": "monthly"}))
    };
    let mut script = vec![
        update(json!({"debt_name": "Renamed A"})),
        update(json!({"creditor": "Bank B"})),
    ];
    script.extend((0..40).map(|_| pay()));
    script.push(update(
        json!({"debt_name": "Renamed C", "creditor": "Bank D"}),
    ));
    script.extend((0..16).map(|_| pay()));
    for request in script {
        let answer = api.call(request).await;
        assert!(answer.status < 300, "{}", answer.body);
    }
    let counting = Arc::new(OpenedEvents {
        inner: Arc::clone(&store.stores.events),
        opened: Default::default(),
    });
    let mut stores = store.stores.clone();
    stores.events = counting.clone();
    let deps = queries::QueryDeps::new(&stores, store.engine_stores().events);
    let page = |limit: &str, cursor: Option<String>| {
        let mut request =
            debt_request("GET /debts/{debt_id}/history", &debt_id, &alice).query("limit", limit);
        if let Some(cursor) = cursor {
            request = request.query("cursor", cursor);
        }
        request.build()
    };
    let read = |response| integration_tests::api::ApiResponse::read(response);
    let whole = read(
        queries::get_debt_history(page("100", None), &deps)
            .await
            .unwrap(),
    );
    assert_eq!(whole.body["data"].as_array().unwrap().len(), 60);
    let first = read(
        queries::get_debt_history(page("43", None), &deps)
            .await
            .unwrap(),
    );
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    counting
        .opened
        .store(0, std::sync::atomic::Ordering::SeqCst);
    let second = read(
        queries::get_debt_history(page("10", Some(cursor)), &deps)
            .await
            .unwrap(),
    );
    let opened = counting.opened.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        opened <= 10 + 1 + 2,
        "{opened} events opened for a page of 10"
    );
    let entries = second.body["data"].as_array().unwrap();
    assert_eq!(entries[..], whole.body["data"].as_array().unwrap()[43..53]);
    assert_eq!(
        entries[0]["changes"],
        json!({"debt_name": {"from": "Renamed A", "to": "Renamed C"},
               "creditor": {"from": "Bank B", "to": "Bank D"}})
    );
}
