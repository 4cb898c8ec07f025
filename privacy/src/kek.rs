//! Envelope encryption of data keys: a key-encryption key makes a user's data key and wraps it; only the
//! wrapped form is ever stored. [`LocalKek`] is a 256-bit key in a file of its own (mode 0600), for the local
//! server; on AWS the key-encryption key is a KMS key (`GenerateDataKey`, `Decrypt`) behind the same trait.

use std::path::Path;

use async_trait::async_trait;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::aead::{LessSafeKey, UnboundKey, AES_256_GCM};
use ring::digest::{digest, SHA256};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::sealed::{open_bytes, seal_bytes};
use crate::{DataKey, PrivacyError};

/// A data key as it is stored: which key-encryption key wrapped it, and the wrapped bytes (URL-safe base64).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WrappedKey {
    pub kek: String,
    pub blob: String,
}

/// Makes and unwraps users' data keys. A wrapped key is bound to its owner: it does not unwrap for anyone
/// else.
#[async_trait]
pub trait KeyEncryptionKey: Send + Sync {
    /// A new data key for `owner`, and the wrapped form to store.
    async fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedKey), PrivacyError>;

    /// The data key `wrapped` holds for `owner`.
    async fn unwrap(&self, owner: &str, wrapped: &WrappedKey) -> Result<DataKey, PrivacyError>;
}

/// A key-encryption key kept in a local file, for the local server: created on first use next to the signing
/// secret, readable by its owner only.
pub struct LocalKek {
    key: LessSafeKey,
    /// `local:` and the first 16 hex digits of the key's SHA-256: names it in wrapped keys without revealing it.
    id: String,
}

impl LocalKek {
    /// The key in the file at `path`, created (32 random bytes, mode 0600) when there is none.
    pub fn open_or_create(path: &Path) -> Result<Self, PrivacyError> {
        let unavailable =
            |e: std::io::Error| PrivacyError::KekUnavailable(format!("{}: {e}", path.display()));
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = vec![0u8; 32];
                SystemRandom::new()
                    .fill(&mut bytes)
                    .map_err(|_| PrivacyError::NoRandomness)?;
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(unavailable)?;
                }
                write_private(path, &bytes).map_err(unavailable)?;
                bytes
            }
            Err(e) => return Err(unavailable(e)),
        };
        let key = UnboundKey::new(&AES_256_GCM, &bytes).map_err(|_| {
            PrivacyError::KekUnavailable(format!("{} does not hold a 256-bit key", path.display()))
        })?;
        let fingerprint: String = digest(&SHA256, &bytes).as_ref()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(LocalKek {
            key: LessSafeKey::new(key),
            id: format!("local:{fingerprint}"),
        })
    }

    /// The associated data of `owner`'s wrapped key.
    fn aad(owner: &str) -> Vec<u8> {
        format!("data-key\u{1f}{owner}").into_bytes()
    }
}

#[async_trait]
impl KeyEncryptionKey for LocalKek {
    async fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedKey), PrivacyError> {
        let key = DataKey::generate()?;
        let blob = seal_bytes(&self.key, key.bytes(), &Self::aad(owner))?;
        let wrapped = WrappedKey {
            kek: self.id.clone(),
            blob: URL_SAFE_NO_PAD.encode(blob),
        };
        Ok((key, wrapped))
    }

    async fn unwrap(&self, owner: &str, wrapped: &WrappedKey) -> Result<DataKey, PrivacyError> {
        if wrapped.kek != self.id {
            return Err(PrivacyError::OtherKek {
                wrapped_by: wrapped.kek.clone(),
                asked: self.id.clone(),
            });
        }
        let blob = URL_SAFE_NO_PAD
            .decode(&wrapped.blob)
            .map_err(|_| PrivacyError::Malformed("wrapped key"))?;
        DataKey::from_bytes(&open_bytes(&self.key, blob, &Self::aad(owner))?)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SealContext;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let mut nonce = [0u8; 8];
        SystemRandom::new().fill(&mut nonce).unwrap();
        let dir: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
        std::env::temp_dir()
            .join(format!("privacy-{dir}"))
            .join(name)
    }

    const HERE: SealContext<'static> = SealContext {
        aggregate: "user#alice",
        event_id: "0b9f3c2e-8d4f-4b6e-9a51-7f0c2d1e4a33",
        field: "email",
    };

    #[tokio::test]
    async fn the_key_file_is_created_private_and_read_back_the_same() {
        let path = temp_path("data-keys.key");
        let first = LocalKek::open_or_create(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (key, wrapped) = first.new_data_key("alice").await.unwrap();
        let sealed = key.seal("alice/1", "alice@example.com", HERE).unwrap();
        let again = LocalKek::open_or_create(&path).unwrap();
        let unwrapped = again.unwrap("alice", &wrapped).await.unwrap();
        assert_eq!(unwrapped.open(&sealed, HERE).unwrap(), "alice@example.com");
        assert!(!wrapped.blob.is_empty() && wrapped.kek.starts_with("local:"));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn a_wrapped_key_unwraps_for_its_owner_only_and_under_its_own_kek() {
        let (a, b) = (temp_path("a.key"), temp_path("b.key"));
        let kek = LocalKek::open_or_create(&a).unwrap();
        let (_, wrapped) = kek.new_data_key("alice").await.unwrap();
        assert!(matches!(
            kek.unwrap("mallory", &wrapped).await,
            Err(PrivacyError::Unopenable)
        ));
        let other = LocalKek::open_or_create(&b).unwrap();
        assert!(matches!(
            other.unwrap("alice", &wrapped).await,
            Err(PrivacyError::OtherKek { .. })
        ));
        for path in [a, b] {
            std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn a_key_file_of_the_wrong_size_is_refused() {
        let path = temp_path("short.key");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b"too short").unwrap();
        assert!(matches!(
            LocalKek::open_or_create(&path),
            Err(PrivacyError::KekUnavailable(_))
        ));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
