//! The answers the gateway gives itself, before or around a handler: RFC 9457 problems for unrouted
//! requests and oversized or slow bodies, API Gateway's own `{"message"}` shape for the authorizer's refusals
//! and malformed hosts, the OpenAPI document, and a handler's response as hyper sends it.

use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use http::{HeaderValue, StatusCode};
use http_api::Problem;
use lambda_http::Body as LambdaBody;
use serde_json::json;

use crate::routes::allowed_methods;

pub fn problem_response(problem: &Problem) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(
        serde_json::to_vec(problem).expect("problems serialise"),
    ));
    *response.status_mut() = problem.status_code();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("application/problem+json"),
    );
    response
}

/// API Gateway's answer to a request no route takes: 404, or 405 with the methods the path has.
pub fn unrouted(problem: &Problem, path: &str) -> AxumResponse {
    let mut response = problem_response(problem);
    if problem.status == 405 {
        if let Ok(value) = HeaderValue::from_str(&allowed_methods(path).join(", ")) {
            response.headers_mut().insert("allow", value);
        }
    }
    response
}

/// An answer API Gateway gives itself, before any integration runs: its own JSON shape, not RFC 9457.
pub fn gateway_answer(status: StatusCode, message: &str) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(json!({ "message": message }).to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

/// A handler's response as the gateway sends it.
pub fn into_axum(response: http::Response<LambdaBody>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        LambdaBody::Text(text) => text.into_bytes(),
        LambdaBody::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}

/// The API's OpenAPI document, as `GET /openapi.json` serves it.
pub fn openapi() -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(crate::OPENAPI));
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}
