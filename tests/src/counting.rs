//! Counting the storage port's calls per API call, on SQLite: what `docs/operations.md` turns into DynamoDB
//! requests and cost. Each API call is followed by what it sets off asynchronously, as on AWS: the projector's
//! catch-up of each new event and the analytics consumer's delivery of it (the publisher touches no table).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use events::EventEnvelope;
use serde_json::json;
use store::{StoreError, Stores};

use crate::api::ApiRequest;
use crate::handlers::{car_loan, debt_request, Api};
use crate::intercept::{Call, Hook, Intercepted};
use crate::projection::{batch, stream_record};

/// Tallies every port call by the DynamoDB request it becomes.
#[derive(Default)]
pub struct Tally(Mutex<BTreeMap<&'static str, u64>>);

impl Tally {
    fn add(&self, request: &'static str, n: u64) {
        *self.0.lock().unwrap().entry(request).or_insert(0) += n;
    }

    /// The tally since the last call, emptied.
    pub fn take(&self) -> BTreeMap<&'static str, u64> {
        std::mem::take(&mut self.0.lock().unwrap())
    }
}

/// The DynamoDB requests each port call is, as the DynamoDB engine sends them.
#[async_trait]
impl Hook for Tally {
    async fn before(&self, call: Call<'_>) -> Result<(), StoreError> {
        match call {
            // One item is a plain conditional PutItem; more are one transaction.
            Call::Append { items: 1 } => self.add("PutItem", 1),
            Call::Append { items } => {
                self.add("TransactWriteItems", 1);
                self.add("TransactWriteItems items", items as u64);
            }
            Call::LoadEvents(_) => self.add("Query (consistent)", 1),
            Call::FirstEvent(_) | Call::ReadItemJson | Call::GetItem => {
                self.add("GetItem (consistent)", 1)
            }
            Call::ListAggregates | Call::ListReadItems => self.add("Scan", 1),
            Call::WriteReadItem | Call::PutItem => self.add("PutItem", 1),
            Call::DeleteReadItem | Call::DeleteItem => self.add("DeleteItem", 1),
            Call::QueryReadItems(_) | Call::Query(_) => self.add("Query (consistent)", 1),
            Call::IncrementOnce => {
                self.add("TransactWriteItems", 1);
                self.add("TransactWriteItems items", 2);
            }
            // A consistent GetItem, then a conditional PutItem.
            Call::RedactLegacyEvent => {
                self.add("GetItem", 1);
                self.add("PutItem", 1);
            }
            Call::PurgeResidue => {}
            Call::AddToCount => self.add("UpdateItem", 1),
        }
        Ok(())
    }
}

/// A store that tallies every call by the DynamoDB request it becomes.
pub type CountingStore = Intercepted<Tally>;

/// One API call's storage requests: synchronous (the handler) and asynchronous (projector and analytics,
/// once per event the call committed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallCost {
    pub call: &'static str,
    pub events: u64,
    pub handler: BTreeMap<&'static str, u64>,
    pub after: BTreeMap<&'static str, u64>,
}

/// The API calls [`measure`] makes, in order, one user's story: every route of `api::ROUTES` but the health
/// check (it touches no store), and the reads of the past as the same routes with `?as_of=`.
pub const MEASURED_CALLS: [&str; 30] = [
    "POST /users",
    "POST /login",
    "POST /debts",
    "GET /debts/{debt_id}",
    "GET /debts",
    "PUT /debts/{debt_id}",
    "POST /debts/{debt_id}/payments",
    "POST /debts/{debt_id}/charges",
    "POST /debts/{debt_id}/rates",
    "POST /debts/{debt_id}/statements",
    "GET /debts/{debt_id}/history",
    "GET /users/{username}",
    "PATCH /users/{username}",
    "PUT /users/{username}/notifications",
    "POST /users/{username}/calendar",
    "GET /calendar/{feed}",
    "DELETE /users/{username}/calendar",
    "GET /unsubscribe/{token}",
    "POST /unsubscribe/{token}",
    "GET /users/{username}/summary",
    "GET /debts/{debt_id}?as_of=T",
    "GET /debts?as_of=T",
    "GET /users/{username}/summary?as_of=T",
    "GET /users/{username}/payoff-plan",
    "PUT /users/{username}/plan",
    "GET /users/{username}/plan",
    "GET /users/{username}/progress",
    "GET /debts/{debt_id}/schedule",
    "DELETE /debts/{debt_id}",
    "DELETE /users/{username}",
];

/// Runs one of each API call on a fresh SQLite store and counts its storage requests.
pub async fn measure() -> Vec<CallCost> {
    let sqlite = crate::sqlite_test_store().await;
    // Listing what a call committed goes around the counter. The counter sits under the sealing store, as the
    // table sits under it on AWS, so a data key's reads are counted (its cache is warm after registration,
    // as in a warm function).
    let raw = sqlite.engine_stores();
    let counting = Arc::new(CountingStore::new(
        Arc::clone(&sqlite.engine),
        Tally::default(),
    ));
    let kek_path = std::env::temp_dir().join(format!("debts-tests/{}.kek", uuid::Uuid::new_v4()));
    let engine: Arc<dyn store::Engine> = counting.clone();
    let stores = crate::sealing(&engine, &kek_path).stores;
    let api = Api::new(crate::TestStore {
        stores: stores.clone(),
        engine,
        ..sqlite
    });
    let mut costs = Vec::new();
    let user = "costs_user";
    let mut debt_id = String::new();
    // What a call names besides the debt: the calendar feed's path, an unsubscribe link's token.
    let mut named = String::new();
    for call in MEASURED_CALLS {
        if call == "GET /unsubscribe/{token}" {
            // A notice email's link, written around the counter as the emailer would have written it.
            let links = notices::email::UnsubscribeLinks {
                records: Arc::clone(&raw.records),
                base_url: Some("http://local".to_owned()),
            };
            let link = links
                .link(user, events::NoticeKind::PaymentDueSoon, chrono::Utc::now())
                .await
                .unwrap()
                .unwrap();
            named = link.rsplit('/').next().unwrap().to_owned();
        }
        let before = committed(&raw).await;
        let response = call_api(&api, call, user, &debt_id, &named).await;
        assert!(response.status < 300, "{call}: {:?}", response.body);
        if call == "POST /debts" {
            debt_id = response.body["data"]["debt_id"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        if call == "POST /users/{username}/calendar" {
            named = response.body["data"]["path"].as_str().unwrap().to_owned();
        }
        let handler = counting.hook.take();
        let new_events = new_events(&raw, before).await;
        set_off(&stores, &new_events).await;
        costs.push(CallCost {
            call,
            events: new_events.len() as u64,
            handler,
            after: counting.hook.take(),
        });
    }
    costs
}

/// Makes one API call of the measured user through its handler.
async fn call_api(
    api: &Api,
    call: &'static str,
    user: &str,
    debt_id: &str,
    named: &str,
) -> crate::api::ApiResponse {
    // A read of the past is the same route with `?as_of=`.
    let (route, as_of) = match call.split_once("?as_of=") {
        Some((route, _)) => (
            route,
            Some(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        ),
        None => (call, None),
    };
    let as_user = |path: String| {
        ApiRequest::new(route, path)
            .path_param("username", user)
            .as_user(user)
    };
    if let Some(request) = settings_call(route, user, named) {
        return api.call(request).await;
    }
    let request = match route {
        "POST /users" => return api.register(user).await,
        "POST /login" => ApiRequest::new(route, "/login")
            .json(json!({"username": user, "password": "correct horse battery"})),
        "POST /debts" => ApiRequest::new(route, "/debts")
            .as_user(user)
            .json(car_loan()),
        "PUT /debts/{debt_id}" => debt_request(route, debt_id, user)
            .json(json!({"current_balance": 100, "minimum_payment": 50})),
        "POST /debts/{debt_id}/payments" => debt_request(route, debt_id, user)
            .json(json!({"amount": "100.00", "paid_on": chrono::Utc::now().date_naive()})),
        "POST /debts/{debt_id}/charges" => debt_request(route, debt_id, user).json(
            json!({"amount": "12.50", "charged_on": chrono::Utc::now().date_naive(), "kind": "fee"}),
        ),
        "POST /debts/{debt_id}/rates" => debt_request(route, debt_id, user).json(
            json!({"rate": "0", "effective_on": chrono::Utc::now().date_naive(), "kind": "promotional"}),
        ),
        "POST /debts/{debt_id}/statements" => debt_request(route, debt_id, user).json(json!({
            "closing_date": chrono::Utc::now().date_naive(),
            "statement_balance": "20.00",
            "minimum_due": "5.00",
        })),
        "GET /debts" => ApiRequest::new(route, "/debts").as_user(user),
        "GET /users/{username}/payoff-plan" => {
            as_user(format!("/users/{user}/payoff-plan")).query("monthly_budget", "100")
        }
        "PUT /users/{username}/plan" => {
            as_user(format!("/users/{user}/plan")).json(json!({"monthly_budget": "100"}))
        }
        "GET /users/{username}/plan" => as_user(format!("/users/{user}/plan")),
        "GET /users/{username}/progress" => as_user(format!("/users/{user}/progress")),
        "GET /users/{username}" | "GET /users/{username}/summary" => {
            as_user(format!("/users/{user}"))
        }
        _ => debt_request(route, debt_id, user),
    };
    let request = match as_of {
        Some(at) => request.query("as_of", at),
        None => request,
    };
    api.call(request).await
}

/// A call on the user's own settings, their calendar feed or an unsubscribe link (`named`: the feed's path
/// or the link's token), or `None` for any other route.
fn settings_call(route: &'static str, user: &str, named: &str) -> Option<ApiRequest> {
    let as_user = |path: String| {
        ApiRequest::new(route, path)
            .path_param("username", user)
            .as_user(user)
    };
    Some(match route {
        "PATCH /users/{username}" => {
            as_user(format!("/users/{user}")).json(json!({"time_zone": "Europe/Paris"}))
        }
        "PUT /users/{username}/notifications" => as_user(format!("/users/{user}/notifications"))
            .json(json!({"offsets_days": [7, 3], "email": false, "kinds": ["payment_due_soon"]})),
        "DELETE /users/{username}" => {
            as_user(format!("/users/{user}")).json(json!({"password": "correct horse battery"}))
        }
        "POST /users/{username}/calendar" | "DELETE /users/{username}/calendar" => {
            as_user(format!("/users/{user}/calendar"))
        }
        "GET /calendar/{feed}" => ApiRequest::new(route, named.to_owned())
            .path_param("feed", named.trim_start_matches("/calendar/")),
        "GET /unsubscribe/{token}" | "POST /unsubscribe/{token}" => {
            ApiRequest::new(route, format!("/unsubscribe/{named}")).path_param("token", named)
        }
        _ => return None,
    })
}

/// What the committed events set off on AWS: the projector's catch-up and analytics' delivery of each.
async fn set_off(stores: &Stores, events: &[EventEnvelope]) {
    for event in events {
        let record = stream_record(event, 1);
        projections::project_batch(&batch(vec![record]), stores).await;
        analytics::record_event(stores, event).await.unwrap();
    }
}

async fn committed(stores: &Stores) -> usize {
    all_events(stores).await.len()
}

async fn new_events(stores: &Stores, before: usize) -> Vec<EventEnvelope> {
    all_events(stores).await.split_off(before)
}

async fn all_events(stores: &Stores) -> Vec<EventEnvelope> {
    let mut events = Vec::new();
    for aggregate in crate::projection::aggregates(stores.events.as_ref()).await {
        events.extend(stores.events.load_events(&aggregate, 0).await.unwrap());
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_route_but_the_health_check_is_measured() {
        let measured: BTreeSet<&str> = super::MEASURED_CALLS
            .iter()
            .map(|call| call.split_once('?').map_or(*call, |(route, _)| route))
            .collect();
        let routes: BTreeSet<&str> = api::ROUTES
            .iter()
            .map(|route| route.key)
            .filter(|key| *key != "GET /healthz")
            .collect();
        assert_eq!(
            measured, routes,
            "a new route needs its row in docs/operations.md"
        );
    }
}
