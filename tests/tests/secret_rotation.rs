//! Signing keys from Secrets Manager (moto, started by `make test`): a rotation of the secret logs nobody out,
//! and a container with cached keys still accepts tokens of a version it has not seen. The store is SQLite:
//! only the keys need the service.

use std::sync::Arc;
use std::time::Duration;

use auth::{SecretsManagerKeys, Tokens};
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
