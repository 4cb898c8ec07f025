//! Read side, writing half: events become read items. `catch_up` projects one aggregate (version-guarded, so
//! duplicates, reordering and replays converge); `projector` is the DynamoDB Streams Lambda around it;
//! `replay` rebuilds every projection from the event log. The read items' shapes are `read_model`'s; polling
//! a stream outside Lambda, the command-line tools and the export live in `tools`.

pub mod catch_up;
pub mod notice_index;
pub mod projection;
pub mod projector;
pub mod replay;
pub mod replay_job;

pub use catch_up::{catch_up, rebuild, Projected};
pub use projection::{Projection, PROJECTIONS};
pub use projector::project_batch;
