//! The pure domain model: value types that turn request data into valid values, and the User and Debt
//! aggregates as deciders. No I/O lives here; handlers load events, call `decide`, and append the result.

pub mod adopted_plan;
pub mod debt;
pub mod decider;
pub mod limits;
pub mod plan;
pub mod user;
pub mod values;
pub mod view;
pub mod wire;

pub use debt::{
    Charge, DatedBalance, Debt, DebtAggregate, DebtCommand, DebtError, DebtPatch, DebtRecord,
    DebtState, DebtStatus, NewDebt, NewRate, NewStatement, NewTerms, NoticesSent, Payment,
    RateStep,
};
pub use decider::Decider;
pub use user::{User, UserCommand, UserError, UserProfile, UserState};
pub use values::{
    ChargeKind, Creditor, Day, DebtName, DueDays, Email, FullName, InterestMethod, InterestRate,
    Money, Note, PaymentFrequency, RateKind, ReminderOffsets, StartDate, StatementDay,
    TimeZoneName, Username, ValidationError,
};
pub use view::{DebtView, UserView};
