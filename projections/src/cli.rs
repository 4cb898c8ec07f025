//! What the command-line tools (`replay`, `export-events`) share: opening the store they were pointed at.

use std::path::Path;
use std::sync::Arc;

use store::EventStore;
use store_dynamodb::DynamoStore;
use store_sqlite::SqliteStore;

/// The store a tool works on: `sqlite` is `DATA_DIR/debts.sqlite`; `dynamodb` is `table` with the endpoint
/// and credentials from the usual AWS variables.
pub async fn open_store(
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
