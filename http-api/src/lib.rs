//! HTTP plumbing every Lambda handler shares: body parsing into per-field errors, RFC 9457 problem+json
//! responses (with the one mapping from domain and store errors), request metadata (correlation id, request id,
//! the authorizer's username, `Idempotency-Key` and `If-Match`), and `{"data": ...}` replies.

pub mod body;
pub mod context;
pub mod handler;
pub mod problem;
pub mod reply;

pub use body::{Accepted, Fields, Required, MAX_BODY_BYTES};
pub use context::RequestMeta;
pub use handler::serve;
pub use problem::{FieldError, Problem};
pub use reply::Reply;
