//! The local gateway: plays API Gateway for the Lambda handlers on one machine. Each HTTP request becomes an
//! API Gateway HTTP API (payload 2.0) event; protected routes go through the authorizer first and carry its
//! context on, exactly as API Gateway passes it; committed events reach the projector from the SQLite change
//! feed, as DynamoDB Streams would deliver them. The routes and handlers are `api`'s; this crate plays the
//! parts of AWS around them, one concern a module.

mod answers;
pub mod authorizer;
mod cors;
pub mod event;
mod gateway;
pub mod lambda_request;
pub mod log_writer;
pub mod logging;
pub mod notice_timer;
pub mod projector;
pub mod routes;
pub mod serve;
pub mod throttle;
pub mod web;

pub use authorizer::AuthorizerCache;
pub use gateway::Gateway;

/// The API's OpenAPI 3.1 description, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");
