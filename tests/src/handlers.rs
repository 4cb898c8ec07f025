//! The API's handlers wired as the local server wires them (`api::Handlers` over one store), called through
//! the one route table: the harness of the route suites. Tokens are signed with a fixed local secret, so
//! these suites need no service on SQLite; the Secrets Manager path has its own suite on moto.

use std::sync::Arc;

use auth::authorizer::authorize;
use auth::passwords::MIN_ITERATIONS;
use auth::{PasswordHasher, SigningKeys, StaticKeys, Tokens};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::api::{authorizer_request, ApiRequest, ApiResponse};
use crate::footprint::as_function;
use crate::{debt_ref, TestStore};

/// The issuer every test token names.
pub const ISSUER: &str = "debts-api";

/// The API's routes over one store, with the authorizer in front as API Gateway puts it.
pub struct Api {
    pub store: TestStore,
    pub handlers: api::Handlers,
    pub tokens: Tokens,
    /// The signing secret, for tests that forge tokens the way an attacker would.
    pub secret: String,
}

impl Api {
    /// Fails, saying `why`, unless the store holds exactly what `before` (its [`TestStore::snapshot`]) held.
    pub async fn assert_unchanged(&self, before: &[String], why: &str) {
        self.store.assert_unchanged(before, why).await;
    }

    /// The routes over `store`, signing with a fresh static secret and the cheapest allowed password hashing.
    pub fn new(store: TestStore) -> Self {
        let secret = format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple());
        let keys: Arc<dyn SigningKeys> = Arc::new(StaticKeys::from_secret(&secret));
        Self::with_keys(store, keys, secret)
    }

    /// The routes over `store` with these signing keys (`secret` is what forging tests sign with).
    pub fn with_keys(store: TestStore, keys: Arc<dyn SigningKeys>, secret: String) -> Self {
        let tokens = Tokens::new(keys, ISSUER);
        let passwords = PasswordHasher::new(MIN_ITERATIONS).expect("the minimum is allowed");
        let handlers = api::Handlers::new(
            &store.stores,
            Arc::clone(&store.engine) as Arc<dyn store::EventLog>,
            passwords,
            tokens.clone(),
        );
        Api {
            handlers,
            store,
            tokens,
            secret,
        }
    }

    /// Answers `request` with the handler API Gateway would route it to (the route table's).
    pub async fn call(&self, request: ApiRequest) -> ApiResponse {
        call(&self.handlers, request).await
    }

    /// Registers `username` (`{username}@example.com`, password "correct horse battery").
    pub async fn register(&self, username: &str) -> ApiResponse {
        let answer = self.call(registration(username)).await;
        if answer.status == 201 {
            registered()
                .lock()
                .unwrap()
                .insert(seen(&self.handlers, username));
        }
        answer
    }

    /// A token for a registered user.
    pub async fn token(&self, username: &str) -> String {
        let response = self
            .call(ApiRequest::new("POST /login", "/login").json(json!({
                "username": username, "password": "correct horse battery"
            })))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["token"].as_str().unwrap().to_owned()
    }

    /// What the authorizer lets through for this `Authorization` header: the username, or `None`.
    pub async fn authorized(&self, authorization: Option<&str>) -> Option<String> {
        let decision = as_function(
            "authorizer",
            authorize(
                &authorizer_request(authorization),
                &self.tokens,
                self.store.stores.records.as_ref(),
            ),
        )
        .await;
        decision
            .is_authorized
            .then(|| decision.context["username"].as_str().unwrap().to_owned())
    }

    /// `POST /debts` of `body` by `owner`.
    pub async fn post_debt(&self, owner: &str, body: Value) -> ApiResponse {
        let request = ApiRequest::new("POST /debts", "/debts")
            .as_user(owner)
            .json(body);
        self.call(request).await
    }

    /// Creates [`car_loan`] for `owner`, asserting the 201.
    pub async fn create_debt(&self, owner: &str) -> ApiResponse {
        let response = self.post_debt(owner, car_loan()).await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response
    }

    /// Creates [`car_loan`] for `owner` and answers its id.
    pub async fn new_debt_id(&self, owner: &str) -> String {
        self.create_debt(owner).await.body["data"]["debt_id"]
            .as_str()
            .expect("a created debt has an id")
            .to_owned()
    }

    /// `route` (`"POST /debts/{debt_id}/payments"`, ...) on `debt_id` by `owner`, with the JSON `body`.
    pub async fn on_debt(
        &self,
        route: &'static str,
        debt_id: &str,
        owner: &str,
        body: Value,
    ) -> ApiResponse {
        self.call(debt_request(route, debt_id, owner).json(body))
            .await
    }

    /// Rebuilds `owner`'s read items from their events (a replay of the user), as the projector would have:
    /// what a test does before it reads a projection.
    pub async fn project_user(&self, owner: &str) {
        let options =
            projections::replay::ReplayOptions::new(projections::replay::Scope::User(owner.into()));
        crate::lambdas::replay(&self.store.stores, &options, |_| {})
            .await
            .expect("the replay of one user");
    }

    /// `GET /users/{username}` by that user: their profile.
    pub async fn profile(&self, username: &str) -> ApiResponse {
        self.call(
            ApiRequest::new("GET /users/{username}", format!("/users/{username}"))
                .path_param("username", username)
                .as_user(username),
        )
        .await
    }

    /// `PUT /users/{username}/notifications` of `owner` by `caller` (anyone else's is 404), with `body`.
    pub async fn set_notifications(&self, caller: &str, owner: &str, body: Value) -> ApiResponse {
        self.call(
            ApiRequest::new(
                "PUT /users/{username}/notifications",
                format!("/users/{owner}/notifications"),
            )
            .path_param("username", owner)
            .as_user(caller)
            .json(body),
        )
        .await
    }

    /// `DELETE /users/{username}` by that user, with the password [`Api::register`] gave them.
    pub async fn erase(&self, username: &str) -> ApiResponse {
        self.call(
            ApiRequest::new("DELETE /users/{username}", format!("/users/{username}"))
                .path_param("username", username)
                .as_user(username)
                .json(json!({"password": "correct horse battery"})),
        )
        .await
    }

    /// How many events the debt has.
    pub async fn event_count(&self, debt_id: &str) -> usize {
        self.store.history(&debt_ref(debt_id)).await.len()
    }
}

/// The debt of the original README: a car loan.
pub fn car_loan() -> Value {
    json!({
        "debt_name": "Car loan",
        "principal": 15000,
        "interest_rate": 4.5,
        "start_date": "2025-06-01",
        "payment_frequency": "monthly",
        "current_balance": "12000.50",
        "creditor": "First Bank"
    })
}

/// A request to one debt's route (`"PUT /debts/{debt_id}"`, ...) by `caller`.
pub fn debt_request(method_route: &'static str, debt_id: &str, caller: &str) -> ApiRequest {
    ApiRequest::new(method_route, format!("/debts/{debt_id}"))
        .path_param("debt_id", debt_id)
        .as_user(caller)
}

/// A fresh, valid username.
pub fn username() -> String {
    format!("user_{}", &Uuid::new_v4().simple().to_string()[..10])
}

/// Signs arbitrary header and claims with `secret`: how an attacker (or a buggy client) would.
pub fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(&header), part(&claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Every handler over `stores` as they are (the event log not sealed), with the cheapest allowed password
/// hashing and a fixed signing secret: for the suites and benchmarks of the read side, where no personal
/// field needs sealing.
pub fn handlers_over(stores: &store::Stores) -> ::api::Handlers {
    let tokens = Tokens::new(
        Arc::new(StaticKeys::from_secret(
            "read-side-test-secret-of-32-chars!",
        )),
        ISSUER,
    );
    ::api::Handlers::new(
        stores,
        Arc::clone(&stores.events),
        PasswordHasher::new(MIN_ITERATIONS).expect("the minimum is allowed"),
        tokens,
    )
}

/// Answers `request` with the handler of its route in the route table. A caller the authorizer names is a
/// registered user, as on AWS (the authorizer reads their credentials, and every write of theirs requires
/// them): one the test has not registered is registered first, as `register` would.
pub async fn call(handlers: &::api::Handlers, request: ApiRequest) -> ApiResponse {
    if let Some(caller) = request.caller() {
        ensure_registered(handlers, caller).await;
    }
    let event = request.build();
    let key = request.event()["routeKey"].as_str().unwrap().to_owned();
    let route = ::api::route(&key).unwrap_or_else(|| panic!("no route {key}"));
    ApiResponse::read(
        as_function(route.function, handlers.call(route, event))
            .await
            .expect("handlers answer every request"),
    )
}

/// `POST /users` of `username` (`{username}@example.com`, password "correct horse battery").
fn registration(username: &str) -> ApiRequest {
    ApiRequest::new("POST /users", "/users").json(json!({
        "username": username,
        "email": format!("{username}@example.com"),
        "full_name": "Test User",
        "password": "correct horse battery",
    }))
}

/// A user of one set of handlers (one store): the handlers' address and the username.
type Seen = (usize, String);

fn seen(handlers: &::api::Handlers, username: &str) -> Seen {
    (std::ptr::from_ref(handlers) as usize, username.to_owned())
}

/// The users known to be registered, per set of handlers.
fn registered() -> &'static std::sync::Mutex<std::collections::HashSet<Seen>> {
    static REGISTERED: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<Seen>>> =
        std::sync::OnceLock::new();
    REGISTERED.get_or_init(Default::default)
}

/// Registers `username` through `POST /users` unless they have credentials (a test registered them, or
/// wrote them as a registration before sealing did) or were erased (their username stays taken).
async fn ensure_registered(handlers: &::api::Handlers, username: &str) {
    let key = seen(handlers, username);
    if registered().lock().unwrap().contains(&key) {
        return;
    }
    let records = &handlers.queries.records;
    let credentials =
        crate::footprint::as_fixture(records.get_item(&store::keys::credentials_key(username)))
            .await
            .expect("read the credentials");
    if credentials.is_some() {
        registered().lock().unwrap().insert(key);
        return;
    }
    let route = ::api::route("POST /users").expect("the registration route");
    let answer = ApiResponse::read(
        as_function(
            route.function,
            handlers.call(route, registration(username).build()),
        )
        .await
        .expect("handlers answer every request"),
    );
    // 409: the username is taken by events without credentials (an erased user, or one a test wrote).
    assert!(
        matches!(answer.status, 201 | 409),
        "registering {username}: {}",
        answer.body
    );
    registered().lock().unwrap().insert(key);
}
