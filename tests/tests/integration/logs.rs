//! No password, hash, token, secret or personal field ever reaches a log line: the logs of a whole flow (register,
//! log in, pass the authorizer, fail a login, create a debt) are captured in the production JSON format and searched.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use auth::authorizer::authorize;
use auth::passwords::MIN_ITERATIONS;
use auth::{PasswordHasher, StaticKeys, Tokens};
use integration_tests::api::{authorizer_request, ApiRequest, ApiResponse};
use integration_tests::{capture_logs, sqlite_store, Handlers};
use serde_json::{json, Value};
use store::keys;

const PASSWORD: &str = "a very secret passphrase";
const JWT_SECRET: &str = "the-signing-secret-that-must-never-be-logged";

// One thread, so that every handler logs on the capturing thread.
#[tokio::test(flavor = "current_thread")]
async fn a_full_login_flow_logs_no_secret() {
    let captured = capture_logs();

    let store = sqlite_store().await;
    let passwords = PasswordHasher::new(MIN_ITERATIONS).unwrap();
    let tokens = Tokens::new(Arc::new(StaticKeys::from_secret(JWT_SECRET)), "debts-api");
    let Handlers {
        users,
        login,
        debts,
        ..
    } = Handlers::new(
        &store::Stores::of(Arc::clone(&store)),
        Arc::clone(&store) as Arc<dyn store::EventLog>,
        passwords,
        tokens.clone(),
    );

    let registered = commands::create_user(
        ApiRequest::new("POST /users", "/users")
            .json(json!({"username": "alice", "email": "alice@mail.example", "full_name": "Alice Liddell", "password": PASSWORD}))
            .build(),
        &users,
    )
    .await
    .unwrap();
    assert_eq!(registered.status(), 201);
    let logged_in = ApiResponse::read(
        commands::login(
            ApiRequest::new("POST /login", "/login")
                .json(json!({"username": "alice", "password": PASSWORD}))
                .build(),
            &login,
        )
        .await
        .unwrap(),
    );
    let token = logged_in.body["token"].as_str().unwrap().to_owned();
    let wrong = commands::login(
        ApiRequest::new("POST /login", "/login")
            .json(json!({"username": "alice", "password": "wrong password!"}))
            .build(),
        &login,
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(
        authorize(
            &authorizer_request(Some(&format!("Bearer {token}"))),
            &tokens,
            store.as_ref()
        )
        .await
        .is_authorized
    );
    let forged = format!("Bearer {token}x");
    assert!(
        !authorize(&authorizer_request(Some(&forged)), &tokens, store.as_ref())
            .await
            .is_authorized
    );
    let debt = commands::create_debt(
        ApiRequest::new("POST /debts", "/debts")
            .as_user("alice")
            .json(json!({"debt_name": "Wonderland loan", "creditor": "The Queen", "principal": 10, "interest_rate": 1, "start_date": "2025-01-01", "payment_frequency": "weekly"}))
            .build(),
        &debts,
    )
    .await
    .unwrap();
    assert_eq!(debt.status(), 201);

    let hash = store
        .get_item(&keys::credentials_key("alice"))
        .await
        .unwrap()
        .unwrap()
        .attributes["password_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    let logs = captured.text();
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();
    assert!(lines.len() >= 8, "the flow was logged: {logs}");
    assert!(
        logs.contains("login succeeded")
            && logs.contains("login refused")
            && logs.contains("request denied")
    );
    for line in &lines {
        if line["fields"]["message"] == json!("request done") {
            let span = &line["span"];
            assert!(
                span["request_id"].is_string() && span["correlation_id"].is_string(),
                "{line}"
            );
        }
    }
    let signature = token.rsplit('.').next().unwrap();
    let hash_digest = hash.rsplit('$').next().unwrap();
    for (what, secret) in [
        ("password", PASSWORD),
        ("password hash", hash.as_str()),
        ("hash digest", hash_digest),
        ("token", token.as_str()),
        ("token signature", signature),
        ("signing secret", JWT_SECRET),
        ("wrong password", "wrong password!"),
        // Personal data never reaches a log either (docs/privacy.md).
        ("email", "alice@mail.example"),
        ("full name", "Alice Liddell"),
        ("debt name", "Wonderland loan"),
        ("creditor", "The Queen"),
    ] {
        assert!(!logs.contains(secret), "the logs contain the {what}");
    }
}
