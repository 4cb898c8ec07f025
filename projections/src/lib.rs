//! Read side, writing half: events become read items. `catch_up` projects one aggregate (version-guarded, so
//! duplicates, reordering and replays converge); `projector` is the DynamoDB Streams Lambda around it;
//! `replay` rebuilds every projection from the event log; `stream` polls a DynamoDB stream the way Lambda's
//! event source mapping does, for local runs and tests; `export` writes the log as NDJSON envelopes.

pub mod catch_up;
pub mod cli;
pub mod export;
pub mod projector;
pub mod read_model;
pub mod replay;
pub mod stream;
mod stream_shim;

pub use catch_up::{catch_up, rebuild, Projected};
pub use projector::project_batch;
