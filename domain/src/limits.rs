//! The bounds the write side enforces and the read side relies on, in one place: each is checked where the
//! data is written (commands) and bounds a read elsewhere (queries, plans).

/// The most events one debt takes through updates (docs/openapi.json states it): each change reloads the
/// whole history, so this bounds that read (about 10,000 small items, a few MB).
pub const MAX_EVENTS_PER_DEBT: u64 = 10_000;

/// The most live (created and not deleted) debts one user keeps: it bounds `GET /debts`, which reads them all
/// to sort, and every plan. Counted in the same transaction as each `DebtCreated` and `DebtDeleted`, so it
/// holds under any concurrency (store::Tally).
pub const MAX_LIVE_DEBTS_PER_USER: i64 = 1_000;

/// The most debts one user ever creates, deleted ones included: it bounds their debt ledger (two entries per
/// debt), which every read `as_of` an instant and every erasure pages through. Counted in the same
/// transaction as each `DebtCreated` (store::Tally); a deletion does not give a place back.
pub const MAX_DEBTS_CREATED_PER_USER: i64 = 10_000;

/// The most steps one debt's rate schedule holds: it bounds the debt's answers and every plan's walk over
/// the schedule. A step past it is refused (409).
pub const MAX_RATE_STEPS: usize = 100;
