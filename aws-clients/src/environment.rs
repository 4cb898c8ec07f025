//! A Lambda function's environment, read once in its `main`: the one place that reads the variables the stack
//! sets and names DynamoDB, KMS and Secrets Manager for a function. The mains (`functions/http`,
//! `functions/events`) stay thin: they take what they need from here and hand a plain `async fn` to the
//! runtime; the handlers they run see only the ports.

use std::sync::Arc;

use auth::{PasswordHasher, Tokens};
use privacy::SealedStores;
use store::{Engine, Stores};
use store_dynamodb::DynamoStore;

use crate::{KmsKek, SdkConfig, SecretsManagerKeys, KMS_KEY_ENV};

/// What a function's environment does not provide.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error(transparent)]
    Passwords(#[from] auth::passwords::HasherError),
}

/// A Lambda function's environment, read once in `main`: the shared SDK configuration and the variables
/// the stack sets (`TABLE_NAME`, `KMS_KEY_ID`, `AUTH_SECRET_NAME`, `EVENT_BUS_NAME`,
/// `PASSWORD_HASH_ITERATIONS`, `TOKEN_ISSUER`).
pub struct Environment {
    config: SdkConfig,
}

/// A variable the function cannot run without.
pub fn variable(name: &'static str) -> Result<String, SetupError> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.is_empty())
        .ok_or(SetupError::Missing(name))
}

impl Environment {
    /// Sets up the JSON logs and loads the SDK configuration: what every function does first.
    pub async fn load() -> Self {
        lambda_support::logging::init();
        Environment {
            config: crate::sdk_config().await,
        }
    }

    /// The table named by `TABLE_NAME`, every role of it as stored (personal fields sealed).
    pub fn table(&self) -> Result<Stores, SetupError> {
        let table: Arc<dyn Engine> = Arc::new(DynamoStore::new(
            aws_sdk_dynamodb::Client::new(&self.config),
            variable("TABLE_NAME")?,
        ));
        Ok(Stores::of(table))
    }

    /// The table with its event log sealed under the KMS key `KMS_KEY_ID`: what the handlers and the
    /// projector work on.
    pub fn sealed_table(&self) -> Result<SealedStores, SetupError> {
        let kek = KmsKek::new(
            aws_sdk_kms::Client::new(&self.config),
            variable(KMS_KEY_ENV)?,
        );
        Ok(privacy::seal(&self.table()?, Arc::new(kek)))
    }

    /// The password hasher at the configured work factor.
    pub fn passwords(&self) -> Result<PasswordHasher, SetupError> {
        Ok(PasswordHasher::from_env()?)
    }

    /// Tokens signed and checked with the keys in the Secrets Manager secret `AUTH_SECRET_NAME`.
    pub fn tokens(&self) -> Tokens {
        let client = aws_sdk_secretsmanager::Client::new(&self.config);
        Tokens::new(
            Arc::new(SecretsManagerKeys::from_env(client)),
            auth::tokens::issuer_from_env(),
        )
    }

    /// The shared SDK configuration, for a client of a service this module does not name (EventBridge).
    pub fn config(&self) -> &SdkConfig {
        &self.config
    }
}
