//! What the local server and the tools share about being a command: opening the store the command line or
//! the environment names, and ending with the exit code that says whose fault a failure was.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use privacy::SealedStores;
use store::{Engine, ItemKey, Stores};
use store_dynamodb::DynamoStore;
use store_sqlite::SqliteStore;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::stream::{StartAt, StreamPoller};

/// Why a command did not finish: a usage error (bad arguments or settings, exit 2) or a failure (exit 1).
#[derive(Debug)]
pub enum Failure {
    Usage(String),
    Failed(String),
}

impl Failure {
    /// Prints the failure, if any, and gives the process's exit code.
    pub fn exit(result: Result<(), Failure>) -> ExitCode {
        let (code, message) = match result {
            Ok(()) => return ExitCode::SUCCESS,
            Err(Failure::Usage(message)) => (2, message),
            Err(Failure::Failed(message)) => (1, message),
        };
        eprintln!("{message}");
        ExitCode::from(code)
    }
}

/// The store options every tool takes: `--store sqlite|dynamodb` (default `STORE`, else `sqlite`),
/// `--data-dir DIR` (default `DATA_DIR`, else `.data`), `--table NAME` (default `TABLE_NAME`, else `debts`)
/// and `--create-table`. The SQLite store is `DATA_DIR/debts.sqlite`; DynamoDB's endpoint and credentials
/// come from the usual AWS variables.
#[derive(Debug, Clone)]
pub struct StoreArgs {
    pub store: String,
    pub data_dir: PathBuf,
    pub table: String,
    pub create_table: bool,
}

/// Where committed events come from: the SQLite change feed or the DynamoDB table's stream.
pub enum ChangeSource {
    Feed(UnboundedReceiver<ItemKey>),
    Stream(StreamPoller),
}

impl StoreArgs {
    /// The defaults, from the environment.
    pub fn from_env() -> Self {
        let var =
            |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
        StoreArgs {
            store: var("STORE", "sqlite"),
            data_dir: PathBuf::from(var("DATA_DIR", ".data")),
            table: var("TABLE_NAME", "debts"),
            create_table: false,
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
            "--table" => self.table = value(arg)?,
            "--create-table" => self.create_table = true,
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Opens the store these options name, with personal fields opened (see [`StoreArgs::seal`]).
    pub async fn open(self) -> Result<SealedStores, String> {
        let engine: Arc<dyn Engine> = match self.store.as_str() {
            "sqlite" => {
                Arc::new(SqliteStore::open(self.sqlite_path()).map_err(|e| self.cannot_open(e))?)
            }
            "dynamodb" => Arc::new(self.dynamodb(&aws_clients::sdk_config().await).await?),
            other => return Err(unknown_store(other)),
        };
        self.seal(engine).await
    }

    /// Opens the store with its change source: SQLite's feed, or the table's stream read from its oldest
    /// record (so nothing committed before start-up is missed).
    pub async fn open_with_changes(self) -> Result<(SealedStores, ChangeSource), String> {
        let (engine, source): (Arc<dyn Engine>, ChangeSource) = match self.store.as_str() {
            "sqlite" => {
                let (store, feed) = SqliteStore::open_with_feed(self.sqlite_path())
                    .map_err(|e| self.cannot_open(e))?;
                (Arc::new(store), ChangeSource::Feed(feed))
            }
            "dynamodb" => {
                let config = aws_clients::sdk_config().await;
                let store = self.dynamodb(&config).await?;
                let poller = StreamPoller::for_table(
                    store.client(),
                    &config,
                    &self.table,
                    StartAt::TrimHorizon,
                )
                .await
                .map_err(|e| {
                    format!(
                        "cannot read the stream of {}: {e} (start with --create-table?)",
                        self.table
                    )
                })?;
                (Arc::new(store), ChangeSource::Stream(poller))
            }
            other => return Err(unknown_store(other)),
        };
        Ok((self.seal(engine).await?, source))
    }

    /// The key-encryption key file of the local server and tools, next to its signing secret.
    pub fn kek_path(&self) -> PathBuf {
        self.data_dir.join("key-encryption-key")
    }

    /// `engine` with personal fields sealed and opened: under the KMS key `KMS_KEY_ID` when it is set,
    /// otherwise under the data directory's key file (created, mode 0600, on first use).
    async fn seal(&self, engine: Arc<dyn Engine>) -> Result<SealedStores, String> {
        let kek = aws_clients::kek_from_env(&self.kek_path())
            .await
            .map_err(|e| format!("cannot open the key-encryption key: {e}"))?;
        Ok(privacy::seal(&Stores::of(engine), kek))
    }

    fn sqlite_path(&self) -> PathBuf {
        self.data_dir.join("debts.sqlite")
    }

    fn cannot_open(&self, error: store::StoreError) -> String {
        format!(
            "cannot open the store in {}: {error}",
            self.data_dir.display()
        )
    }

    async fn dynamodb(&self, config: &aws_clients::SdkConfig) -> Result<DynamoStore, String> {
        let client = aws_sdk_dynamodb::Client::new(config);
        if self.create_table {
            store_dynamodb::create_table(&client, &self.table)
                .await
                .map_err(|e| format!("cannot create the table {}: {e}", self.table))?;
        }
        Ok(DynamoStore::new(client, self.table.clone()))
    }
}

fn unknown_store(name: &str) -> String {
    format!("unknown store {name}: use sqlite or dynamodb")
}
