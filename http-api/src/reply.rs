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
    /// `data`, serialised once where the reply is made: building a JSON tree first and printing it after
    /// was half the time of a 50-debt page and a fifth of a debt's creation.
    data: String,
    pub version: Option<u64>,
    /// Whether the body is `{"data": ...}` (every endpoint but login, whose token response stays flat).
    wrapped: bool,
    /// Further members beside `data` (`as_of` on a read of the past, a page's `next_cursor`).
    members: Vec<(&'static str, Value)>,
    /// A body that is not JSON, with its media type (a schedule as `text/csv`); replaces `data`.
    text: Option<(&'static str, String)>,
    /// The next page's path and query, for a `Link: <...>; rel="next"` header (RFC 8288).
    next_link: Option<String>,
    /// Headers of this reply's own (`ETag` of a body that has no version, `Cache-Control`).
    headers: Vec<(http::header::HeaderName, String)>,
}

impl Reply {
    pub fn ok(data: impl Serialize) -> Self {
        Reply {
            status: StatusCode::OK,
            data: serde_json::to_string(&data).expect("reply data is serialisable"),
            version: None,
            wrapped: true,
            members: Vec::new(),
            text: None,
            next_link: None,
            headers: Vec::new(),
        }
    }

    /// 200 with `body` as it is, of media type `content_type`.
    pub fn text(content_type: &'static str, body: String) -> Self {
        Reply {
            text: Some((content_type, body)),
            ..Reply::ok(Value::Null)
        }
    }

    /// The same reply with `name: value` beside `data`.
    pub fn with_member(mut self, name: &'static str, value: Value) -> Self {
        self.members.push((name, value));
        self
    }

    /// The same reply with `name: value` beside `data` when there is a value.
    pub fn with_optional_member(self, name: &'static str, value: Option<Value>) -> Self {
        match value {
            Some(value) => self.with_member(name, value),
            None => self,
        }
    }

    /// The same reply with `Link: <target>; rel="next"` (RFC 8288): where the rest of a paged body is.
    pub fn with_next_link(mut self, target: String) -> Self {
        self.next_link = Some(target);
        self
    }

    /// 200 with a page of a list: `{"data": [...], "next_cursor": ...}` (`next_cursor` is `null` on the last
    /// page).
    pub fn page(items: &impl Serialize, next_cursor: Option<String>) -> Self {
        Reply::ok(items).with_member("next_cursor", json!(next_cursor))
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

    /// The same reply with the header `name: value`.
    pub fn with_header(mut self, name: http::header::HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// 304 for a body whose entity tag is `tag`: the client's copy is current.
    pub fn not_modified_tag(tag: String) -> Self {
        Reply {
            status: StatusCode::NOT_MODIFIED,
            ..Reply::ok(Value::Null)
        }
        .with_header(ETAG, tag)
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
fn json_body(reply: Reply) -> String {
    if !reply.wrapped {
        return reply.data;
    }
    let mut body = String::with_capacity(reply.data.len() + 16);
    body.push_str("{\"data\":");
    body.push_str(&reply.data);
    for (name, value) in reply.members {
        body.push(',');
        body.push_str(&Value::from(name).to_string());
        body.push(':');
        body.push_str(&value.to_string());
    }
    body.push('}');
    body
}

/// The headers a reply asks for besides the usual ones: its own, and `Link` to its next page.
fn reply_headers(reply: &Reply) -> Vec<(http::header::HeaderName, String)> {
    let mut headers = reply.headers.clone();
    if let Some(target) = &reply.next_link {
        headers.push((http::header::LINK, format!("<{target}>; rel=\"next\"")));
    }
    headers
}

/// The HTTP response for a handler's outcome. Problems are logged here, once, at a level by status.
pub fn respond(meta: &RequestMeta, outcome: Result<Reply, Problem>) -> Response<Body> {
    let mut retry_after = None;
    let own_headers = outcome.as_ref().map(reply_headers).unwrap_or_default();
    let (status, body, content_type, version) = match outcome {
        Ok(Reply {
            status,
            text: Some((content_type, text)),
            version,
            ..
        }) => (status, text, content_type, version),
        Ok(reply) => {
            let (status, version) = (reply.status, reply.version);
            (status, json_body(reply), "application/json", version)
        }
        Err(problem) => {
            retry_after = problem.retry_after;
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
                serde_json::to_string(&problem).expect("a problem is serialisable"),
                "application/problem+json",
                None,
            )
        }
    };
    let body = if status == StatusCode::NOT_MODIFIED {
        Body::Empty
    } else {
        Body::Text(body)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(seconds) = retry_after {
        headers.insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
    } else if status == StatusCode::SERVICE_UNAVAILABLE {
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
    for (name, value) in own_headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}
