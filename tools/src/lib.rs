//! What runs outside Lambda, on either store: opening the store a command line names ([`cli`]), reading a
//! DynamoDB stream the way Lambda's event source mapping does ([`stream`], for the local server and tests),
//! and the event log as NDJSON ([`export`]). The `replay-cli` and `export-events` binaries are built on them;
//! no Lambda function links this crate (it brings SQLite and the DynamoDB Streams SDK).

pub mod cli;
pub mod export;
pub mod stream;
mod stream_shim;
