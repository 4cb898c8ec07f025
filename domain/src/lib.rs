//! The pure domain model: value types that turn request data into valid values, and the User and Debt
//! aggregates as deciders. No I/O lives here; handlers load events, call `decide`, and append the result.

pub mod debt;
pub mod decider;
pub mod user;
pub mod values;
pub mod view;

pub use debt::{Debt, DebtCommand, DebtError, DebtPatch, DebtRecord, DebtState, NewDebt};
pub use decider::Decider;
pub use user::{User, UserCommand, UserError, UserProfile, UserState};
pub use values::{
    Creditor, DebtName, Email, FullName, InterestRate, Money, PaymentFrequency, StartDate,
    Username, ValidationError,
};
pub use view::{DebtView, UserView};
