//! What the command-line tools (`replay`, `export-events`) share: opening the store they were pointed at.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use store::EventStore;
use store_dynamodb::DynamoStore;
use store_sqlite::SqliteStore;

/// The store a tool works on: `sqlite` is `DATA_DIR/debts.sqlite`; `dynamodb` is `table` with the endpoint
/// and credentials from the usual AWS variables.
async fn open_store(
    kind: &str,
    data_dir: &Path,
    table: Option<String>,
) -> Result<Arc<dyn EventStore>, String> {
    match kind {
        "sqlite" => {
            let store =
                SqliteStore::open(data_dir.join("debts.sqlite")).map_err(|e| e.to_string())?;
            Ok(Arc::new(store))
        }
        "dynamodb" => {
            let table = table.ok_or("--store dynamodb needs --table or TABLE_NAME")?;
            let config = aws_env::load().await;
            Ok(Arc::new(DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&config),
                table,
            )))
        }
        other => Err(format!("unknown store {other}: use sqlite or dynamodb")),
    }
}

/// The store options every tool takes: `--store sqlite|dynamodb` (default `STORE`, else `sqlite`),
/// `--data-dir DIR` (default `DATA_DIR`, else `.data`) and `--table NAME` (default `TABLE_NAME`).
#[derive(Debug, Clone)]
pub struct StoreArgs {
    pub store: String,
    pub data_dir: PathBuf,
    pub table: Option<String>,
}

impl StoreArgs {
    /// The defaults, from the environment.
    pub fn from_env() -> Self {
        StoreArgs {
            store: std::env::var("STORE").unwrap_or_else(|_| "sqlite".into()),
            data_dir: PathBuf::from(std::env::var("DATA_DIR").unwrap_or_else(|_| ".data".into())),
            table: std::env::var("TABLE_NAME").ok(),
        }
    }

    /// Takes `arg` if it is a store option (`value` gives its value); `false` for any other argument.
    pub fn accept(
        &mut self,
        arg: &str,
        value: impl FnOnce(&str) -> Result<String, String>,
    ) -> Result<bool, String> {
        match arg {
            "--store" => self.store = value(arg)?,
            "--data-dir" => self.data_dir = PathBuf::from(value(arg)?),
            "--table" => self.table = Some(value(arg)?),
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Opens the store these options name.
    pub async fn open(self) -> Result<Arc<dyn EventStore>, String> {
        open_store(&self.store, &self.data_dir, self.table).await
    }
}
