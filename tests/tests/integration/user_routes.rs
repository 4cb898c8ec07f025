//! `POST /users`, `POST /login` and the authorizer, through their Lambda entrypoints with API Gateway v2
//! events built from `tests/fixtures/`, on every engine (`sqlite::...`, `dynamodb::...`).

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use auth::passwords::MIN_ITERATIONS;
use auth::PasswordHasher;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use integration_tests::api::ApiRequest;
use integration_tests::handlers::{forge, username, Api, ISSUER};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use serde_json::{json, Value};
use store::keys;

/// A taken username opens the existing user's sealed events: on DynamoDB the suites keep no unwrapped key
/// between calls, so this is the cold instance's path (`kms:Decrypt` in create-user's footprint), a 409 and
/// never a 500.
async fn registration_conflicts_name_what_is_taken_and_write_nothing(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    assert_eq!(api.register(&alice).await.status, 201);
    let before = api.store.snapshot().await;

    let same_name = api.register(&alice).await;
    assert_eq!(
        same_name.problem_detail(409, "the same name"),
        "the username is already taken"
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
    assert_eq!(api.store.snapshot().await, before);
}

async fn wrong_password_and_unknown_user_get_the_same_answer(store: TestStore) {
    let api = Api::new(store);
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

async fn a_weaker_stored_hash_is_upgraded_at_login(store: TestStore) {
    let mut api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let stored = |api: &Api| {
        let records = Arc::clone(&api.store.stores.records);
        let alice = alice.clone();
        async move {
            let item = records
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
    api.handlers.login.passwords = PasswordHasher::new(MIN_ITERATIONS + 50_000).unwrap();
    api.token(&alice).await;
    let upgraded = stored(&api).await;
    assert!(upgraded.starts_with("pbkdf2-sha256$150000$"), "{upgraded}");
    api.token(&alice).await;
}

async fn the_authorizer_rejects_every_bad_request(store: TestStore) {
    let api = Api::new(store);
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
    let secret = api.secret.as_bytes().to_vec();
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

async fn an_expired_registration_key_is_a_new_request(store: TestStore) {
    let api = Api::new(store);
    let bob = username();
    let register =
        || {
            ApiRequest::new("POST /users", "/users")
            .header("Idempotency-Key", "register-bob")
            .json(json!({"username": bob, "email": format!("{bob}@example.com"), "full_name": "Bob",
                         "password": "bobs password"}))
        };
    assert_eq!(api.call(register()).await.status, 201);
    assert_eq!(
        api.call(register()).await.status,
        201,
        "within the window: the original answer"
    );
    // DynamoDB's TTL deletes expired items only eventually (and SQLite never): the window is the code's.
    let key = keys::user_idempotency_key("register-bob");
    let mut record = api
        .store
        .stores
        .records
        .get_item(&key)
        .await
        .unwrap()
        .unwrap();
    let expired = chrono::Utc::now().timestamp() - 1;
    record
        .attributes
        .insert(keys::TTL_ATTRIBUTE.into(), json!(expired));
    api.store.stores.records.put_item(&record).await.unwrap();
    let late = api.call(register()).await;
    assert_eq!(
        late.status, 409,
        "past the window a retry is a new registration: {:?}",
        late.body
    );
    assert_eq!(late.body["detail"], json!("the username is already taken"));
}

/// Eight registrations of one username at once, half of them retries under one key: exactly one user, and
/// every answer a 201 (the original or its replay) or a 409, never a 5xx (DynamoDB cancels racing
/// transactions with `TransactionConflict`, which must read as the conflict it is).
async fn racing_registrations_get_one_user_and_no_server_error(store: TestStore) {
    let api = std::sync::Arc::new(Api::new(store));
    let name = username();
    let mut tasks = Vec::new();
    for n in 0..8 {
        let (api, name) = (std::sync::Arc::clone(&api), name.clone());
        tasks.push(tokio::spawn(async move {
            let mut request = ApiRequest::new("POST /users", "/users").json(json!({
                "username": name, "email": format!("{name}@example.com"), "full_name": "Racer",
                "password": "correct horse battery"}));
            if n % 2 == 0 {
                request = request.header("Idempotency-Key", format!("race-{name}"));
            }
            api.call(request).await.status
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert!(
        statuses.iter().all(|s| *s == 201 || *s == 409),
        "{statuses:?}"
    );
    assert!(statuses.contains(&201), "{statuses:?}");
    let events = api
        .store
        .stores
        .events
        .load_events(&store::AggregateRef::user(name.clone()), 0)
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
}

fn login(username: &str, password: &str, from: &str) -> ApiRequest {
    ApiRequest::new("POST /login", "/login")
        .from_address(from)
        .json(json!({"username": username, "password": password}))
}

const RIGHT: &str = "correct horse battery";

/// OWASP's authentication cheat sheet: failed logins limited per account and per source, so an attack on
/// one account locks out no other and no one makes the service hash without bound.
async fn failed_logins_are_limited_per_account_and_per_source(store: TestStore) {
    use commands::login_limits::{FAILURES_PER_ACCOUNT, FAILURES_PER_SOURCE, WINDOW_SECONDS};
    let api = Api::new(store);
    let (alice, bob) = (username(), username());
    api.register(&alice).await;
    api.register(&bob).await;
    // A successful login gives its place back: any number of them is fine.
    for _ in 0..FAILURES_PER_ACCOUNT + 2 {
        assert_eq!(
            api.call(login(&alice, RIGHT, "192.0.2.1")).await.status,
            200
        );
    }
    for _ in 0..FAILURES_PER_ACCOUNT {
        let wrong = api.call(login(&alice, "a wrong guess", "192.0.2.1")).await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
    }
    // The account is closed for the window, even to its password and from another address ...
    for from in ["192.0.2.1", "198.51.100.7"] {
        let refused = api.call(login(&alice, RIGHT, from)).await;
        refused.problem_detail(429, "a locked account");
        assert_eq!(refused.body["type"], "/problems/too-many-attempts");
        let wait: i64 = refused.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=WINDOW_SECONDS).contains(&wait), "{wait}");
    }
    // ... and no other account is.
    assert_eq!(api.call(login(&bob, RIGHT, "192.0.2.1")).await.status, 200);

    // One address guessing over many accounts: past its limit, refused whatever it tries.
    let attacker = "203.0.113.9";
    let guesses = (0..FAILURES_PER_SOURCE).map(|_| api.call(login(&username(), "guess", attacker)));
    for guess in futures_util::future::join_all(guesses).await {
        assert_eq!(guess.status, 401);
    }
    assert_eq!(api.call(login(&bob, RIGHT, attacker)).await.status, 429);
    assert_eq!(
        api.call(login(&bob, RIGHT, "198.51.100.7")).await.status,
        200
    );
}

/// The limit is the store's: racing attempts cannot get more than the limit hashed.
async fn racing_failed_logins_cannot_pass_the_limit(store: TestStore) {
    use commands::login_limits::FAILURES_PER_ACCOUNT;
    let api = Api::new(store);
    let alice = username();
    api.register(&alice).await;
    let attempts = (0..FAILURES_PER_ACCOUNT * 2)
        .map(|n| api.call(login(&alice, "a wrong guess", &format!("192.0.2.{n}"))));
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status)
        .collect();
    let hashed = statuses.iter().filter(|s| **s == 401).count() as i64;
    let refused = statuses.iter().filter(|s| **s == 429).count() as i64;
    assert_eq!(
        (hashed, refused),
        (FAILURES_PER_ACCOUNT, FAILURES_PER_ACCOUNT),
        "{statuses:?}"
    );
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    failed_logins_are_limited_per_account_and_per_source,
    racing_failed_logins_cannot_pass_the_limit,
    racing_registrations_get_one_user_and_no_server_error,
    an_expired_registration_key_is_a_new_request,
    registration_conflicts_name_what_is_taken_and_write_nothing,
    wrong_password_and_unknown_user_get_the_same_answer,
    a_weaker_stored_hash_is_upgraded_at_login,
    the_authorizer_rejects_every_bad_request,
);
