//! What a handler needs to know about a request besides its body: who is calling (the authorizer's context,
//! passed on by API Gateway), the correlation id that follows the request, path and header values, and the
//! conditional and idempotent request headers (`If-Match`, `Idempotency-Key`).

use domain::Username;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use uuid::Uuid;

use crate::problem::Problem;

/// Header a client may send to tie its own logs to ours; echoed on every response.
pub const CORRELATION_HEADER: &str = "x-correlation-id";

/// The longest `X-Correlation-Id` kept; a longer one is replaced, as is one with other than visible ASCII.
pub const MAX_CORRELATION_ID_LEN: usize = 128;

/// The namespace of the UUIDv5 that stands for a client's non-UUID correlation id in `correlation_id`.
pub const CORRELATION_NAMESPACE: Uuid = Uuid::from_u128(0x6a0c_1f2e_9d3b_5c47_8e21_4f60_b7d9_0a35);

/// Identifiers that follow a request through logs, responses and the events it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestMeta {
    /// The client's `X-Correlation-Id` when that is a UUID; the UUIDv5 of it when it is another kept id;
    /// otherwise new.
    pub correlation_id: Uuid,
    /// The client's `X-Correlation-Id` verbatim when it is kept but is not a UUID.
    pub client_correlation_id: Option<String>,
    /// The Lambda invocation's request id, or API Gateway's when called outside Lambda.
    pub request_id: String,
}

/// What a client's `X-Correlation-Id` becomes: a UUID is used as it is; any other string of 1-128 visible
/// ASCII characters is kept (and stands as its UUIDv5); anything else, or none, gets a new id.
pub fn correlation_from(header: Option<&str>) -> (Uuid, Option<String>) {
    let Some(value) = header.map(str::trim).filter(|v| !v.is_empty()) else {
        return (events::ids::random_uuid(), None);
    };
    if let Ok(uuid) = Uuid::parse_str(value) {
        return (uuid, None);
    }
    if value.len() <= MAX_CORRELATION_ID_LEN && value.bytes().all(|b| b.is_ascii_graphic()) {
        return (
            Uuid::new_v5(&CORRELATION_NAMESPACE, value.as_bytes()),
            Some(value.to_owned()),
        );
    }
    (events::ids::random_uuid(), None)
}

impl RequestMeta {
    /// The correlation id as the client knows it: what it sent, when kept, or the one it was given.
    pub fn correlation(&self) -> String {
        self.client_correlation_id
            .clone()
            .unwrap_or_else(|| self.correlation_id.to_string())
    }

    pub fn of(request: &Request) -> Self {
        let (correlation_id, client_correlation_id) = correlation_from(
            request
                .headers()
                .get(CORRELATION_HEADER)
                .and_then(|v| v.to_str().ok()),
        );
        let request_id = request
            .lambda_context_ref()
            .map(|c| c.request_id.clone())
            .filter(|id| !id.is_empty())
            .or_else(|| match request.request_context_ref() {
                Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
                _ => None,
            })
            .unwrap_or_else(|| events::ids::random_uuid().to_string());
        RequestMeta {
            correlation_id,
            client_correlation_id,
            request_id,
        }
    }
}

/// The username the authorizer put in the request context. Without one the route was not protected as it
/// must be, so the request is refused rather than served anonymously.
pub fn caller(request: &Request) -> Result<Username, Problem> {
    let username = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.fields.get("username"))
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        _ => None,
    };
    username
        .and_then(|u| Username::parse(&u).ok())
        .ok_or_else(|| Problem::unauthorized("this route needs a bearer token"))
}

/// A path parameter such as `debt_id`.
pub fn path_param(request: &Request, name: &str) -> Option<String> {
    request
        .path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

/// A header's value as text, when present and readable.
pub fn header<'r>(request: &'r Request, name: &str) -> Option<&'r str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// A query-string parameter such as `limit`.
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

/// The `debt_id` path parameter as a canonical UUID; anything that is not a UUID names no debt (404).
pub fn debt_id(request: &Request) -> Result<String, Problem> {
    path_param(request, "debt_id")
        .and_then(|id| Uuid::parse_str(&id).ok())
        .map(|id| id.to_string())
        .ok_or_else(|| Problem::not_found("no such debt"))
}

/// The `Idempotency-Key` header: 1-255 visible ASCII characters, when present.
pub fn idempotency_key(request: &Request) -> Result<Option<String>, Problem> {
    let Some(raw) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match raw.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(Problem::malformed(
            "Idempotency-Key must be 1-255 visible ASCII characters, e.g. a UUID",
        )),
    }
}

/// The versions an `If-Match` header accepts: `None` when absent, or any version for `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    Any,
    Versions(Vec<u64>),
}

impl Precondition {
    pub fn holds_for(&self, version: u64) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::Versions(versions) => versions.contains(&version),
        }
    }
}

/// Reads `If-Match`: `*`, or a comma-separated list of strong ETags such as `"3"` (1-19 digits, so any
/// version fits), with optional spaces around each. The OpenAPI document's pattern says the same.
pub fn if_match(request: &Request) -> Result<Option<Precondition>, Problem> {
    let Some(raw) = request.headers().get("if-match") else {
        return Ok(None);
    };
    let malformed = || Problem::malformed("If-Match must hold ETags such as \"3\"");
    let raw = raw.to_str().map_err(|_| malformed())?;
    let blank = |c: char| c == ' ';
    if raw.trim_matches(blank) == "*" {
        return Ok(Some(Precondition::Any));
    }
    raw.split(',')
        .map(|tag| {
            let tag = tag.trim_matches(blank);
            tag.strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .filter(|t| (1..=19).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|t| t.parse::<u64>().ok())
        })
        .collect::<Option<Vec<u64>>>()
        .map(|versions| Some(Precondition::Versions(versions)))
        .ok_or_else(malformed)
}
