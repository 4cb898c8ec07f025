//! Counting the storage port's calls per API call, on SQLite: what `docs/operations.md` turns into DynamoDB
//! requests and cost. Each API call is followed by what it sets off asynchronously, as on AWS: the projector's
//! catch-up of each new event and the analytics consumer's delivery of it (the publisher touches no table).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use events::EventEnvelope;
use serde_json::json;
use store::{
    AggregateRef, AppendRequest, EventStore, Item, ItemKey, Page, Query, QueryTarget, ReadItem,
    Segment, StoreError, WriteOutcome,
};

use crate::api::ApiRequest;
use crate::handlers::{car_loan, debt_request, Api};
use crate::projection::{batch, stream_record};

/// A store that tallies every call by the DynamoDB request it becomes.
pub struct CountingStore {
    pub inner: Arc<dyn EventStore>,
    tally: Mutex<BTreeMap<&'static str, u64>>,
}

impl CountingStore {
    pub fn new(inner: Arc<dyn EventStore>) -> Self {
        CountingStore {
            inner,
            tally: Mutex::new(BTreeMap::new()),
        }
    }

    fn add(&self, request: &'static str, n: u64) {
        *self.tally.lock().unwrap().entry(request).or_insert(0) += n;
    }

    /// The tally since the last call, emptied.
    pub fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut self.tally.lock().unwrap())
    }
}

#[async_trait]
impl EventStore for CountingStore {
    async fn append(&self, request: AppendRequest) -> Result<(), StoreError> {
        let items = (request.events.len()
            + request.guards.len()
            + request.tallies.len()
            + request.removals.len()) as u64;
        if items == 1 {
            self.add("PutItem", 1);
        } else {
            self.add("TransactWriteItems", 1);
            self.add("TransactWriteItems items", items);
        }
        self.inner.append(request).await
    }

    async fn load_events(
        &self,
        aggregate: &AggregateRef,
        after: u64,
    ) -> Result<Vec<EventEnvelope>, StoreError> {
        self.add("Query (consistent)", 1);
        self.inner.load_events(aggregate, after).await
    }

    async fn list_aggregates(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<AggregateRef>, StoreError> {
        self.add("Scan", 1);
        self.inner.list_aggregates(segment, cursor).await
    }

    async fn get_item(&self, key: &ItemKey) -> Result<Option<Item>, StoreError> {
        self.add("GetItem (consistent)", 1);
        self.inner.get_item(key).await
    }

    async fn get_item_json(&self, key: &ItemKey) -> Result<Option<String>, StoreError> {
        self.add("GetItem (consistent)", 1);
        self.inner.get_item_json(key).await
    }

    async fn put_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        self.add("PutItem", 1);
        self.inner.put_read_item(item).await
    }

    async fn repair_read_item(&self, item: &ReadItem) -> Result<WriteOutcome, StoreError> {
        self.add("PutItem", 1);
        self.inner.repair_read_item(item).await
    }

    async fn list_read_items(
        &self,
        segment: Segment,
        cursor: Option<&str>,
    ) -> Result<Page<ReadItem>, StoreError> {
        self.add("Scan", 1);
        self.inner.list_read_items(segment, cursor).await
    }

    async fn put_item(&self, item: &Item) -> Result<(), StoreError> {
        self.add("PutItem", 1);
        self.inner.put_item(item).await
    }

    async fn delete_read_item(&self, key: &ItemKey) -> Result<(), StoreError> {
        self.add("DeleteItem", 1);
        self.inner.delete_read_item(key).await
    }

    async fn query(&self, query: &Query) -> Result<Page<Item>, StoreError> {
        match query.target {
            QueryTarget::Partition { .. } => self.add("Query (consistent)", 1),
            QueryTarget::SkPkIndex { .. } => self.add("Query (index)", 1),
        }
        self.inner.query(query).await
    }

    async fn increment_once(
        &self,
        marker: &ItemKey,
        counter: &ItemKey,
        increments: &[(&str, i64)],
    ) -> Result<bool, StoreError> {
        self.add("TransactWriteItems", 1);
        self.add("TransactWriteItems items", 2);
        self.inner.increment_once(marker, counter, increments).await
    }

    async fn redact_legacy_event(
        &self,
        redaction: &events::RedactedEvent,
    ) -> Result<(), StoreError> {
        // DynamoDB: a consistent GetItem, then a conditional PutItem.
        self.add("GetItem", 1);
        self.add("PutItem", 1);
        self.inner.redact_legacy_event(redaction).await
    }

    async fn purge_residue(&self) -> Result<(), StoreError> {
        self.inner.purge_residue().await
    }
}

/// One API call's storage requests: synchronous (the handler) and asynchronous (projector and analytics,
/// once per event the call committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCost {
    pub call: &'static str,
    pub events: u64,
    pub handler: BTreeMap<&'static str, u64>,
    pub after: BTreeMap<&'static str, u64>,
}

/// Runs one of each API call on a fresh SQLite store and counts its storage requests.
pub async fn measure() -> Vec<CallCost> {
    let sqlite = crate::sqlite_test_store().await;
    // Listing what a call committed goes around the counter. The counter sits under the sealing store, as the
    // table sits under it on AWS, so a data key's reads are counted (its cache is warm after registration,
    // as in a warm function).
    let raw = Arc::clone(&sqlite.engine_store);
    let counting = Arc::new(CountingStore::new(Arc::clone(&sqlite.engine_store)));
    let kek_path = std::env::temp_dir().join(format!("debts-tests/{}.kek", uuid::Uuid::new_v4()));
    let store = crate::sealing(&(counting.clone() as Arc<dyn EventStore>), &kek_path);
    let api = Api::new(crate::TestStore {
        store: Arc::clone(&store),
        engine_store: counting.clone(),
        ..sqlite
    });
    let queries = queries::QueryDeps {
        store: Arc::clone(&store),
    };
    let mut costs = Vec::new();
    let user = "costs_user";
    let mut debt_id = String::new();
    let calls = [
        "POST /users",
        "POST /login",
        "POST /debts",
        "GET /debts/{debt_id}",
        "GET /debts",
        "PUT /debts/{debt_id}",
        "POST /debts/{debt_id}/payments",
        "POST /debts/{debt_id}/charges",
        "GET /debts/{debt_id}/history",
        "GET /users/{username}",
        "GET /users/{username}/summary",
        "GET /debts/{debt_id}?as_of=T",
        "GET /debts?as_of=T",
        "GET /users/{username}/summary?as_of=T",
        "GET /users/{username}/payoff-plan",
        "GET /debts/{debt_id}/schedule",
        "DELETE /debts/{debt_id}",
        "DELETE /users/{username}",
    ];
    for call in calls {
        let before = committed(raw.as_ref()).await;
        let response = call_api(&api, &queries, call, user, &debt_id).await;
        assert!(response.status < 300, "{call}: {:?}", response.body);
        if call == "POST /debts" {
            debt_id = response.body["data"]["debt_id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        let handler = counting.take();
        let new_events = new_events(raw.as_ref(), before).await;
        set_off(store.as_ref(), &new_events).await;
        costs.push(CallCost {
            call,
            events: new_events.len() as u64,
            handler,
            after: counting.take(),
        });
    }
    costs
}

/// Makes one API call of the measured user through its handler.
async fn call_api(
    api: &Api,
    queries: &queries::QueryDeps,
    call: &'static str,
    user: &str,
    debt_id: &str,
) -> crate::api::ApiResponse {
    match call {
        "POST /users" => api.register(user).await,
        "POST /login" => {
            let request = ApiRequest::new("POST /login", "/login")
                .json(json!({"username": user, "password": "correct horse battery"}));
            api.call(request).await
        }
        "POST /debts" => {
            let request = ApiRequest::new("POST /debts", "/debts")
                .as_user(user)
                .json(car_loan());
            api.call(request).await
        }
        "PUT /debts/{debt_id}" => {
            let request = debt_request(call, debt_id, user)
                .json(json!({"current_balance": 100, "minimum_payment": 50}));
            api.call(request).await
        }
        "POST /debts/{debt_id}/payments" => {
            let body = json!({"amount": "100.00", "paid_on": chrono::Utc::now().date_naive()});
            api.call(debt_request(call, debt_id, user).json(body)).await
        }
        "POST /debts/{debt_id}/charges" => {
            let body = json!({"amount": "12.50", "charged_on": chrono::Utc::now().date_naive(), "kind": "fee"});
            api.call(debt_request(call, debt_id, user).json(body)).await
        }
        "DELETE /debts/{debt_id}" => api.call(debt_request(call, debt_id, user)).await,
        "DELETE /users/{username}" => {
            let request = ApiRequest::new(call, format!("/users/{user}"))
                .path_param("username", user)
                .as_user(user)
                .json(json!({"password": "correct horse battery"}));
            api.call(request).await
        }
        _ => query(queries, call, user, debt_id).await,
    }
}

/// What the committed events set off on AWS: the projector's catch-up and analytics' delivery of each.
async fn set_off(store: &dyn EventStore, events: &[EventEnvelope]) {
    for event in events {
        let record = stream_record(event, 1);
        projections::project_batch(&batch(vec![record]), store).await;
        analytics::record_event(store, event).await.unwrap();
    }
}

async fn query(
    deps: &queries::QueryDeps,
    route: &'static str,
    user: &str,
    debt_id: &str,
) -> crate::api::ApiResponse {
    // A read of the past is the same route with `?as_of=`.
    let (route, as_of) = match route.split_once("?as_of=") {
        Some((route, _)) => (
            route,
            Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        ),
        None => (route, None),
    };
    let request = match route {
        "GET /debts" => ApiRequest::new(route, "/debts").as_user(user),
        "GET /users/{username}/payoff-plan" => {
            ApiRequest::new(route, format!("/users/{user}/payoff-plan"))
                .path_param("username", user)
                .as_user(user)
                .query("monthly_budget", "100")
        }
        "GET /users/{username}" | "GET /users/{username}/summary" => {
            ApiRequest::new(route, format!("/users/{user}"))
                .path_param("username", user)
                .as_user(user)
        }
        _ => debt_request(route, debt_id, user),
    };
    let request = match as_of {
        Some(at) => request.query("as_of", at),
        None => request,
    };
    let event = request.build();
    let response = match route {
        "GET /debts" => queries::list_debts(event, deps).await,
        "GET /users/{username}" => queries::get_user(event, deps).await,
        "GET /users/{username}/summary" => queries::get_summary(event, deps).await,
        "GET /debts/{debt_id}/history" => queries::get_debt_history(event, deps).await,
        "GET /users/{username}/payoff-plan" => queries::get_payoff_plan(event, deps).await,
        "GET /debts/{debt_id}/schedule" => queries::get_debt_schedule(event, deps).await,
        _ => queries::get_debt(event, deps).await,
    };
    crate::api::ApiResponse::read(response.unwrap())
}

async fn committed(store: &dyn EventStore) -> usize {
    all_events(store).await.len()
}

async fn new_events(store: &dyn EventStore, before: usize) -> Vec<EventEnvelope> {
    all_events(store).await.split_off(before)
}

async fn all_events(store: &dyn EventStore) -> Vec<EventEnvelope> {
    let mut events = Vec::new();
    for aggregate in crate::projection::aggregates(store).await {
        events.extend(store.load_events(&aggregate, 0).await.unwrap());
    }
    events.sort_by_key(|e| (e.occurred_at, e.aggregate_id.clone(), e.version));
    events
}

/// The measured costs as the markdown table of `docs/operations.md`.
pub fn markdown_table(costs: &[CallCost]) -> String {
    let cell = |tally: &BTreeMap<&'static str, u64>| {
        if tally.is_empty() {
            return "none".to_owned();
        }
        tally
            .iter()
            .map(|(request, n)| format!("{n} {request}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut table = String::from(
        "| API call | events | handler's requests | after it, per call (projector + analytics) |\n|---|---|---|---|\n",
    );
    for cost in costs {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            cost.call,
            cost.events,
            cell(&cost.handler),
            cell(&cost.after)
        ));
    }
    table
}
