//! The write side through its Lambda entrypoints: API Gateway v2 events built from `tests/fixtures/`, the
//! handlers of `commands` and the authorizer of `auth`, DynamoDB Local for storage and moto for Secrets
//! Manager (both started by `make test`).

use std::sync::Arc;
use std::time::Duration;

use auth::authorizer::authorize;
use auth::passwords::MIN_ITERATIONS;
use auth::{PasswordHasher, SecretsManagerKeys, Tokens};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use commands::{DebtDeps, LoginDeps, UserDeps};
use integration_tests::api::{authorizer_request, ApiRequest, ApiResponse};
use integration_tests::{
    debt_ref, dynamodb_table, secrets_manager, table_snapshot, user_ref, Handlers,
};
use serde_json::{json, Value};
use store::{keys, EventStore};
use store_dynamodb::DynamoStore;
use uuid::Uuid;

const ISSUER: &str = "debts-api";

/// Every handler wired as its Lambda `main` wires it, on a fresh table and a fresh secret.
struct Api {
    table: DynamoStore,
    store: Arc<dyn EventStore>,
    users: UserDeps,
    login: LoginDeps,
    debts: DebtDeps,
    tokens: Tokens,
    secrets: aws_sdk_secretsmanager::Client,
    secret_name: String,
}

fn jwt_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

async fn api() -> Api {
    let table = dynamodb_table().await;
    let store: Arc<dyn EventStore> = Arc::new(table.clone());
    let secrets = secrets_manager().await;
    let secret_name = format!("authSecrets-{}", Uuid::new_v4().simple());
    secrets
        .create_secret()
        .name(&secret_name)
        .secret_string(json!({ "jwt_secret": jwt_secret() }).to_string())
        .send()
        .await
        .expect("create the signing secret in moto");
    // No caching, so each test sees a rotation at once (the TTL path is covered in `rotation_...`).
    let keys = Arc::new(SecretsManagerKeys::new(
        secrets.clone(),
        &secret_name,
        Duration::ZERO,
    ));
    let tokens = Tokens::new(keys, ISSUER);
    let Handlers {
        users,
        login,
        debts,
    } = Handlers::new(
        &store,
        PasswordHasher::new(MIN_ITERATIONS).unwrap(),
        tokens.clone(),
    );
    Api {
        users,
        login,
        debts,
        table,
        store,
        tokens,
        secrets,
        secret_name,
    }
}

impl Api {
    async fn call(&self, request: ApiRequest) -> ApiResponse {
        let event = request.build();
        let route = request.event()["routeKey"].as_str().unwrap().to_owned();
        let response = match route.as_str() {
            "POST /users" => commands::create_user(event, &self.users).await,
            "POST /login" => commands::login(event, &self.login).await,
            "POST /debts" => commands::create_debt(event, &self.debts).await,
            "PUT /debts/{debt_id}" => commands::update_debt(event, &self.debts).await,
            "DELETE /debts/{debt_id}" => commands::delete_debt(event, &self.debts).await,
            other => panic!("no handler for {other}"),
        };
        ApiResponse::read(response.expect("handlers answer every request"))
    }

    async fn register(&self, username: &str) -> ApiResponse {
        self.call(ApiRequest::new("POST /users", "/users").json(json!({
            "username": username,
            "email": format!("{username}@example.com"),
            "full_name": "Test User",
            "password": "correct horse battery",
        })))
        .await
    }

    async fn token(&self, username: &str) -> String {
        let response = self
            .call(ApiRequest::new("POST /login", "/login").json(json!({
                "username": username, "password": "correct horse battery"
            })))
            .await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["token"].as_str().unwrap().to_owned()
    }

    /// What the authorizer lets through for this `Authorization` header: the username, or `None`.
    async fn authorized(&self, authorization: Option<&str>) -> Option<String> {
        let decision = authorize(&authorizer_request(authorization), &self.tokens).await;
        decision
            .is_authorized
            .then(|| decision.context["username"].as_str().unwrap().to_owned())
    }

    async fn create_debt(&self, owner: &str) -> ApiResponse {
        let response = self
            .call(
                ApiRequest::new("POST /debts", "/debts")
                    .as_user(owner)
                    .json(car_loan()),
            )
            .await;
        assert_eq!(response.status, 201, "{:?}", response.body);
        response
    }

    async fn event_count(&self, debt_id: &str) -> usize {
        self.store
            .load_events(&debt_ref(debt_id), 0)
            .await
            .unwrap()
            .len()
    }

    async fn rotate(&self) {
        self.secrets
            .put_secret_value()
            .secret_id(&self.secret_name)
            .secret_string(json!({ "jwt_secret": jwt_secret() }).to_string())
            .send()
            .await
            .expect("rotate the secret in moto");
    }
}

fn car_loan() -> Value {
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

fn debt_request(method_route: &'static str, debt_id: &str, caller: &str) -> ApiRequest {
    ApiRequest::new(method_route, format!("/debts/{debt_id}"))
        .path_param("debt_id", debt_id)
        .as_user(caller)
}

fn username() -> String {
    format!("user_{}", &Uuid::new_v4().simple().to_string()[..10])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_readme_flow_works_end_to_end() {
    let api = api().await;
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

    let events = api.store.load_events(&debt_ref(debt_id), 0).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].correlation_id.to_string(),
        correlation,
        "the correlation id is stored in the event"
    );
    assert_eq!(events[0].actor, alice);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_conflicts_name_what_is_taken_and_write_nothing() {
    let api = api().await;
    let alice = username();
    assert_eq!(api.register(&alice).await.status, 201);
    let before = table_snapshot(&api.table).await;

    let same_name = api.register(&alice).await;
    assert_eq!(same_name.status, 409);
    assert_eq!(
        same_name.body["detail"],
        json!("the username is already taken")
    );
    assert_eq!(
        same_name.header("content-type"),
        Some("application/problem+json")
    );

    let same_email = api
        .call(ApiRequest::new("POST /users", "/users").json(json!({
            "username": username(),
            "email": format!("{}@EXAMPLE.com", alice.to_uppercase()),
            "full_name": "Someone Else",
            "password": "another password",
        })))
        .await;
    assert_eq!(same_email.status, 409, "{:?}", same_email.body);
    assert_eq!(
        same_email.body["detail"],
        json!("the email is already registered")
    );
    assert_eq!(table_snapshot(&api.table).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_user_get_the_same_answer() {
    let api = api().await;
    let alice = username();
    api.register(&alice).await;
    let wrong = api
        .call(
            ApiRequest::new("POST /login", "/login")
                .json(json!({"username": alice, "password": "not the password"})),
        )
        .await;
    let unknown = api
        .call(
            ApiRequest::new("POST /login", "/login")
                .json(json!({"username": username(), "password": "not the password"})),
        )
        .await;
    let invalid_name = api
        .call(
            ApiRequest::new("POST /login", "/login")
                .json(json!({"username": "x", "password": "p"})),
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.body, invalid_name.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_weaker_stored_hash_is_upgraded_at_login() {
    let mut api = api().await;
    let alice = username();
    api.register(&alice).await;
    let stored = |api: &Api| {
        let store = Arc::clone(&api.store);
        let alice = alice.clone();
        async move {
            let item = store
                .get_item(&keys::credentials_key(&alice))
                .await
                .unwrap()
                .unwrap();
            item.attributes["password_hash"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert!(stored(&api)
        .await
        .starts_with(&format!("pbkdf2-sha256${MIN_ITERATIONS}$")));
    api.login.passwords = PasswordHasher::new(MIN_ITERATIONS + 50_000).unwrap();
    api.token(&alice).await;
    let upgraded = stored(&api).await;
    assert!(upgraded.starts_with("pbkdf2-sha256$150000$"), "{upgraded}");
    api.token(&alice).await;
}

/// Signs arbitrary header and claims with `secret`: how an attacker (or a buggy client) would.
fn forge(header: Value, claims: Value, secret: &[u8]) -> String {
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let input = format!("{}.{}", part(&header), part(&claims));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_rejects_every_bad_request() {
    let api = api().await;
    let alice = username();
    api.register(&alice).await;
    let token = api.token(&alice).await;
    assert_eq!(
        api.authorized(Some(&format!("Bearer {token}"))).await,
        Some(alice.clone())
    );
    assert_eq!(
        api.authorized(Some(&format!("bearer {token}"))).await,
        Some(alice.clone())
    );

    let kid = serde_json::from_slice::<Value>(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret_value = api
        .secrets
        .get_secret_value()
        .secret_id(&api.secret_name)
        .send()
        .await
        .unwrap();
    let secret: Value = serde_json::from_str(secret_value.secret_string().unwrap()).unwrap();
    let secret = secret["jwt_secret"].as_str().unwrap().as_bytes().to_vec();
    let now = chrono::Utc::now().timestamp();
    let claims = |overrides: Value| {
        let mut claims = json!({"sub": alice, "iat": now - 5, "exp": now + 600, "iss": ISSUER});
        for (k, v) in overrides.as_object().unwrap() {
            claims[k] = v.clone();
        }
        claims
    };
    let hs256 = json!({"alg": "HS256", "typ": "JWT", "kid": kid});
    assert!(
        api.authorized(Some(&format!(
            "Bearer {}",
            forge(hs256.clone(), claims(json!({})), &secret)
        )))
        .await
        .is_some(),
        "the forging helper itself makes valid tokens with the right secret"
    );
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "kid": kid}).to_string()),
        URL_SAFE_NO_PAD.encode(claims(json!({})).to_string())
    );
    let rejected: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("empty header", Some(String::new())),
        ("not Bearer", Some(format!("Basic {token}"))),
        ("Bearer without token", Some("Bearer".into())),
        ("malformed token", Some("Bearer not.a.jwt".into())),
        ("garbage", Some("Bearer %%%.###.!!!".into())),
        (
            "bad signature",
            Some(format!(
                "Bearer {}",
                forge(
                    hs256.clone(),
                    claims(json!({})),
                    b"wrong secret, same shape...."
                )
            )),
        ),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        (
            "alg HS512",
            Some(format!(
                "Bearer {}",
                forge(
                    json!({"alg": "HS512", "kid": kid}),
                    claims(json!({})),
                    &secret
                )
            )),
        ),
        (
            "alg RS256",
            Some(format!(
                "Bearer {}",
                forge(
                    json!({"alg": "RS256", "kid": kid}),
                    claims(json!({})),
                    &secret
                )
            )),
        ),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                forge(hs256.clone(), claims(json!({"exp": now - 1})), &secret)
            )),
        ),
        (
            "nbf in the future",
            Some(format!(
                "Bearer {}",
                forge(hs256.clone(), claims(json!({"nbf": now + 600})), &secret)
            )),
        ),
        (
            "wrong iss",
            Some(format!(
                "Bearer {}",
                forge(hs256.clone(), claims(json!({"iss": "evil"})), &secret)
            )),
        ),
        (
            "unknown kid",
            Some(format!(
                "Bearer {}",
                forge(
                    json!({"alg": "HS256", "kid": "made-up"}),
                    claims(json!({})),
                    &secret
                )
            )),
        ),
        (
            "no kid",
            Some(format!(
                "Bearer {}",
                forge(json!({"alg": "HS256"}), claims(json!({})), &secret)
            )),
        ),
    ];
    for (what, header) in rejected {
        assert_eq!(
            api.authorized(header.as_deref()).await,
            None,
            "{what} must be denied"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_of_the_secret_logs_nobody_out() {
    let api = api().await;
    let alice = username();
    api.register(&alice).await;
    let before = api.token(&alice).await;
    api.rotate().await;
    assert_eq!(
        api.authorized(Some(&format!("Bearer {before}"))).await,
        Some(alice.clone()),
        "a token signed before put_secret_value still verifies (AWSPREVIOUS)"
    );
    let after = api.token(&alice).await;
    assert_ne!(
        after.split('.').next(),
        before.split('.').next(),
        "new tokens name the new version"
    );
    assert_eq!(
        api.authorized(Some(&format!("Bearer {after}"))).await,
        Some(alice.clone())
    );
    api.rotate().await;
    assert_eq!(
        api.authorized(Some(&format!("Bearer {before}"))).await,
        None,
        "two rotations later the first version is no longer trusted"
    );

    // A container with a long TTL keeps its cached keys, yet still accepts tokens of a version it never saw.
    let cached = Tokens::new(
        Arc::new(SecretsManagerKeys::new(
            api.secrets.clone(),
            &api.secret_name,
            Duration::from_secs(3600),
        )),
        ISSUER,
    );
    let warm = cached.issue(&alice, chrono::Utc::now()).await.unwrap();
    assert!(cached.verify(&warm.token, chrono::Utc::now()).await.is_ok());
    let made_up = forge(
        json!({"alg": "HS256", "kid": "made-up"}),
        json!({"sub": alice}),
        b"x",
    );
    assert!(cached.verify(&made_up, chrono::Utc::now()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_updates_with_one_if_match_give_one_success() {
    let api = Arc::new(api().await);
    let alice = username();
    api.register(&alice).await;
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let etag = debt.header("etag").unwrap().to_owned();

    let mut tasks = Vec::new();
    for n in 0..20 {
        let api = Arc::clone(&api);
        let (debt_id, etag, alice) = (debt_id.clone(), etag.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            api.call(
                debt_request("PUT /debts/{debt_id}", &debt_id, &alice)
                    .header("If-Match", etag)
                    .json(json!({"current_balance": format!("{}.00", 1000 + n)})),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_without_if_match_lose_nothing() {
    let api = Arc::new(api().await);
    let alice = username();
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (api, debt_id, alice) = (Arc::clone(&api), debt_id.clone(), alice.clone());
        tasks.push(tokio::spawn(async move {
            api.call(
                debt_request("PUT /debts/{debt_id}", &debt_id, &alice)
                    .json(json!({"current_balance": format!("{}.00", 2000 + n)})),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn updates_and_deletes_follow_the_debt_rules() {
    let api = api().await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_retry_appends_nothing() {
    let api = api().await;
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
    let before = table_snapshot(&api.table).await;
    let retry = api.call(register("bobs password")).await;
    assert_eq!((retry.status, &retry.body), (201, &first.body));
    assert_eq!(
        table_snapshot(&api.table).await,
        before,
        "the retry wrote nothing"
    );
    assert_eq!(api.call(register("another password")).await.status, 422);
    assert_eq!(
        api.store
            .load_events(&user_ref(&bob), 0)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_bad_input_class_is_a_4xx_that_writes_nothing() {
    let api = api().await;
    let alice = username();
    let debt = api.create_debt(&alice).await;
    let debt_id = debt.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let before = table_snapshot(&api.table).await;

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
        assert_eq!(response.status, status, "{what}: {:?}", response.body);
        assert_eq!(
            response.header("content-type"),
            Some("application/problem+json"),
            "{what}"
        );
        for member in ["type", "title", "status", "detail"] {
            assert!(
                response.body.get(member).is_some(),
                "{what}: problem without {member}"
            );
        }
        if let Some(field) = field {
            let fields: Vec<&str> = response.body["errors"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["field"].as_str().unwrap())
                .collect();
            assert!(
                fields.contains(&field),
                "{what}: errors name {fields:?}, not {field}"
            );
        }
    }
    assert_eq!(
        table_snapshot(&api.table).await,
        before,
        "no refused request wrote anything"
    );
}
