//! The command-line tools run as their own processes, one test binary: `export-events` and `replay-cli`.

mod export;
mod replay;
mod support;
