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

/// Which engine holds the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    /// One SQLite file, `DATA_DIR/debts.sqlite`.
    Sqlite,
    /// The DynamoDB table `--table`, at the endpoint the AWS variables name.
    Dynamodb,
}

/// The store options every tool and the local server take, each defaulting to its environment variable:
/// `--store sqlite|dynamodb` (`STORE`, else `sqlite`), `--data-dir DIR` (`DATA_DIR`, else `.data`), `--table
/// NAME` (`TABLE_NAME`, else `debts`) and `--create-table`. DynamoDB's endpoint and credentials come from the
/// usual AWS variables.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    #[arg(
        long = "store",
        value_name = "STORE",
        env = "STORE",
        value_enum,
        default_value = "sqlite"
    )]
    pub kind: StoreKind,
    /// Where the SQLite store, the signing secret and the key-encryption key live.
    #[arg(long, env = "DATA_DIR", default_value = ".data")]
    pub data_dir: PathBuf,
    /// The DynamoDB table, with `--store dynamodb`.
    #[arg(long, env = "TABLE_NAME", default_value = "debts")]
    pub table: String,
    /// Create the DynamoDB table first.
    #[arg(long)]
    pub create_table: bool,
}

/// Where committed events come from: the SQLite change feed or the DynamoDB table's stream.
pub enum ChangeSource {
    Feed(UnboundedReceiver<ItemKey>),
    Stream(StreamPoller),
}

/// The command line as `T` describes it. `--help` prints the help and ends the process; a command line that
/// does not parse is a [`Failure::Usage`] (exit 2): what is wrong, then `usage: ...`.
/// How many of `count` went by a second over `elapsed`, for progress lines (a millisecond at the least, so
/// the first line is finite).
pub fn per_second(count: u64, elapsed: std::time::Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64().max(0.001)
}

pub fn parse_args<T: clap::Parser>() -> Result<T, Failure> {
    T::try_parse().map_err(|error| match error.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
            error.exit()
        }
        _ => {
            let message = error.to_string();
            let what = message.split("\n\n").next().unwrap_or_default();
            let usage = T::command().render_usage().to_string();
            let usage = usage.trim_start_matches("Usage: ");
            Failure::Usage(format!("{what}\nusage: {usage}"))
        }
    })
}

impl StoreArgs {
    /// Opens the store these options name, with personal fields opened (see [`StoreArgs::seal`]).
    pub async fn open(self) -> Result<SealedStores, String> {
        let engine: Arc<dyn Engine> = match self.kind {
            StoreKind::Sqlite => {
                Arc::new(SqliteStore::open(self.sqlite_path()).map_err(|e| self.cannot_open(e))?)
            }
            StoreKind::Dynamodb => Arc::new(self.dynamodb(&aws_clients::sdk_config().await).await?),
        };
        self.seal(engine).await
    }

    /// Opens the store with its change source: SQLite's feed, or the table's stream read from its oldest
    /// record (so nothing committed before start-up is missed).
    pub async fn open_with_changes(self) -> Result<(SealedStores, ChangeSource), String> {
        let (engine, source): (Arc<dyn Engine>, ChangeSource) = match self.kind {
            StoreKind::Sqlite => {
                let (store, feed) = SqliteStore::open_with_feed(self.sqlite_path())
                    .map_err(|e| self.cannot_open(e))?;
                (Arc::new(store), ChangeSource::Feed(feed))
            }
            StoreKind::Dynamodb => {
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
