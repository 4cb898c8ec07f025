//! The event contract: the envelope every stored event wears, the four event types, their JSON Schema, and
//! the upcasting that keeps old schema versions readable. Stream consumers depend on exactly this shape.

mod envelope;
mod payload;
pub mod schema;
mod upcast;

pub use envelope::{AggregateType, EventEnvelope};
pub use payload::{
    ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted, DebtUpdated, EventPayload,
    PaymentFrequency, PaymentRecorded, UnknownChargeKind, UnknownPaymentFrequency, UserCreated,
};
pub use upcast::{DecodeError, Upcaster};
