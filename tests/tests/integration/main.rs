//! The workspace's integration tests, one test binary (one link step instead of one per suite). Each module is
//! a suite; those that touch storage run once per engine, as `<suite>::sqlite::…` and `<suite>::dynamodb::…`,
//! and those that need moto are named `moto_…`. `make test-fast` skips both kinds of service.

mod analytics;
mod calendar_routes;
mod conformance;
mod crate_graph;
mod debt_routes;
mod due_routes;
mod erasure;
mod event_bus;
mod kms_keys;
mod logs;
mod metrics;
mod money_routes;
mod notice_email;
mod notice_sweep;
mod operations_doc;
mod planning_doc;
mod planning_routes;
mod progress_routes;
mod projection_lag;
mod read_side;
mod secret_rotation;
mod sqlite_feed;
mod statement_routes;
mod time_travel;
mod user_routes;
