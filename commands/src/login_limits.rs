//! Failed logins limited per account and per source address, as OWASP's authentication cheat sheet asks:
//! an attack on one account cannot lock out any other, and no account or address makes the service run
//! PBKDF2 without bound. API Gateway's stage throttle cannot do this (an HTTP API has no per-client limit):
//! it only caps the hashing routes as a whole.
//!
//! Each attempt takes a place in two counts before any hashing: its source address's and, when the username
//! could exist, that account's, each in a fixed window. The store adds atomically and answers the sum, so
//! the limit holds however many attempts race; an attempt past either limit is refused with 429 and
//! `Retry-After` (the window's end), and gives its places back. A successful login gives its places back
//! too: what stays counted are the failures.

use chrono::{DateTime, Utc};
use domain::Username;
use http_api::Problem;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use store::keys::{login_attempts_key, LOGIN_ACCOUNT_PREFIX, LOGIN_SOURCE_PREFIX};
use store::{ItemKey, Records};

/// The windows the failures are counted in.
pub const WINDOW_SECONDS: i64 = 900;
/// Failed attempts one account may take in a window: past them, the account refuses logins until it ends.
pub const FAILURES_PER_ACCOUNT: i64 = 10;
/// Failed attempts one source address may make in a window, over every account it tries.
pub const FAILURES_PER_SOURCE: i64 = 100;

const COUNT: &str = "failures";

/// The places one attempt holds in the counts.
pub struct Attempt {
    keys: Vec<ItemKey>,
    expires_at: i64,
}

/// The address the request came from, as API Gateway saw it.
pub fn source_of(request: &Request) -> String {
    match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// Takes the attempt's places (the source's, then the account's when there is one), or refuses it.
pub async fn begin(
    records: &dyn Records,
    source: &str,
    account: Option<&Username>,
    now: DateTime<Utc>,
) -> Result<Attempt, Problem> {
    let window = now.timestamp().div_euclid(WINDOW_SECONDS);
    let window_ends = (window + 1) * WINDOW_SECONDS;
    let mut attempt = Attempt {
        keys: Vec::with_capacity(2),
        // Kept one window past its end, then DynamoDB's TTL removes it.
        expires_at: window_ends + WINDOW_SECONDS,
    };
    let counts = [
        (LOGIN_SOURCE_PREFIX, Some(source), FAILURES_PER_SOURCE),
        (
            LOGIN_ACCOUNT_PREFIX,
            account.map(Username::as_str),
            FAILURES_PER_ACCOUNT,
        ),
    ];
    for (prefix, who, limit) in counts {
        let Some(who) = who else { continue };
        let key = login_attempts_key(prefix, who, window);
        let count = records
            .add_to_count(&key, COUNT, 1, attempt.expires_at)
            .await?;
        attempt.keys.push(key);
        if count > limit {
            release(records, attempt).await;
            tracing::warn!(limit, "login refused: too many failed attempts");
            let wait = u64::try_from(window_ends - now.timestamp())
                .unwrap_or(1)
                .max(1);
            return Err(Problem::too_many_attempts(
                "too many failed logins for this account or from this address; retry after the number of seconds in Retry-After",
            )
            .retry_after(wait));
        }
    }
    Ok(attempt)
}

/// Gives the attempt's places back (it succeeded, or was refused before any hashing). A failure to do so
/// leaves one failure too many counted until the window ends: logged, not the caller's error.
pub async fn release(records: &dyn Records, attempt: Attempt) {
    for key in &attempt.keys {
        if let Err(error) = records
            .add_to_count(key, COUNT, -1, attempt.expires_at)
            .await
        {
            tracing::warn!(%error, "a login attempt's count could not be given back");
        }
    }
}
