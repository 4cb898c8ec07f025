//! Write side: the command Lambda handlers (`create-user`, `login`, `create-debt`, `update-debt`,
//! `delete-debt`, `record-payment`, `add-charge`, `change-rate`, `record-statement`, `update-user`, `set-notifications`, `issue-calendar-feed`, `revoke-calendar-feed`, `unsubscribe`, `adopt-plan`, `erase-user`). Each parses its request into domain types, loads the aggregate from its events, asks the
//! decider, and appends the result with a conditional write; nothing else is written except what must be
//! written atomically with the event (credentials, the email guard, an idempotency record).

pub mod calendar;
pub mod debts;
mod envelope;
pub mod erasure;
mod idempotency;
pub mod login_limits;
pub mod movements;
pub mod plans;
pub mod settings;
pub mod unsubscribe;
pub mod users;

pub use calendar::{issue_calendar_feed, revoke_calendar_feed};
pub use debts::{create_debt, delete_debt, update_debt, DebtDeps};
pub use erasure::{erase_user, ErasureDeps};
pub use movements::{add_charge, change_rate, record_payment, record_statement};
pub use plans::adopt_plan;
pub use settings::{set_notifications, update_user};
pub use unsubscribe::unsubscribe;
pub use users::{create_user, login, LoginDeps, UserDeps};
