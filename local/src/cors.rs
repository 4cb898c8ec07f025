//! CORS as API Gateway's CORS configuration answers it (see docs/architecture.md for the AWS documentation).

use axum::response::Response as AxumResponse;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

/// What API Gateway's CORS configuration (the stack's `cors_configuration`) does with a request: it answers a
/// preflight (an `OPTIONS` with `Origin` and `Access-Control-Request-Method`) itself, adds its headers to the
/// answer to any other request with an `Origin`, and leaves a request without one alone (see
/// docs/architecture.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cors {
    Preflight,
    CrossOrigin,
    SameOrigin,
}

impl Cors {
    pub fn of(request: &axum::extract::Request) -> Cors {
        let headers = request.headers();
        if !headers.contains_key(http::header::ORIGIN) {
            Cors::SameOrigin
        } else if request.method() == Method::OPTIONS
            && headers.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD)
        {
            Cors::Preflight
        } else {
            Cors::CrossOrigin
        }
    }

    /// The headers this kind of request gets: the deployed API's allowed origins, methods and headers for a
    /// preflight; the allowed origin and the headers a script may read for any other cross-origin request.
    pub fn add_headers(self, headers: &mut HeaderMap) {
        use http::header::{
            ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
            ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
        };
        // Named by constant: a name given as text is parsed again on every response.
        let pairs: &[(http::HeaderName, &'static str)] = match self {
            Cors::SameOrigin => return,
            Cors::CrossOrigin => &[
                (ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (ACCESS_CONTROL_EXPOSE_HEADERS, "etag, x-correlation-id"),
            ],
            Cors::Preflight => &[
                (ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (ACCESS_CONTROL_ALLOW_METHODS, "GET, POST, PUT, DELETE, OPTIONS"),
                (
                    ACCESS_CONTROL_ALLOW_HEADERS,
                    "authorization, content-type, idempotency-key, if-match, if-none-match, x-correlation-id",
                ),
                (ACCESS_CONTROL_MAX_AGE, "600"),
            ],
        };
        for (name, value) in pairs {
            headers.insert(name.clone(), HeaderValue::from_static(value));
        }
    }
}

impl Cors {
    /// API Gateway's own answer to a preflight: 204, before any route is looked at.
    pub fn preflight_answer() -> AxumResponse {
        let mut preflight = AxumResponse::new(axum::body::Body::empty());
        *preflight.status_mut() = StatusCode::NO_CONTENT;
        preflight
    }
}
