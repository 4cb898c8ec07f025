//! The project's tooling, away from the product: the load generator and its audit ([`load`], [`audit`],
//! over [`client`]: `make test-load`, `make bench-load`, the crash test), projection lag as a client sees it ([`lag`]: `make
//! bench-lag`), the one statistics module ([`stats`]), the seeded event log and the rows of `make bench`'s
//! table ([`report`]), and every benchmark binary (`src/bin/`: the hammer and bare hyper of `make
//! bench-gateway`, command latency, reads as of an instant, replay and export throughput, the port-call
//! count).

pub mod audit;
pub mod client;
pub mod lag;
pub mod load;
pub mod report;
pub mod stats;

use std::net::SocketAddr;

/// The address of a server given as `http://HOST:PORT` (a command line's `--url`).
pub fn server_address(url: &str) -> Result<SocketAddr, String> {
    url.strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|rest| rest.parse().ok())
        .ok_or_else(|| format!("{url} is not http://HOST:PORT"))
}

/// The engines a benchmark runs on, and the sizes of the event logs it seeds on SQLite: `--store` and
/// `--events`, each a comma-separated list.
#[derive(Debug, clap::Args)]
pub struct Runs {
    #[arg(
        long = "store",
        value_delimiter = ',',
        value_enum,
        default_value = "sqlite,dynamodb"
    )]
    pub engines: Vec<EngineName>,
    /// Log sizes (events) on SQLite.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    pub events: Vec<u64>,
}

/// An engine a benchmark runs on: a fresh SQLite file, or a fresh table in DynamoDB Local.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineName {
    Sqlite,
    Dynamodb,
}

impl EngineName {
    pub async fn open(self) -> std::sync::Arc<dyn store::Engine> {
        match self {
            EngineName::Sqlite => integration_tests::sqlite_store().await,
            EngineName::Dynamodb => integration_tests::dynamodb_store().await,
        }
    }

    /// The name the command line takes (`sqlite`).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .expect("every engine has a name")
            .get_name()
            .to_owned()
    }
}
