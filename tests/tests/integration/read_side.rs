//! The read side on both engines: the projector (fed by DynamoDB Local's real stream, and by the records the
//! stream would deliver), its convergence under duplicates, reordering and failures, replay, and the query
//! handlers. Test names say the engine: `sqlite::...`, `dynamodb::...`.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{call, handlers_over};
use integration_tests::lambdas::project_batch;
use integration_tests::lambdas::replay;
use integration_tests::lambdas::replay_request;
use integration_tests::projection::{
    batch, delete_read_model, drain, failing, read_model_snapshot, records_for_all_events, slow,
    stream_poller,
};
use integration_tests::{attrs, dynamodb_store, on_every_engine, sqlite_store, Handlers};
use projections::replay::{ReplayOptions, Scope};
use projections::replay_job::{
    self, Continuation, KeepGoing, ReplayAnswer, ReplayJobError, ReplayRequest,
};
use serde_json::{json, Value};
use store::ledger::LedgerEntry;
use store::{keys, read_item, Engine, ReadItem, Stores};

type Store = Arc<dyn Engine>;

/// The handlers over one engine's roles as they are: the read side needs no personal field sealed.
struct World {
    store: Store,
    stores: Stores,
    handlers: Handlers,
}

fn world(store: Store) -> World {
    let stores = Stores::of(Arc::clone(&store));
    World {
        handlers: handlers_over(&stores),
        stores,
        store,
    }
}

/// The debts a scripted history leaves behind.
struct Script {
    car: String,
    phone: String,
    loan: String,
    bobs: String,
}

impl World {
    async fn call(&self, request: ApiRequest) -> ApiResponse {
        call(&self.handlers, request).await
    }

    async fn register(&self, username: &str) {
        let response = self
            .call(ApiRequest::new("POST /users", "/users").json(json!({
                "username": username, "email": format!("{username}@example.com"),
                "full_name": format!("{username} Example"), "password": "correct horse battery"
            })))
            .await;
        assert_eq!(response.status, 201, "{:?}", response.body);
    }

    async fn create_debt(&self, owner: &str, name: &str) -> String {
        let response = self
            .call(ApiRequest::new("POST /debts", "/debts").as_user(owner).json(json!({
                "debt_name": name, "principal": "15000", "interest_rate": "4.5", "start_date": "2025-06-01",
                "payment_frequency": "monthly", "current_balance": "12000.50", "creditor": "First Bank"
            })))
            .await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response.body["data"]["debt_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn update(&self, owner: &str, debt_id: &str, body: Value) {
        let response = self
            .call(debt_route("PUT /debts/{debt_id}", debt_id, owner).json(body))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.body);
    }

    /// A payment (`"POST /debts/{debt_id}/payments"`) or a charge, dated today.
    async fn move_money(&self, route: &'static str, owner: &str, debt_id: &str, amount: &str) {
        let today = chrono::Utc::now().date_naive();
        let body = if route.ends_with("payments") {
            json!({"amount": amount, "paid_on": today})
        } else {
            json!({"amount": amount, "charged_on": today, "kind": "fee"})
        };
        let response = self
            .call(debt_route(route, debt_id, owner).json(body))
            .await;
        assert_eq!(response.status, 201, "{:?}", response.body);
    }

    async fn delete(&self, owner: &str, debt_id: &str) {
        let response = self
            .call(debt_route("DELETE /debts/{debt_id}", debt_id, owner))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.body);
    }

    /// Two users; alice's car loan is updated four times, paid down and charged a fee, her phone deleted, her
    /// loan re-rated and paid off; bob has one.
    async fn script(&self) -> Script {
        self.register("alice").await;
        self.register("bob").await;
        let car = self.create_debt("alice", "Car loan").await;
        let phone = self.create_debt("alice", "Phone").await;
        let loan = self.create_debt("alice", "Student loan").await;
        let bobs = self.create_debt("bob", "Bob's card").await;
        for balance in ["11000", "10000", "9000.25"] {
            self.update("alice", &car, json!({ "current_balance": balance }))
                .await;
        }
        self.update(
            "alice",
            &car,
            json!({ "debt_name": "Car", "creditor": null }),
        )
        .await;
        self.delete("alice", &phone).await;
        self.update("alice", &loan, json!({ "interest_rate": 3 }))
            .await;
        self.move_money(PAY, "alice", &car, "1000").await;
        self.move_money(CHARGE, "alice", &car, "25.00").await;
        self.move_money(PAY, "alice", &loan, "12000.50").await;
        Script {
            car,
            phone,
            loan,
            bobs,
        }
    }

    /// Delivers one record per stored event, in order, in batches of 10.
    async fn project_in_order(&self) {
        let records = records_for_all_events(self.store.as_ref()).await;
        for chunk in records.chunks(10) {
            let response = project_batch(&batch(chunk.to_vec()), &self.stores).await;
            assert!(response.batch_item_failures.is_empty());
        }
    }

    async fn read_item(&self, key: &store::ItemKey) -> Option<ReadItem> {
        read_item(self.store.as_ref(), key).await.unwrap()
    }
}

const PAY: &str = "POST /debts/{debt_id}/payments";
const CHARGE: &str = "POST /debts/{debt_id}/charges";

fn debt_route(route: &'static str, debt_id: &str, caller: &str) -> ApiRequest {
    let path = route
        .split(' ')
        .nth(1)
        .unwrap()
        .replace("{debt_id}", debt_id);
    ApiRequest::new(route, path)
        .path_param("debt_id", debt_id)
        .as_user(caller)
}

async fn replay_scope(
    store: &Store,
    scope: Scope,
    dry_run: bool,
) -> projections::replay::ReplayReport {
    let mut options = ReplayOptions::new(scope);
    options.dry_run = dry_run;
    replay(&Stores::of(Arc::clone(store)), &options, |_| {})
        .await
        .unwrap()
}

async fn check_scripted_read_items(world: &World, script: &Script) {
    let car = world
        .read_item(&keys::debt_read_key("alice", &script.car))
        .await
        .expect("car projected");
    assert_eq!((car.version, car.deleted), (7, false));
    assert_eq!(car.attributes["current_balance"], json!("8025.25"));
    assert_eq!(car.attributes["total_paid"], json!("1000.00"));
    assert_eq!(car.attributes["total_charged"], json!("25.00"));
    assert_eq!(car.attributes["status"], json!("open"));
    assert_eq!(car.attributes["debt_name"], json!("Car"));
    assert_eq!(car.attributes["creditor"], Value::Null);
    assert_eq!(car.attributes["owner"], json!("alice"));
    let phone = world
        .read_item(&keys::debt_read_key("alice", &script.phone))
        .await
        .expect("phone projected");
    assert_eq!(
        (phone.version, phone.deleted),
        (2, true),
        "a deleted debt is a tombstone"
    );
    let loan = world
        .read_item(&keys::debt_read_key("alice", &script.loan))
        .await
        .unwrap();
    assert_eq!(loan.attributes["interest_rate"], json!("3"));
    assert_eq!(loan.version, 3);
    assert_eq!(loan.attributes["status"], json!("paid_off"));
    assert_eq!(loan.attributes["current_balance"], json!("0.00"));
    assert_eq!(
        loan.attributes["paid_off_on"],
        json!(chrono::Utc::now().date_naive())
    );
    let bobs = world
        .read_item(&keys::debt_read_key("bob", &script.bobs))
        .await
        .unwrap();
    assert_eq!(bobs.version, 1);
    let alice = world
        .read_item(&keys::user_info_key("alice"))
        .await
        .expect("user projected");
    assert_eq!(alice.attributes["email"], json!("alice@example.com"));
    assert!(alice.attributes.get("password_hash").is_none());
    assert_eq!(read_model_snapshot(world.store.as_ref()).await.len(), 6);
}

pub async fn the_projector_builds_read_items_from_a_scripted_history(store: Store) {
    let world = world(store);
    let script = world.script().await;
    world.project_in_order().await;
    check_scripted_read_items(&world, &script).await;
}

pub async fn duplicates_reordering_and_failures_converge(store: Store) {
    let world = world(store);
    let script = world.script().await;
    world.project_in_order().await;
    let clean = read_model_snapshot(world.store.as_ref()).await;
    delete_read_model(world.store.as_ref()).await;

    let records = records_for_all_events(world.store.as_ref()).await;
    let of = |id: &str| -> Vec<_> {
        records
            .iter()
            .filter(|r| serde_json::to_string(&r.change.keys).unwrap().contains(id))
            .cloned()
            .collect()
    };
    // The car's records reversed, then everything else in a shuffled (fixed-seed) order, all twice.
    let mut chaos: Vec<_> = of(&script.car).into_iter().rev().collect();
    let mut rest: Vec<_> = records
        .iter()
        .filter(|r| {
            !serde_json::to_string(&r.change.keys)
                .unwrap()
                .contains(&script.car)
        })
        .cloned()
        .collect();
    let mut seed = 0x9e37_79b9_u64;
    for i in (1..rest.len()).rev() {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        rest.swap(i, (seed >> 33) as usize % (i + 1));
    }
    chaos.extend(rest);
    chaos.extend(chaos.clone());
    assert_eq!(chaos.len(), records.len() * 2);

    // The loan's first two catch-ups fail: its records are reported and delivered again, as Lambda retries.
    let failing = Stores::of(Arc::new(failing(Arc::clone(&world.store), &script.loan, 2)));
    let mut retry = Vec::new();
    for chunk in chaos.chunks(7) {
        let response = project_batch(&batch(chunk.to_vec()), &failing).await;
        for failure in response.batch_item_failures {
            let id = failure.item_identifier.unwrap();
            retry.extend(
                chunk
                    .iter()
                    .filter(|r| r.change.sequence_number.as_deref() == Some(&id))
                    .cloned(),
            );
        }
    }
    assert!(
        !retry.is_empty(),
        "the injected failure reported its records"
    );
    assert!(retry.iter().all(|r| serde_json::to_string(&r.change.keys)
        .unwrap()
        .contains(&script.loan)));
    let retried = project_batch(&batch(retry), &failing).await;
    assert!(retried.batch_item_failures.is_empty());
    assert_eq!(
        read_model_snapshot(world.store.as_ref()).await,
        clean,
        "byte for byte the clean run"
    );
}

pub async fn replay_rebuilds_repairs_and_removes(store: Store) {
    let world = world(store);
    let script = world.script().await;
    world.project_in_order().await;
    let live = read_model_snapshot(world.store.as_ref()).await;

    delete_read_model(world.store.as_ref()).await;
    let report = replay_scope(&world.store, Scope::All, false).await;
    assert_eq!(
        (report.checked, report.rewritten, report.removed),
        (6, 6, 0)
    );
    assert_eq!(
        report.events, 15,
        "users 1+1, car 7, phone 2, loan 3, bob's 1"
    );
    assert_eq!(report.ledger_entries_written, 0, "the commands wrote them");
    assert_eq!(
        read_model_snapshot(world.store.as_ref()).await,
        live,
        "replay equals the live projector"
    );

    // Corrupt the car (same version, wrong balance) and plant an orphan debt in alice's partition.
    let car_key = keys::debt_read_key("alice", &script.car);
    let mut corrupted = world.read_item(&car_key).await.unwrap();
    corrupted
        .attributes
        .insert("current_balance".into(), json!("0.01"));
    world.store.repair_read_item(&corrupted).await.unwrap();
    let orphan = ReadItem {
        key: keys::debt_read_key("alice", "00000000-0000-4000-8000-000000000000"),
        version: 1,
        deleted: false,
        attributes: attrs(json!({"debt_name": "ghost"})),
    };
    world.store.put_read_item(&orphan).await.unwrap();
    let damaged = read_model_snapshot(world.store.as_ref()).await;

    // One debt at a time: found from its first event (its owner's partition), or, with no events at all,
    // by scanning the read items for it.
    let report = replay_scope(&world.store, Scope::Debt(script.car.clone()), true).await;
    assert_eq!(
        (report.checked, report.rewritten, report.removed),
        (1, 1, 0)
    );
    let ghost = orphan.key.sk.trim_start_matches("DEBT#").to_owned();
    let report = replay_scope(&world.store, Scope::Debt(ghost), true).await;
    assert_eq!((report.rewritten, report.removed), (0, 1));

    let report = replay_scope(&world.store, Scope::All, true).await;
    assert_eq!(
        (report.rewritten, report.removed, report.dry_run),
        (1, 1, true)
    );
    assert_eq!(
        read_model_snapshot(world.store.as_ref()).await,
        damaged,
        "a dry run changes nothing"
    );

    let report = replay_scope(&world.store, Scope::All, false).await;
    assert_eq!((report.rewritten, report.removed), (1, 1));
    assert_eq!(read_model_snapshot(world.store.as_ref()).await, live);

    // Debts recorded before the ledger existed: replay writes their entries, and as_of listings find them.
    let ledger = |id: &str, entry| store::ledger::ledger_key("alice", id, entry);
    let lost = [
        ledger(&script.car, LedgerEntry::Created),
        ledger(&script.phone, LedgerEntry::Created),
        ledger(&script.phone, LedgerEntry::Deleted),
    ];
    let mut kept = Vec::new();
    for key in &lost {
        kept.push(
            world
                .store
                .get_item(key)
                .await
                .unwrap()
                .expect("written by the commands"),
        );
        world.store.delete_item(key).await.unwrap();
    }
    let as_of_now = || {
        ApiRequest::new("GET /debts", "/debts")
            .as_user("alice")
            .query("as_of", chrono::Utc::now().to_rfc3339())
    };
    let listed = world.call(as_of_now()).await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        1,
        "only the loan's entry is left"
    );
    let report = replay_scope(&world.store, Scope::Debt(script.phone.clone()), true).await;
    assert_eq!(report.ledger_entries_written, 2, "a dry run counts");
    assert!(
        world.store.get_item(&lost[1]).await.unwrap().is_none(),
        "and writes nothing"
    );
    let report = replay_scope(&world.store, Scope::All, false).await;
    assert_eq!(report.ledger_entries_written, 3);
    for (key, original) in lost.iter().zip(&kept) {
        assert_eq!(
            world.store.get_item(key).await.unwrap().as_ref(),
            Some(original)
        );
    }
    let listed = world.call(as_of_now()).await;
    assert_eq!(
        listed.body["data"].as_array().unwrap().len(),
        2,
        "the car and the loan"
    );

    let again = replay_scope(&world.store, Scope::User("alice".into()), false).await;
    assert_eq!(
        (again.checked, again.rewritten, again.removed),
        (4, 0, 0),
        "alice and her three debts"
    );
}

pub async fn queries_answer_from_read_items(store: Store) {
    let world = world(store);
    let script = world.script().await;
    world.project_in_order().await;

    let health = world
        .call(ApiRequest::new("GET /healthz", "/healthz"))
        .await;
    assert_eq!(
        (health.status, &health.body["data"]["store"]),
        (200, &json!("ok"))
    );

    let me = world
        .call(
            ApiRequest::new("GET /users/{username}", "/users/alice")
                .path_param("username", "alice")
                .as_user("alice"),
        )
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["data"]["full_name"], json!("alice Example"));
    let other = world
        .call(
            ApiRequest::new("GET /users/{username}", "/users/bob")
                .path_param("username", "bob")
                .as_user("alice"),
        )
        .await;
    assert_eq!(other.status, 404, "someone else's profile is not found");

    let car = world
        .call(debt_route("GET /debts/{debt_id}", &script.car, "alice"))
        .await;
    assert_eq!(car.status, 200);
    assert_eq!(car.body["data"]["current_balance"], json!("8025.25"));
    assert_eq!(car.header("etag"), Some("\"7\""));
    let cached = world
        .call(
            debt_route("GET /debts/{debt_id}", &script.car, "alice")
                .header("If-None-Match", "\"7\""),
        )
        .await;
    assert_eq!((cached.status, &cached.body), (304, &Value::Null));
    let stale = world
        .call(
            debt_route("GET /debts/{debt_id}", &script.car, "alice")
                .header("If-None-Match", "\"4\""),
        )
        .await;
    assert_eq!(stale.status, 200);
    for (who, id) in [
        ("bob", &script.car),
        ("alice", &script.phone),
        ("alice", &script.bobs),
    ] {
        let response = world
            .call(debt_route("GET /debts/{debt_id}", id, who))
            .await;
        assert_eq!(response.status, 404, "{who} reading {id}");
    }

    let listed = world
        .call(ApiRequest::new("GET /debts", "/debts").as_user("alice"))
        .await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.strings("/data", "debt_name"),
        ["Student loan", "Car"],
        "newest first, the deleted phone left out"
    );
    assert_eq!(listed.body["next_cursor"], Value::Null);
    let by_name = world
        .call(
            ApiRequest::new("GET /debts", "/debts")
                .as_user("alice")
                .query("sort", "name"),
        )
        .await;
    assert_eq!(
        by_name.strings("/data", "debt_name"),
        ["Car", "Student loan"]
    );
}

pub async fn history_shows_every_change_and_survives_deletion(store: Store) {
    let world = world(store);
    let script = world.script().await;
    world.delete("alice", &script.car).await;

    let history = world
        .call(debt_route(
            "GET /debts/{debt_id}/history",
            &script.car,
            "alice",
        ))
        .await;
    assert_eq!(history.status, 200, "{:?}", history.body);
    let entries = history.body["data"].as_array().unwrap();
    assert_eq!(
        history.event_types(),
        [
            "DebtCreated",
            "DebtUpdated",
            "DebtUpdated",
            "DebtUpdated",
            "DebtUpdated",
            "PaymentRecorded",
            "ChargeAdded",
            "DebtDeleted"
        ]
    );
    assert_eq!(
        entries[5]["balance"],
        json!({"before": "9000.25", "after": "8000.25"})
    );
    assert_eq!(entries[5]["data"]["amount"], json!("1000.00"));
    assert_eq!(
        entries[6]["balance"],
        json!({"before": "8000.25", "after": "8025.25"})
    );
    assert_eq!(entries[6]["data"]["kind"], json!("fee"));
    assert_eq!(entries[0]["data"]["current_balance"], json!("12000.50"));
    assert_eq!(
        entries[1]["changes"],
        json!({"current_balance": {"from": "12000.50", "to": "11000.00"}})
    );
    assert_eq!(
        entries[3]["changes"],
        json!({"current_balance": {"from": "10000.00", "to": "9000.25"}})
    );
    assert_eq!(
        entries[4]["changes"],
        json!({"debt_name": {"from": "Car loan", "to": "Car"}, "creditor": {"from": "First Bank", "to": null}})
    );
    for (n, entry) in entries.iter().enumerate() {
        assert_eq!(entry["version"], json!(n + 1));
        assert_eq!(entry["actor"], json!("alice"));
        assert!(entry["correlation_id"].is_string() && entry["occurred_at"].is_string());
    }
    let bob = world
        .call(debt_route(
            "GET /debts/{debt_id}/history",
            &script.car,
            "bob",
        ))
        .await;
    assert_eq!(bob.status, 404);
    let missing = world
        .call(debt_route(
            "GET /debts/{debt_id}/history",
            "00000000-0000-4000-8000-000000000001",
            "alice",
        ))
        .await;
    assert_eq!(missing.status, 404);
}

pub async fn two_hundred_thirty_seven_debts_page_without_gaps_or_repeats(store: Store) {
    let world = world(store);
    world.register("alice").await;
    let mut expected = Vec::new();
    for n in 0..237 {
        expected.push(
            world
                .create_debt("alice", &format!("Debt {:03}", (n * 7919) % 1000))
                .await,
        );
    }
    world.create_debt("bob", "Bob's").await;
    world.project_in_order().await;

    for (sort, limit) in [
        ("newest", 1),
        ("newest", 10),
        ("newest", 50),
        ("name", 7),
        ("name", 100),
    ] {
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..300 {
            let mut request = ApiRequest::new("GET /debts", "/debts")
                .as_user("alice")
                .query("limit", limit.to_string())
                .query("sort", sort);
            if let Some(c) = &cursor {
                request = request.query("cursor", c.clone());
            }
            let page = world.call(request).await;
            assert_eq!(page.status, 200, "{:?}", page.body);
            let items = page.body["data"].as_array().unwrap();
            assert!(items.len() <= limit);
            seen.extend(items.iter().cloned());
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let mut ids: Vec<&str> = seen
            .iter()
            .map(|d| d["debt_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), 237, "{sort}/{limit}: every debt once");
        let keys: Vec<String> = seen
            .iter()
            .map(|d| match sort {
                "name" => d["debt_name"].as_str().unwrap().to_lowercase(),
                _ => d["created_at"].as_str().unwrap().to_owned(),
            })
            .collect();
        let mut ordered = keys.clone();
        ordered.sort();
        if sort == "newest" {
            ordered.reverse();
        }
        assert_eq!(keys, ordered, "{sort}/{limit}: in order");
        ids.sort();
        ids.dedup();
        let mut all: Vec<&str> = expected.iter().map(String::as_str).collect();
        all.sort();
        assert_eq!(ids, all, "{sort}/{limit}: no repeats, no gaps");
    }

    let first = world
        .call(
            ApiRequest::new("GET /debts", "/debts")
                .as_user("alice")
                .query("limit", "5"),
        )
        .await;
    let alices_cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let stolen = world
        .call(
            ApiRequest::new("GET /debts", "/debts")
                .as_user("bob")
                .query("cursor", alices_cursor.clone()),
        )
        .await;
    assert_eq!(stolen.status, 400, "another user's cursor is refused");
    let other_order = world
        .call(
            ApiRequest::new("GET /debts", "/debts")
                .as_user("alice")
                .query("sort", "name")
                .query("cursor", alices_cursor),
        )
        .await;
    assert_eq!(other_order.status, 400);
    for limit in ["0", "101", "ten"] {
        let response = world
            .call(
                ApiRequest::new("GET /debts", "/debts")
                    .as_user("alice")
                    .query("limit", limit),
            )
            .await;
        assert_eq!(response.status, 400, "limit {limit}");
    }
}

/// A debt whose read item was never written (its projection failed for good) is found by a user-scoped
/// replay from its events, as `--all` finds it.
pub async fn a_user_replay_finds_debts_that_have_no_read_item(store: Store) {
    let owner = format!("owner{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let debt = uuid::Uuid::new_v4().to_string();
    let created = integration_tests::debt_created(&debt, &owner);
    store
        .append(store::AppendRequest::new(0, vec![created]))
        .await
        .unwrap();
    let key = keys::debt_read_key(&owner, &debt);
    assert!(store.get_item(&key).await.unwrap().is_none());
    let report = replay_scope(&store, Scope::User(owner.clone()), false).await;
    assert_eq!(report.rewritten, 1, "{report:?}");
    let item = store.get_item(&key).await.unwrap().expect("the read item");
    assert_eq!(item.attributes["debt_id"], json!(debt));
}

/// A long history comes in pages (`limit` 1-100, default 100) with a cursor bound to its debt; the pages
/// together are the whole history, each `{from, to}` computed against the state before it.
pub async fn a_long_history_comes_in_pages(store: Store) {
    let world = world(store);
    world.register("pager").await;
    let debt = world.create_debt("pager", "Long one").await;
    // 149 updates, appended as one client would make them, then read back in pages.
    for n in 1..150 {
        world
            .update(
                "pager",
                &debt,
                json!({"current_balance": format!("{}.00", 10_000 - n)}),
            )
            .await;
    }
    let page = |cursor: Option<&str>, limit: Option<&str>| {
        let mut request = debt_route("GET /debts/{debt_id}/history", &debt, "pager");
        if let Some(cursor) = cursor {
            request = request.query("cursor", cursor);
        }
        if let Some(limit) = limit {
            request = request.query("limit", limit);
        }
        world.call(request)
    };
    let first = page(None, None).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    assert_eq!(
        first.body["data"].as_array().unwrap().len(),
        100,
        "100 by default"
    );
    let cursor = first.body["next_cursor"]
        .as_str()
        .expect("more to come")
        .to_owned();
    let second = page(Some(&cursor), Some("30")).await;
    let entries = second.body["data"].as_array().unwrap();
    assert_eq!(entries.len(), 30);
    assert_eq!(entries[0]["version"], json!(101));
    assert_eq!(
        entries[0]["changes"]["current_balance"],
        json!({"from": "9901.00", "to": "9900.00"}),
        "a page's first change knows the state before it"
    );
    let cursor = second.body["next_cursor"].as_str().unwrap().to_owned();
    let last = page(Some(&cursor), None).await;
    assert_eq!(last.body["data"].as_array().unwrap().len(), 20);
    assert_eq!(last.body["next_cursor"], Value::Null);
    // A cursor of another debt, or garbage, or a bad limit, is a 400.
    let other = world.create_debt("pager", "Other").await;
    let foreign = world
        .call(debt_route("GET /debts/{debt_id}/history", &other, "pager").query("cursor", &cursor))
        .await;
    assert_eq!(foreign.status, 400, "{:?}", foreign.body);
    assert_eq!(page(Some("%%%"), None).await.status, 400);
    for limit in ["0", "101", "x"] {
        assert_eq!(page(None, Some(limit)).await.status, 400, "limit {limit}");
    }
}

/// A stream record names who caused its event (`actor`); the projector takes it for the debt's owner to
/// find the read item in one read. A record whose actor is someone else must still land the debt in its
/// owner's partition, and nowhere else.
pub async fn a_wrong_owner_hint_still_finds_the_owner(store: Store) {
    let world = world(store);
    world.register("alice").await;
    let debt = world.create_debt("alice", "Visa").await;
    let update = debt_route("PUT /debts/{debt_id}", &debt, "alice")
        .json(json!({"current_balance": "11000.00"}));
    assert_eq!(world.call(update).await.status, 200);
    let mut records = records_for_all_events(world.store.as_ref()).await;
    for record in &mut records {
        if let Some(actor) = record.change.new_image.get_mut("actor") {
            *actor = serde_dynamo::AttributeValue::S("mallory".into());
        }
    }
    // First the creation alone (no read item yet), then the update (the item at version 1 exists).
    let (first, rest): (Vec<_>, Vec<_>) = records.into_iter().partition(|r| {
        projections::projector::event_key_of(r)
            .and_then(|key| keys::parse_event_key(&key))
            .is_some_and(|(_, _, version)| version == 1)
    });
    assert_eq!(
        (first.len(), rest.len()),
        (2, 1),
        "two creations, one update"
    );
    for records in [first, rest] {
        let response = project_batch(&batch(records), &world.stores).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let item = world
        .store
        .get_item(&keys::debt_read_key("alice", &debt))
        .await
        .unwrap()
        .and_then(ReadItem::from_item)
        .expect("the debt is in its owner's partition");
    assert_eq!(item.version, 2, "at its latest version");
    assert!(
        world
            .store
            .get_item(&keys::debt_read_key("mallory", &debt))
            .await
            .unwrap()
            .is_none(),
        "and not in the partition the records named"
    );
}

/// A batch's distinct aggregates are caught up at once, up to the projector's bound: with a store that
/// takes 20 ms per event load, 40 debts one after another would keep one load under way at a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aggregates_of_a_batch_are_caught_up_concurrently_within_a_bound() {
    let world = world(sqlite_store().await);
    world.register("alice").await;
    let mut debts = Vec::new();
    for n in 0..40 {
        debts.push(world.create_debt("alice", &format!("Debt {n}")).await);
    }
    let records = records_for_all_events(world.store.as_ref()).await;
    let slow = Arc::new(slow(
        Arc::clone(&world.store),
        std::time::Duration::from_millis(20),
    ));
    let response = project_batch(&batch(records), &Stores::of(slow.clone())).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        slow.hook
            .most_in_flight
            .load(std::sync::atomic::Ordering::SeqCst),
        projections::projector::CONCURRENT_CATCH_UPS,
        "as many catch-ups at once as the bound allows, no more"
    );
    for debt in debts {
        let item = world
            .store
            .get_item(&keys::debt_read_key("alice", &debt))
            .await
            .unwrap();
        assert!(item.is_some(), "every debt of the batch is projected");
    }
}

/// Where one process runs a job to its end: nothing to continue.
struct NoContinuation;

#[async_trait::async_trait]
impl Continuation for NoContinuation {
    async fn continue_job(&self, job_id: &str) -> Result<(), String> {
        Err(format!(
            "job {job_id} was not finished, and nothing continues it here"
        ))
    }
}

/// A `keep_going` that lets `pages` pages start, then stops.
fn pages(pages: u64) -> KeepGoing {
    let started = std::sync::atomic::AtomicU64::new(0);
    Arc::new(move || started.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < pages)
}

fn start_all(segments: u32) -> ReplayRequest {
    let mut options = ReplayOptions::new(Scope::All);
    options.segments = segments;
    ReplayRequest::Start(options)
}

pub async fn a_replay_job_over_segments_rebuilds_what_the_projector_built(store: Store) {
    let world = world(store);
    world.script().await;
    world.project_in_order().await;
    let live = read_model_snapshot(world.store.as_ref()).await;
    delete_read_model(world.store.as_ref()).await;
    let answer = replay_request(
        &world.stores,
        start_all(4),
        pages(u64::MAX),
        &NoContinuation,
    )
    .await
    .unwrap();
    let ReplayAnswer::Job(status) = answer else {
        panic!("the whole table is a job: {answer:?}")
    };
    assert!(status.finished, "{status:?}");
    assert_eq!(status.segments_done, 4);
    assert_eq!(
        (
            status.totals.checked,
            status.totals.rewritten,
            status.totals.events
        ),
        (6, 6, 15)
    );
    assert_eq!(read_model_snapshot(world.store.as_ref()).await, live);
}

pub async fn a_stopped_replay_job_resumes_where_it_stopped(store: Store) {
    let world = world(store);
    world.script().await;
    world.project_in_order().await;
    let live = read_model_snapshot(world.store.as_ref()).await;
    delete_read_model(world.store.as_ref()).await;
    // One segment, one page: the aggregates' page is done, the read items' is not.
    let answer = replay_request(&world.stores, start_all(1), pages(1), &Refused)
        .await
        .unwrap_err();
    let ReplayJobError::Continuation { job_id, .. } = answer else {
        panic!("an unfinished job asks to be continued: {answer}")
    };
    let stopped = replay_job::status(&world.stores, &job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (stopped.finished, stopped.totals.checked),
        (false, 6),
        "{stopped:?}"
    );
    assert_eq!(read_model_snapshot(world.store.as_ref()).await, live);
    // Resumed (as the continuation event does), it finishes without rebuilding an aggregate again.
    let request = ReplayRequest::Resume {
        job_id: job_id.clone(),
    };
    let answer = replay_request(&world.stores, request, pages(u64::MAX), &NoContinuation)
        .await
        .unwrap();
    let ReplayAnswer::Job(done) = answer else {
        panic!("{answer:?}")
    };
    assert!(done.finished);
    assert_eq!((done.totals.checked, done.totals.events), (6, 15));
    let checkpoint = replay_job::status(&world.stores, &job_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(checkpoint, done);
}

/// Records that the job was handed on, and refuses: the caller sees the job's id in the error.
struct Refused;

#[async_trait::async_trait]
impl Continuation for Refused {
    async fn continue_job(&self, _job_id: &str) -> Result<(), String> {
        Err("stopped here on purpose".into())
    }
}

on_every_engine!(sqlite: sqlite_store, dynamodb: dynamodb_store;
    a_replay_job_over_segments_rebuilds_what_the_projector_built,
    a_stopped_replay_job_resumes_where_it_stopped,
    a_long_history_comes_in_pages,
    a_wrong_owner_hint_still_finds_the_owner,
    a_user_replay_finds_debts_that_have_no_read_item,
    the_projector_builds_read_items_from_a_scripted_history,
    duplicates_reordering_and_failures_converge,
    replay_rebuilds_repairs_and_removes,
    queries_answer_from_read_items,
    history_shows_every_change_and_survives_deletion,
    two_hundred_thirty_seven_debts_page_without_gaps_or_repeats,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_the_projector_on_the_real_stream_builds_the_read_items() {
    let table = integration_tests::dynamodb_table().await;
    let mut poller = stream_poller(&table).await;
    let world = world(Arc::new(table));
    let script = world.script().await;

    let records = drain(&mut poller).await;
    let event_records = records
        .iter()
        .filter(|r| projections::projector::aggregate_of(r).is_some())
        .count();
    assert_eq!(event_records, 15, "one stream record per event");
    assert!(
        records.len() > event_records,
        "credentials and guards are in the stream too, and ignored"
    );
    let response = project_batch(&batch(records), &world.stores).await;
    assert!(response.batch_item_failures.is_empty());
    check_scripted_read_items(&world, &script).await;

    // The projector's own writes come back through the stream; they name no aggregate and change nothing.
    let snapshot = read_model_snapshot(world.store.as_ref()).await;
    let echoes = drain(&mut poller).await;
    assert_eq!(
        echoes.len(),
        8,
        "the six read items written, and two notice time-index entries (plain items)"
    );
    assert!(echoes
        .iter()
        .all(|r| projections::projector::aggregate_of(r).is_none()));
    let response = project_batch(&batch(echoes), &world.stores).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(read_model_snapshot(world.store.as_ref()).await, snapshot);
}
