//! The AWS side of the process: the one SDK configuration every client is built from ([`sdk_config`]: HTTPS
//! on rustls with ring, the project's only crypto stack; region, credentials and endpoints from the
//! environment), the KMS key that wraps users' data keys ([`KmsKek`]), the signing keys kept in Secrets
//! Manager ([`SecretsManagerKeys`]), and a Lambda function's wiring from its environment ([`Environment`]).
//! Only the functions' mains, the tools and the tests link it; the handlers see the ports
//! (`store`'s roles, `privacy::KeyEncryptionKey`, `auth::SigningKeys`).
//!
//! Endpoints follow the SDK's standard variables, so tests and local runs point at emulators with
//! `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`
//! (or `AWS_ENDPOINT_URL` for all of them) and no code change.

pub mod environment;
mod kms;
pub mod secrets_manager;

pub use aws_config::SdkConfig;
pub use environment::{Environment, SetupError};
pub use kms::KmsKek;
pub use secrets_manager::SecretsManagerKeys;

use aws_config::BehaviorVersion;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// Loads the shared SDK configuration. Call once per process (in `main`) and build every client from it.
pub async fn sdk_config() -> SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let loader = aws_config::defaults(BehaviorVersion::latest()).http_client(http_client);
    // Stated rather than inherited: up to 3 attempts with exponential backoff and jitter, so a throttled call
    // is retried within the request; what still fails reaches the client as 503 with Retry-After. The SDK's
    // own variable `AWS_MAX_ATTEMPTS` still wins where it is set (the cold-start benchmark sets 1, so a probe
    // of a closed port fails at once).
    let loader = if std::env::var_os("AWS_MAX_ATTEMPTS").is_some() {
        loader
    } else {
        loader.retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3))
    };
    loader.load().await
}

/// The environment variable naming the KMS key (id, ARN or alias) that wraps data keys on AWS.
pub const KMS_KEY_ENV: &str = "KMS_KEY_ID";

/// The key-encryption key the environment names: the KMS key `KMS_KEY_ID` when it is set, otherwise the
/// local key file `local_kek` (the local server and tools, created on first use).
pub async fn kek_from_env(
    local_kek: &std::path::Path,
) -> Result<std::sync::Arc<dyn privacy::KeyEncryptionKey>, privacy::PrivacyError> {
    Ok(match std::env::var(KMS_KEY_ENV) {
        Ok(key_id) if !key_id.is_empty() => std::sync::Arc::new(KmsKek::new(
            aws_sdk_kms::Client::new(&sdk_config().await),
            key_id,
        )),
        _ => std::sync::Arc::new(privacy::LocalKek::open_or_create(local_kek)?),
    })
}
