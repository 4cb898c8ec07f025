//! Structured JSON logs for every Lambda: one line per event, with the span fields (route, request and
//! correlation ids) on each. Handlers log ids and outcomes only, never a password, hash, token or secret;
//! `tests/tests/logs.rs` captures a whole login flow and checks.

use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

/// The JSON subscriber every function uses, writing to `writer`; `RUST_LOG` adjusts levels (default `info`).
pub fn json_subscriber<W>(writer: W) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

/// Installs the JSON subscriber on stdout. Call once, first thing in `main`.
pub fn init() {
    tracing::subscriber::set_global_default(json_subscriber(std::io::stdout))
        .expect("logging is initialised once");
}
