//! The key-encryption key on AWS: a KMS key. `GenerateDataKey` makes a user's data key and returns it with its
//! wrapped form; `Decrypt` unwraps it. The owner is the encryption context of both calls, so KMS refuses to
//! unwrap one user's key as another's, and CloudTrail records whose key each call was about.

use async_trait::async_trait;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use aws_sdk_kms::Client;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use privacy::{DataKey, KeyEncryptionKey, PrivacyError, WrappedKey};

/// A KMS key as the key-encryption key, named by its id, ARN or alias.
pub struct KmsKek {
    client: Client,
    key_id: String,
}

impl KmsKek {
    pub fn new(client: Client, key_id: impl Into<String>) -> Self {
        KmsKek {
            client,
            key_id: key_id.into(),
        }
    }
}

const OWNER: &str = "owner";

fn unavailable(error: impl std::fmt::Display) -> PrivacyError {
    PrivacyError::KekUnavailable(error.to_string())
}

#[async_trait]
impl KeyEncryptionKey for KmsKek {
    async fn new_data_key(&self, owner: &str) -> Result<(DataKey, WrappedKey), PrivacyError> {
        let made = self
            .client
            .generate_data_key()
            .key_id(&self.key_id)
            .key_spec(DataKeySpec::Aes256)
            .encryption_context(OWNER, owner)
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_kms::error::DisplayErrorContext(e)))?;
        let plaintext = made
            .plaintext()
            .ok_or_else(|| unavailable("no plaintext key"))?;
        let wrapped = made
            .ciphertext_blob()
            .ok_or_else(|| unavailable("no wrapped key"))?;
        Ok((
            DataKey::from_bytes(plaintext.as_ref())?,
            WrappedKey {
                kek: made.key_id().unwrap_or(&self.key_id).to_owned(),
                blob: URL_SAFE_NO_PAD.encode(wrapped.as_ref()),
            },
        ))
    }

    async fn unwrap(&self, owner: &str, wrapped: &WrappedKey) -> Result<DataKey, PrivacyError> {
        let blob = URL_SAFE_NO_PAD
            .decode(&wrapped.blob)
            .map_err(|_| PrivacyError::Malformed("wrapped key"))?;
        let opened = self
            .client
            .decrypt()
            .key_id(&wrapped.kek)
            .ciphertext_blob(Blob::new(blob))
            .encryption_context(OWNER, owner)
            .send()
            .await
            .map_err(|e| match e.as_service_error() {
                Some(service) if service.is_invalid_ciphertext_exception() => {
                    PrivacyError::Unopenable
                }
                _ => unavailable(aws_sdk_kms::error::DisplayErrorContext(e)),
            })?;
        let plaintext = opened
            .plaintext()
            .ok_or_else(|| unavailable("no plaintext key"))?;
        DataKey::from_bytes(plaintext.as_ref())
    }
}
