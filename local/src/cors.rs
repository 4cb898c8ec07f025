//! CORS as API Gateway's CORS configuration answers it (see docs/architecture.md for the AWS documentation).

use axum::response::Response as AxumResponse;
use std::sync::LazyLock;

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::Value;

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
        let answers = CorsAnswers::get();
        let pairs = match self {
            Cors::SameOrigin => return,
            Cors::CrossOrigin => &answers.cross_origin,
            Cors::Preflight => &answers.preflight,
        };
        for (name, value) in pairs {
            headers.insert(name.clone(), value.clone());
        }
    }
}

/// The CORS headers of each kind of answer, made once from `docs/openapi.json`'s `x-cors`: the configuration
/// the Pulumi program gives API Gateway, so the two cannot drift.
struct CorsAnswers {
    cross_origin: Vec<(HeaderName, HeaderValue)>,
    preflight: Vec<(HeaderName, HeaderValue)>,
}

impl CorsAnswers {
    fn get() -> &'static CorsAnswers {
        static ANSWERS: LazyLock<CorsAnswers> =
            LazyLock::new(|| CorsAnswers::from_spec(crate::OPENAPI));
        &ANSWERS
    }

    fn from_spec(spec: &str) -> CorsAnswers {
        let spec: Value = serde_json::from_str(spec).expect("docs/openapi.json is JSON");
        let config = &spec["x-cors"];
        let list = |name: &str| -> HeaderValue {
            let values: Vec<&str> = config[name]
                .as_array()
                .unwrap_or_else(|| panic!("x-cors.{name} is a list"))
                .iter()
                .map(|value| value.as_str().expect("a text"))
                .collect();
            HeaderValue::from_str(&values.join(", ")).expect("a header value")
        };
        let max_age = config["maxAge"].as_u64().expect("x-cors.maxAge");
        CorsAnswers {
            cross_origin: vec![
                (ACCESS_CONTROL_ALLOW_ORIGIN, list("allowOrigins")),
                (ACCESS_CONTROL_EXPOSE_HEADERS, list("exposeHeaders")),
            ],
            preflight: vec![
                (ACCESS_CONTROL_ALLOW_ORIGIN, list("allowOrigins")),
                (ACCESS_CONTROL_ALLOW_METHODS, list("allowMethods")),
                (ACCESS_CONTROL_ALLOW_HEADERS, list("allowHeaders")),
                (ACCESS_CONTROL_MAX_AGE, HeaderValue::from(max_age)),
            ],
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answers_carry_the_documented_configuration() {
        let mut cross_origin = HeaderMap::new();
        Cors::CrossOrigin.add_headers(&mut cross_origin);
        assert_eq!(cross_origin[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
        assert_eq!(
            cross_origin[ACCESS_CONTROL_EXPOSE_HEADERS],
            "cache-control, etag, link, retry-after, x-correlation-id"
        );
        let mut preflight = HeaderMap::new();
        Cors::Preflight.add_headers(&mut preflight);
        assert_eq!(preflight[ACCESS_CONTROL_MAX_AGE], "600");
        assert_eq!(
            preflight[ACCESS_CONTROL_ALLOW_METHODS],
            "GET, POST, PUT, DELETE, OPTIONS"
        );
        let mut same_origin = HeaderMap::new();
        Cors::SameOrigin.add_headers(&mut same_origin);
        assert!(same_origin.is_empty());
    }
}
