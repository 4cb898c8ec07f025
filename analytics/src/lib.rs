//! The way out for event consumers: the Pipe's enrichment that publishes envelopes to the bus
//! ([`publish`]), and the first consumer on the bus, the portfolio and daily-counter analytics
//! ([`consumer`], [`portfolio`]).

pub mod consumer;
pub mod portfolio;
pub mod publish;

pub use consumer::{
    daily_counts, handle_bus_event, portfolio_summary, record_event, AnalyticsError, DailyCounts,
};
pub use portfolio::{Contribution, PortfolioSummary};
