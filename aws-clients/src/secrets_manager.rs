//! Signing keys from AWS Secrets Manager: the secret (default `authSecrets`, JSON `{"jwt_secret": "..."}`)
//! is read at its `AWSCURRENT` and `AWSPREVIOUS` stages; each version's id is the key's `kid`. Both are
//! cached per container for a TTL; a token naming a version the cache does not know triggers one early
//! refresh (rate-limited), which is how a container notices a rotation before its TTL runs out. When Secrets
//! Manager cannot be reached, the cached keys keep serving (an outage must not log everybody out), the
//! refresh is retried with exponential backoff, and the outage is logged once, with its end.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use tokio::sync::RwLock;

use auth::keys::{KeyError, SigningKey, SigningKeys};

/// The secret's name when `AUTH_SECRET_NAME` is not set.
pub const DEFAULT_SECRET_NAME: &str = "authSecrets";
/// How long fetched keys are trusted without asking Secrets Manager again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The shortest gap between two refreshes caused by unknown `kid`s, so made-up ids cannot hammer the API.
const MIN_REFRESH_GAP: Duration = Duration::from_secs(10);
/// The longest wait between two refresh attempts during an outage (1 s, 2 s, 4 s, ... up to this).
const MAX_OUTAGE_BACKOFF: Duration = Duration::from_secs(60);

/// Failed refreshes in a row, and when the next may be tried.
#[derive(Default)]
struct Outage {
    failures: u32,
    retry_at: Option<Instant>,
}

#[derive(Clone)]
struct Cached {
    current: SigningKey,
    previous: Option<SigningKey>,
    fetched: Instant,
}

pub struct SecretsManagerKeys {
    client: Client,
    secret_id: String,
    ttl: Duration,
    cache: RwLock<Option<Cached>>,
    outage: std::sync::Mutex<Outage>,
}

impl SecretsManagerKeys {
    pub fn new(client: Client, secret_id: impl Into<String>, ttl: Duration) -> Self {
        SecretsManagerKeys {
            client,
            secret_id: secret_id.into(),
            ttl,
            cache: RwLock::new(None),
            outage: std::sync::Mutex::new(Outage::default()),
        }
    }

    /// The secret named by `AUTH_SECRET_NAME` (default [`DEFAULT_SECRET_NAME`]) with the default TTL.
    pub fn from_env(client: Client) -> Self {
        let name =
            std::env::var("AUTH_SECRET_NAME").unwrap_or_else(|_| DEFAULT_SECRET_NAME.to_owned());
        Self::new(client, name, DEFAULT_TTL)
    }

    async fn stage(&self, stage: &str) -> Result<Option<SigningKey>, KeyError> {
        let output = match self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage(stage)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(KeyError::Unavailable(e.into_service_error().to_string())),
        };
        let version = output
            .version_id()
            .ok_or_else(|| KeyError::Malformed("the secret version has no id".into()))?;
        let text = output
            .secret_string()
            .ok_or_else(|| KeyError::Malformed("the secret has no string value".into()))?;
        let secret = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| {
                v.get("jwt_secret")
                    .and_then(|s| s.as_str())
                    .map(str::to_owned)
            })
            .filter(|s| s.len() >= 32)
            .ok_or_else(|| {
                KeyError::Malformed(
                    "the secret must be JSON with a jwt_secret of 32+ characters".into(),
                )
            })?;
        Ok(Some(SigningKey::new(version, secret.into_bytes())))
    }

    async fn refresh(&self) -> Result<Cached, KeyError> {
        let current = self.stage("AWSCURRENT").await?.ok_or_else(|| {
            KeyError::Unavailable(format!(
                "secret {} has no AWSCURRENT version",
                self.secret_id
            ))
        })?;
        let previous = self.stage("AWSPREVIOUS").await?;
        let fresh = Cached {
            current,
            previous,
            fetched: Instant::now(),
        };
        *self.cache.write().await = Some(fresh.clone());
        tracing::info!(kid = %fresh.current.id, "signing keys refreshed");
        Ok(fresh)
    }

    async fn cached(&self) -> Option<Cached> {
        self.cache.read().await.clone()
    }

    async fn fresh(&self) -> Result<Cached, KeyError> {
        let cached = match self.cached().await {
            Some(cached) if cached.fetched.elapsed() < self.ttl => return Ok(cached),
            Some(cached) => cached,
            None => return self.refresh().await,
        };
        if self.backing_off() {
            return Ok(cached);
        }
        match self.refresh().await {
            Ok(fresh) => {
                self.recovered();
                Ok(fresh)
            }
            // Stale keys beat no keys: the secret rotates rarely, and tokens signed with it stay valid.
            Err(KeyError::Unavailable(reason)) => {
                self.failed(&reason);
                Ok(cached)
            }
            Err(other) => Err(other),
        }
    }

    fn backing_off(&self) -> bool {
        let outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        outage.retry_at.is_some_and(|at| Instant::now() < at)
    }

    fn failed(&self, reason: &str) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        outage.failures += 1;
        let wait = Duration::from_secs(1 << (outage.failures - 1).min(6)).min(MAX_OUTAGE_BACKOFF);
        outage.retry_at = Some(Instant::now() + wait);
        if outage.failures == 1 {
            tracing::warn!(
                reason,
                "Secrets Manager unavailable; serving the cached signing keys"
            );
        }
    }

    fn recovered(&self) {
        let mut outage = self.outage.lock().unwrap_or_else(|p| p.into_inner());
        if outage.failures > 0 {
            tracing::info!(
                failures = outage.failures,
                "Secrets Manager reachable again"
            );
        }
        *outage = Outage::default();
    }
}

fn find(cached: &Cached, kid: &str) -> Option<SigningKey> {
    [Some(&cached.current), cached.previous.as_ref()]
        .into_iter()
        .flatten()
        .find(|k| k.id == kid)
        .cloned()
}

#[async_trait]
impl SigningKeys for SecretsManagerKeys {
    async fn current(&self) -> Result<SigningKey, KeyError> {
        Ok(self.fresh().await?.current)
    }

    async fn by_id(&self, kid: &str) -> Result<Option<SigningKey>, KeyError> {
        let cached = self.fresh().await?;
        if let Some(key) = find(&cached, kid) {
            return Ok(Some(key));
        }
        if cached.fetched.elapsed() < MIN_REFRESH_GAP || self.backing_off() {
            return Ok(None);
        }
        match self.refresh().await {
            Ok(fresh) => Ok(find(&fresh, kid)),
            Err(KeyError::Unavailable(reason)) => {
                self.failed(&reason);
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }
}
