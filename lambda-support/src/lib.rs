//! What every Lambda binary (and the local server and tools) sets up once in `main`: the JSON logs
//! ([`logging`]), custom metrics in CloudWatch's Embedded Metric Format ([`metrics`]), and the one AWS SDK configuration every client is built from: HTTPS on rustls with ring (the
//! project's only crypto stack), and region, credentials and endpoints from the environment.
//!
//! Endpoints follow the SDK's standard variables, so tests and local runs point at emulators with
//! `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_DYNAMODB_STREAMS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER`
//! (or `AWS_ENDPOINT_URL` for all of them) and no code change.

pub mod logging;
pub mod metrics;

pub use aws_config::SdkConfig;

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
