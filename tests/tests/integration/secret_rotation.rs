//! Signing keys from Secrets Manager (moto, started by `make test`): a rotation of the secret logs nobody out,
//! a container with cached keys still accepts tokens of a version it has not seen, and an outage of Secrets
//! Manager leaves the cached keys serving. The store is SQLite:
//! only the keys need the service.

use std::sync::Arc;
use std::time::Duration;

use auth::Tokens;
use aws_clients::SecretsManagerKeys;
use integration_tests::handlers::{forge, username, Api, ISSUER};
use integration_tests::{secrets_manager, sqlite_test_store, TestStore};
use serde_json::json;
use uuid::Uuid;

/// A fresh secret in moto.
struct Moto {
    secrets: aws_sdk_secretsmanager::Client,
    secret_name: String,
}

fn jwt_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

impl Moto {
    async fn new() -> Self {
        let secrets = secrets_manager().await;
        let secret_name = format!("authSecrets-{}", Uuid::new_v4().simple());
        secrets
            .create_secret()
            .name(&secret_name)
            .secret_string(json!({ "jwt_secret": jwt_secret() }).to_string())
            .send()
            .await
            .expect("create the signing secret in moto");
        Moto {
            secrets,
            secret_name,
        }
    }

    /// The routes signing with this secret, uncached, so each step sees a rotation at once.
    fn api(&self, store: TestStore) -> Api {
        let keys = SecretsManagerKeys::new(self.secrets.clone(), &self.secret_name, Duration::ZERO);
        Api::with_keys(store, Arc::new(keys), String::new())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_a_rotation_of_the_secret_logs_nobody_out() {
    let moto = Moto::new().await;
    let api = moto.api(sqlite_test_store().await);
    let alice = username();
    api.register(&alice).await;
    let before = api.token(&alice).await;
    moto.rotate().await;
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
    moto.rotate().await;
    assert_eq!(
        api.authorized(Some(&format!("Bearer {before}"))).await,
        None,
        "two rotations later the first version is no longer trusted"
    );

    // A container with a long TTL keeps its cached keys, yet still accepts tokens of a version it never saw.
    let cached = Tokens::new(
        Arc::new(SecretsManagerKeys::new(
            moto.secrets.clone(),
            &moto.secret_name,
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

/// A TCP relay to moto that can be cut: Secrets Manager going away under a warm container. Once cut, it
/// drops every open connection, and closes each new one at once, counting it: the calls the container tried.
struct Relay {
    url: String,
    cut: tokio::sync::mpsc::Sender<tokio::sync::oneshot::Sender<()>>,
    attempts_after_cut: Arc<std::sync::atomic::AtomicUsize>,
}

impl Relay {
    async fn to(target: &str) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let target = target.trim_start_matches("http://").to_owned();
        let (cut, mut cut_asked) =
            tokio::sync::mpsc::channel::<tokio::sync::oneshot::Sender<()>>(1);
        let attempts_after_cut = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let attempts = Arc::clone(&attempts_after_cut);
        tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            let mut open = true;
            loop {
                tokio::select! {
                    Some(done) = cut_asked.recv() => {
                        open = false;
                        connections.abort_all();
                        while connections.join_next().await.is_some() {}
                        let _ = done.send(());
                    }
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { return };
                        if !open {
                            attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            continue;
                        }
                        let target = target.clone();
                        connections.spawn(async move {
                            if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                }
            }
        });
        Relay {
            url,
            cut,
            attempts_after_cut,
        }
    }

    /// Drops every open connection and refuses new ones from now on; returns once that holds.
    async fn cut(&self) {
        let (done, cut) = tokio::sync::oneshot::channel();
        self.cut.send(done).await.unwrap();
        cut.await.unwrap();
    }

    /// How many connections were tried since the cut.
    fn attempts(&self) -> usize {
        self.attempts_after_cut
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_an_outage_keeps_the_cached_keys_serving() {
    let moto = Moto::new().await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").unwrap();
    let relay = Relay::to(&endpoint).await;
    let config = aws_clients::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&config)
            .endpoint_url(&relay.url)
            .build(),
    );
    // A TTL of zero: every call would ask Secrets Manager again.
    let keys = Arc::new(SecretsManagerKeys::new(
        client,
        &moto.secret_name,
        Duration::ZERO,
    ));
    let tokens = Tokens::new(keys.clone(), ISSUER);
    let alice = username();
    let issued = tokens.issue(&alice, chrono::Utc::now()).await.unwrap();

    relay.cut().await;
    let again = tokens.issue(&alice, chrono::Utc::now()).await;
    assert!(
        again.is_ok(),
        "new tokens are signed with the cached key: {again:?}"
    );
    let verified = tokens.verify(&issued.token, chrono::Utc::now()).await;
    assert!(verified.is_ok(), "tokens keep verifying: {verified:?}");
    // Still down: served from the cache again, without another call to Secrets Manager (backoff).
    let tried = relay.attempts();
    assert!(tried > 0, "the outage was noticed by a call");
    assert!(tokens
        .verify(&issued.token, chrono::Utc::now())
        .await
        .is_ok());
    assert_eq!(relay.attempts(), tried, "no call during the backoff");
}
