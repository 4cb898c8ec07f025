//! Signing keys for tokens. Tokens are signed with the current key and name it in `kid`; verification looks
//! the `kid` up among the keys still trusted (current and previous), so rotating the secret logs nobody out.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// One HMAC key and its id. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub id: String,
    secret: Vec<u8>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl SigningKey {
    pub fn new(id: impl Into<String>, secret: Vec<u8>) -> Self {
        SigningKey {
            id: id.into(),
            secret,
        }
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }
}

#[derive(Debug, Error)]
pub enum KeyError {
    #[error("the signing secret is unavailable: {0}")]
    Unavailable(String),
    #[error("the signing secret is malformed: {0}")]
    Malformed(String),
}

/// Where signing keys come from: Secrets Manager on AWS, a local file or variable elsewhere.
#[async_trait]
pub trait SigningKeys: Send + Sync {
    /// The key new tokens are signed with.
    async fn current(&self) -> Result<SigningKey, KeyError>;
    /// The trusted key with this id, if any.
    async fn by_id(&self, kid: &str) -> Result<Option<SigningKey>, KeyError>;
}

/// Keys fixed at start-up: the local server's and tests'.
#[derive(Debug, Clone)]
pub struct StaticKeys {
    current: SigningKey,
    previous: Option<SigningKey>,
}

impl StaticKeys {
    pub fn new(current: SigningKey, previous: Option<SigningKey>) -> Self {
        StaticKeys { current, previous }
    }

    /// A key from a secret given as text (e.g. the `JWT_SECRET` variable); the id is derived from the secret
    /// so the same secret always yields the same `kid`.
    pub fn from_secret(secret: &str) -> Self {
        let digest = Sha256::digest(secret.as_bytes());
        let id = format!("local-{}", hex(&digest[..6]));
        StaticKeys::new(SigningKey::new(id, secret.as_bytes().to_vec()), None)
    }

    /// The secret stored in `path`, created with 32 random bytes (hex) on first use, readable only by the owner.
    pub fn from_file(path: &std::path::Path) -> Result<Self, KeyError> {
        if let Ok(existing) = std::fs::read_to_string(path) {
            let secret = existing.trim();
            if secret.len() < 32 {
                return Err(KeyError::Malformed(format!(
                    "{} holds fewer than 32 characters",
                    path.display()
                )));
            }
            return Ok(Self::from_secret(secret));
        }
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|_| KeyError::Unavailable("no random source".into()))?;
        let secret = hex(&bytes);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| KeyError::Unavailable(e.to_string()))?;
        }
        write_private(path, &secret).map_err(|e| KeyError::Unavailable(e.to_string()))?;
        Ok(Self::from_secret(&secret))
    }
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl SigningKeys for StaticKeys {
    async fn current(&self) -> Result<SigningKey, KeyError> {
        Ok(self.current.clone())
    }

    async fn by_id(&self, kid: &str) -> Result<Option<SigningKey>, KeyError> {
        Ok([Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .find(|k| k.id == kid)
            .cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_keys_know_current_and_previous_only() {
        let keys = StaticKeys::new(
            SigningKey::new("b", b"new".to_vec()),
            Some(SigningKey::new("a", b"old".to_vec())),
        );
        assert_eq!(keys.current().await.unwrap().id, "b");
        assert!(keys.by_id("a").await.unwrap().is_some());
        assert!(keys.by_id("made-up").await.unwrap().is_none());
    }

    #[test]
    fn a_generated_secret_file_is_reused_and_private() {
        let path = std::env::temp_dir()
            .join(format!("debts-key-{}", std::process::id()))
            .join("jwt.key");
        let _ = std::fs::remove_file(&path);
        let first = StaticKeys::from_file(&path).unwrap();
        let second = StaticKeys::from_file(&path).unwrap();
        assert_eq!(first.current, second.current);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{:?}", first.current).contains(&std::fs::read_to_string(&path).unwrap()));
    }
}
