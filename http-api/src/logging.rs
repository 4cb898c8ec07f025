//! Structured JSON logs for every Lambda: one line per event, with the span fields (request and correlation
//! ids) on each. What handlers log never includes a password, hash, token or secret: they log ids and
//! outcomes only.

use tracing_subscriber::EnvFilter;

/// Installs the JSON subscriber; `RUST_LOG` adjusts levels (default `info`). Call once, first thing in `main`.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .init();
}
