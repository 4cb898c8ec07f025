//! The way out for event consumers: the stream reader that puts every committed event on the bus
//! ([`publish`]), and the first consumer on the bus ([`consumer`]): daily counters, and each debt's
//! contribution to its owner's portfolio (the read items of `read_model::portfolio`, which `GET
//! /users/{username}/summary` sums).

pub mod consumer;
pub mod publish;

pub use consumer::{daily_counts, handle_bus_event, record_event, AnalyticsError, DailyCounts};
