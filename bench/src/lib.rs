//! The project's tooling, away from the product: the load generator and its audit ([`load`]: `make
//! test-load`, `make bench-load`, the crash test), projection lag as a client sees it ([`lag`]: `make
//! bench-lag`), the one statistics module ([`stats`]), the seeded event log and the rows of `make bench`'s
//! table ([`report`]), and every benchmark binary (`src/bin/`: the hammer and bare hyper of `make
//! bench-gateway`, command latency, reads as of an instant, replay and export throughput, the port-call
//! count).

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

    pub fn name(self) -> &'static str {
        match self {
            EngineName::Sqlite => "sqlite",
            EngineName::Dynamodb => "dynamodb",
        }
    }
}
