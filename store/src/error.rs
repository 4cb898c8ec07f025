//! What can go wrong in the storage port, typed so handlers can map each case to one HTTP answer.

use events::AggregateType;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    /// Another writer appended to the aggregate after it was loaded (optimistic concurrency).
    #[error("{aggregate_type:?} {aggregate_id} has moved past version {expected_version}")]
    VersionConflict {
        aggregate_type: AggregateType,
        aggregate_id: String,
        expected_version: u64,
    },
    /// A guard item already exists, e.g. the email address is registered; `name` is the guard's name.
    #[error("{name} is already taken")]
    GuardTaken { name: String },
    /// A tally would pass its limit (see `Tally`); `name` is the tally's name.
    #[error("the limit of {name} is reached")]
    LimitReached { name: String },
    /// An item an append requires (see `Requirement`) did not exist when it would have committed; `name` is
    /// the requirement's name. Nothing was written.
    #[error("{name} does not exist")]
    RequirementMissing { name: String },
    /// The cursor is not one this store issued for this query.
    #[error("the cursor is not valid for this query")]
    InvalidCursor,
    /// The caller asked for something the port does not allow (a bug in the caller, not bad user input).
    #[error("invalid store request: {0}")]
    InvalidRequest(String),
    /// An item in the store cannot be read back as what it claims to be.
    #[error("corrupt item {pk}/{sk}: {reason}")]
    Corrupt {
        pk: String,
        sk: String,
        reason: String,
    },
    /// The engine is throttling requests (DynamoDB's `ThrottlingException`,
    /// `ProvisionedThroughputExceededException`, `RequestLimitExceeded`) after the SDK's own retries: the
    /// request may be sent again after a moment.
    #[error("the store is busy; retry shortly")]
    Busy,
    /// The personal fields of an append cannot be sealed: their owner was erased (their data key is gone).
    #[error("{owner} was erased")]
    OwnerErased { owner: String },
    /// The personal data layer failed: a data key could not be made, unwrapped or used.
    #[error("personal data: {0}")]
    PersonalData(String),
    /// The engine itself failed (network, disk, ...).
    #[error("storage engine error: {0}")]
    Engine(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn engine(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Engine(Box::new(error))
    }
}

/// The error codes with which DynamoDB says it is throttling the caller.
pub const THROTTLING_CODES: [&str; 3] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
];
