//! The event contract: the envelope every stored event wears, the event types, their JSON Schema, and
//! the upcasting that keeps old schema versions readable. Stream consumers depend on exactly this shape.

mod envelope;
pub mod ids;
mod names;
mod payload;
mod personal;
pub mod schema;
mod upcast;

pub use envelope::{AggregateType, EventEnvelope};
pub use names::UnknownName;
pub use payload::{
    BookedCharge, BookedKind, ChargeAdded, ChargeKind, DebtChanges, DebtCreated, DebtDeleted,
    DebtTerms, DebtUpdated, EventPayload, InterestMethod, LegacyEventRedacted, MonthAmount,
    NoticeKind, NotificationSettings, PaymentDueSoon, PaymentFrequency, PaymentMissed,
    PaymentRecorded, PlanAdopted, PlanStrategy, PromoEndingSoon, RateChanged, RateKind,
    RedactedEvent, StatementRecorded, UserChanges, UserCreated, UserErased, UserUpdated,
};
pub use personal::{Personal, SealedText, ERASED};
pub use upcast::{DecodeError, Upcaster};
