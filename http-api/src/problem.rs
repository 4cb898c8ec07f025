//! RFC 9457 problem details, and the single mapping from domain and store errors to HTTP statuses.

use domain::{DebtError, UserError, ValidationError};
use http::StatusCode;
use serde::Serialize;
use store::StoreError;

/// One invalid request field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<ValidationError> for FieldError {
    fn from(error: ValidationError) -> Self {
        FieldError::new(error.field, error.message)
    }
}

/// An `application/problem+json` body. `type` is a stable URI reference clients can switch on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds the client should wait before trying again: the answer's `Retry-After` header.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

macro_rules! problems {
    ($($name:ident => ($status:expr, $kind:literal, $title:literal);)*) => {
        impl Problem {
            $(
                pub fn $name(detail: impl Into<String>) -> Problem {
                    Problem {
                        kind: $kind,
                        title: $title,
                        status: $status.as_u16(),
                        detail: detail.into(),
                        errors: Vec::new(),
                        retry_after: None,
                    }
                }
            )*
        }
    };
}

problems! {
    malformed => (StatusCode::BAD_REQUEST, "/problems/malformed-request", "Malformed request");
    unauthorized => (StatusCode::UNAUTHORIZED, "/problems/unauthorized", "Unauthorized");
    forbidden => (StatusCode::FORBIDDEN, "/problems/forbidden", "Forbidden");
    not_found => (StatusCode::NOT_FOUND, "/problems/not-found", "Not found");
    method_not_allowed => (StatusCode::METHOD_NOT_ALLOWED, "/problems/method-not-allowed", "Method not allowed");
    conflict => (StatusCode::CONFLICT, "/problems/conflict", "Conflict");
    precondition_failed => (StatusCode::PRECONDITION_FAILED, "/problems/precondition-failed", "Precondition failed");
    too_large => (StatusCode::PAYLOAD_TOO_LARGE, "/problems/payload-too-large", "Payload too large");
    unsupported_media_type => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "/problems/unsupported-media-type", "Unsupported media type");
    idempotency_mismatch => (StatusCode::UNPROCESSABLE_ENTITY, "/problems/idempotency-key-reused", "Idempotency key reused");
    too_much_history => (StatusCode::UNPROCESSABLE_ENTITY, "/problems/too-much-history", "Too much history");
    too_many_attempts => (StatusCode::TOO_MANY_REQUESTS, "/problems/too-many-attempts", "Too many attempts");
    unavailable => (StatusCode::SERVICE_UNAVAILABLE, "/problems/unavailable", "Service unavailable");
    timeout => (StatusCode::REQUEST_TIMEOUT, "/problems/request-timeout", "Request timeout");
    internal => (StatusCode::INTERNAL_SERVER_ERROR, "/problems/internal", "Internal error");
}

impl Problem {
    /// 422 with one entry per invalid field.
    pub fn validation(errors: Vec<FieldError>) -> Problem {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Problem {
            kind: "/problems/validation",
            title: "Invalid request",
            status: StatusCode::UNPROCESSABLE_ENTITY.as_u16(),
            detail,
            errors,
            retry_after: None,
        }
    }

    /// The same problem, answered with `Retry-After: seconds`.
    pub fn retry_after(self, seconds: u64) -> Problem {
        Problem {
            retry_after: Some(seconds),
            ..self
        }
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<ValidationError> for Problem {
    fn from(error: ValidationError) -> Self {
        Problem::validation(vec![error.into()])
    }
}

impl From<DebtError> for Problem {
    fn from(error: DebtError) -> Self {
        match error {
            // A deleted debt, someone else's, and a missing one all read as "not found".
            DebtError::NotFound | DebtError::Deleted => Problem::not_found("no such debt"),
            DebtError::AlreadyExists => Problem::conflict("a debt with this id already exists"),
            DebtError::PaidOff => Problem::conflict(
                "the debt is paid off; it takes no payment until a charge reopens it",
            ),
            DebtError::TooManyRateSteps => Problem::conflict(format!(
                "the debt's rate schedule holds {} steps, the most a debt keeps",
                domain::limits::MAX_RATE_STEPS
            )),
            invalid => {
                let (field, message) = invalid_field(&invalid);
                Problem::validation(vec![FieldError::new(field, message)])
            }
        }
    }
}

/// The field a refused value stood in, and what is wrong with it (a 422's `errors` entry).
fn invalid_field(error: &DebtError) -> (&'static str, String) {
    match *error {
        DebtError::PrincipalNotPositive => ("principal", "must be greater than zero".into()),
        DebtError::PaymentExceedsBalance { balance } => {
            ("amount", format!("must be at most the balance, {balance}"))
        }
        DebtError::BalanceTooLarge => (
            "amount",
            format!("would take the balance past {}", domain::Money::MAX),
        ),
        DebtError::DayInFuture { field, today } => {
            (field, format!("must not be after today ({today}, UTC)"))
        }
        DebtError::DayBeforeStart { field, start_date } => (
            field,
            format!("must not be before the debt's start_date ({start_date})"),
        ),
        DebtError::RateEndsBeforeItStarts { .. } => {
            ("ends_on", "must not be before effective_on".into())
        }
        DebtError::InClosedCycle {
            field,
            closing_date,
        } => (
            field,
            format!(
                "must be after the last statement's closing date ({closing_date}): the statement \
                 already holds that cycle's movements"
            ),
        ),
        DebtError::StartAfterStatement { closing_date } => (
            "start_date",
            format!("must not be after the last statement's closing date ({closing_date})"),
        ),
        DebtError::StatementNotAfterLast { last } => (
            "closing_date",
            format!("must be after the last statement's closing date ({last})"),
        ),
        DebtError::DueBeforeClosing => ("due_date", "must not be before closing_date".into()),
        DebtError::MinimumAboveBalance => (
            "minimum_due",
            "must not be more than statement_balance".into(),
        ),
        DebtError::StatementBelowLaterMoves { balance } => (
            "statement_balance",
            format!(
                "would leave a balance of {balance} after the payments dated since the closing; \
                 check the closing date"
            ),
        ),
        DebtError::NotFound
        | DebtError::Deleted
        | DebtError::AlreadyExists
        | DebtError::PaidOff
        | DebtError::TooManyRateSteps => ("body", error.to_string()),
    }
}

impl From<UserError> for Problem {
    fn from(error: UserError) -> Self {
        match error {
            UserError::UsernameTaken => Problem::conflict("the username is already taken"),
            UserError::NotFound => Problem::not_found("no such user"),
        }
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::VersionConflict { .. } => {
                Problem::conflict("the resource was changed by another request; reload and retry")
            }
            StoreError::GuardTaken { name } => {
                Problem::conflict(format!("the {name} is already taken"))
            }
            StoreError::LimitReached { name } => {
                Problem::conflict(format!("the limit of {name} is reached"))
            }
            StoreError::InvalidCursor => {
                Problem::malformed("the cursor is not valid for this listing")
            }
            // A command of an erased user whose token API Gateway's authorizer cache still allows.
            StoreError::OwnerErased { .. } => Problem::unauthorized("this account was erased"),
            StoreError::Busy => Problem::unavailable(
                "the service is busy; retry after the number of seconds in Retry-After",
            ),
            other => {
                // The detail stays generic: engine errors can name tables and keys.
                tracing::error!(error = %other, "storage error");
                Problem::internal("the request could not be completed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_validation_problem_lists_its_fields() {
        let problem = Problem::validation(vec![
            FieldError::new("principal", "must not be negative"),
            FieldError::new("extra", "unknown field"),
        ]);
        assert_eq!(
            serde_json::to_value(&problem).unwrap(),
            json!({
                "type": "/problems/validation",
                "title": "Invalid request",
                "status": 422,
                "detail": "2 fields are invalid",
                "errors": [
                    {"field": "principal", "message": "must not be negative"},
                    {"field": "extra", "message": "unknown field"}
                ]
            })
        );
    }

    #[test]
    fn domain_and_store_errors_map_to_one_status_each() {
        assert_eq!(Problem::from(DebtError::Deleted).status, 404);
        assert_eq!(Problem::from(DebtError::NotFound).status, 404);
        assert_eq!(Problem::from(DebtError::PrincipalNotPositive).status, 422);
        assert_eq!(Problem::from(UserError::UsernameTaken).status, 409);
        assert_eq!(Problem::from(UserError::NotFound).status, 404);
        let erased = StoreError::OwnerErased {
            owner: "ada".into(),
        };
        assert_eq!(Problem::from(erased).status, 401);
        let taken = Problem::from(StoreError::GuardTaken {
            name: "email".into(),
        });
        assert_eq!(
            (taken.status, taken.detail.as_str()),
            (409, "the email is already taken")
        );
        assert_eq!(Problem::from(StoreError::InvalidCursor).status, 400);
        let busy = Problem::from(StoreError::Busy);
        assert_eq!((busy.status, busy.kind), (503, "/problems/unavailable"));
        let engine = Problem::from(StoreError::InvalidRequest("table debts-prod".into()));
        assert_eq!(engine.status, 500);
        assert!(!engine.detail.contains("debts-prod"));
    }
}
