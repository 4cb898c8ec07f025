//! Successful answers: `{"data": ...}` bodies with the headers every response carries, and the conversion of
//! a handler's outcome (a reply or a problem) into the HTTP response API Gateway returns.

use http::header::{CONTENT_TYPE, ETAG};
use http::{HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use serde::Serialize;
use serde_json::{json, Value};

use crate::context::{RequestMeta, CORRELATION_HEADER};
use crate::problem::Problem;

/// A successful outcome: a status, the `data` of the body, and the resource's version for `ETag`.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub status: StatusCode,
    pub data: Value,
    pub version: Option<u64>,
    /// Whether the body is `{"data": ...}` (every endpoint but login, whose token response stays flat).
    pub wrapped: bool,
    /// Further members beside `data` (`as_of` on a read of the past).
    pub members: Vec<(&'static str, Value)>,
    /// A body that is not JSON, with its media type (a schedule as `text/csv`); replaces `data`.
    pub text: Option<(&'static str, String)>,
}

impl Reply {
    pub fn ok(data: impl Serialize) -> Self {
        Reply {
            status: StatusCode::OK,
            data: serde_json::to_value(data).expect("reply data is serialisable"),
            version: None,
            wrapped: true,
            members: Vec::new(),
            text: None,
        }
    }

    /// 200 with `body` as it is, of media type `content_type`.
    pub fn text(content_type: &'static str, body: String) -> Self {
        Reply {
            text: Some((content_type, body)),
            ..Reply::ok(Value::Null)
        }
    }

    /// 200 with `{"data": ..., members...}` serialised straight from `data`, without building a JSON tree
    /// first: for large answers (a plan's schedule is thousands of rows), where the tree costs more than the
    /// work.
    pub fn serialized(data: &impl Serialize, members: &[(&'static str, Value)]) -> Self {
        #[derive(Serialize)]
        struct Wrapped<'a, T: Serialize> {
            data: &'a T,
            #[serde(flatten)]
            members: std::collections::BTreeMap<&'static str, &'a Value>,
        }
        let members = members.iter().map(|(name, value)| (*name, value)).collect();
        let body =
            serde_json::to_string(&Wrapped { data, members }).expect("reply data is serialisable");
        Reply::text("application/json", body)
    }

    /// The same reply with `name: value` beside `data`.
    pub fn with_member(mut self, name: &'static str, value: Value) -> Self {
        self.members.push((name, value));
        self
    }

    /// 200 with a page of a list: `{"data": [...], "next_cursor": ..., members...}` (`next_cursor` is `null`
    /// on the last page), serialised straight from `items` like [`Reply::serialized`]: a page of 50 debts
    /// spent half its handler time building and printing the JSON tree.
    pub fn page(
        items: &impl Serialize,
        next_cursor: Option<String>,
        members: &[(&'static str, Value)],
    ) -> Self {
        let mut members = members.to_vec();
        members.push(("next_cursor", json!(next_cursor)));
        Reply::serialized(items, &members)
    }

    /// 304: the client's copy (`If-None-Match`) is current; no body, same `ETag`.
    pub fn not_modified(version: u64) -> Self {
        Reply {
            status: StatusCode::NOT_MODIFIED,
            ..Reply::ok(Value::Null)
        }
        .with_version(version)
    }

    /// The same reply with another status (e.g. 503 from a health check).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// 200 with `body` as the whole body, not wrapped in `data`.
    pub fn bare(body: impl Serialize) -> Self {
        Reply {
            wrapped: false,
            ..Reply::ok(body)
        }
    }

    pub fn created(data: impl Serialize) -> Self {
        Reply {
            status: StatusCode::CREATED,
            ..Reply::ok(data)
        }
    }

    /// The same reply answering a creation: 201.
    pub fn as_created(mut self) -> Self {
        self.status = StatusCode::CREATED;
        self
    }

    pub fn with_version(mut self, version: u64) -> Self {
        self.version = Some(version);
        self
    }
}

/// The strong entity tag of a resource at `version`: `"3"`.
pub fn etag(version: u64) -> String {
    format!("\"{version}\"")
}

/// A JSON reply's body: `{"data": ..., other members}`, or the data alone when bare.
fn json_body(reply: Reply) -> Value {
    if !reply.wrapped {
        return reply.data;
    }
    let mut body = json!({ "data": reply.data });
    for (name, value) in reply.members {
        body[name] = value;
    }
    body
}

/// The HTTP response for a handler's outcome. Problems are logged here, once, at a level by status.
pub fn respond(meta: &RequestMeta, outcome: Result<Reply, Problem>) -> Response<Body> {
    // `raw`: the body is already text (CSV, or JSON serialised by the handler) and goes out as it is.
    let (status, body, content_type, version, raw) = match outcome {
        Ok(Reply {
            status,
            text: Some((content_type, text)),
            version,
            ..
        }) => (status, Value::String(text), content_type, version, true),
        Ok(reply) => {
            let (status, version) = (reply.status, reply.version);
            (status, json_body(reply), "application/json", version, false)
        }
        Err(problem) => {
            if problem.status >= 500 {
                tracing::error!(
                    status = problem.status,
                    kind = problem.kind,
                    "request failed"
                );
            } else {
                tracing::info!(status = problem.status, kind = problem.kind, detail = %problem.detail, "request refused");
            }
            (
                problem.status_code(),
                serde_json::to_value(&problem).expect("a problem is serialisable"),
                "application/problem+json",
                None,
                false,
            )
        }
    };
    let body = match (body, raw) {
        _ if status == StatusCode::NOT_MODIFIED => Body::Empty,
        (Value::String(text), true) => Body::Text(text),
        (json, _) => Body::Text(json.to_string()),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // The store throttled us: a second is enough for DynamoDB's adaptive capacity to catch up.
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    if let Ok(value) = HeaderValue::from_str(&meta.correlation()) {
        headers.insert(CORRELATION_HEADER, value);
    }
    if let Some(version) = version {
        if let Ok(value) = HeaderValue::from_str(&etag(version)) {
            headers.insert(ETAG, value);
        }
    }
    response
}
