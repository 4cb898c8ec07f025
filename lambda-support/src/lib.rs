//! What every Lambda binary (and the local server and tools) sets up once in `main`: the JSON logs
//! ([`logging`]) and custom metrics in CloudWatch's Embedded Metric Format ([`metrics`]). No AWS SDK: the
//! handlers link this crate, and the SDK's configuration lives with the clients (`aws-clients`).

pub mod logging;
pub mod metrics;
