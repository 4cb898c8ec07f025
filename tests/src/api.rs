//! API Gateway HTTP API (payload 2.0) events for calling handlers exactly as Lambda would: each request is
//! built from a fixture in `tests/fixtures/` (copied from `aws_lambda_events`), with the route, headers,
//! body and the authorizer's context filled in, then parsed by `lambda_http` like a real invocation.

use std::collections::BTreeMap;

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

const WITH_AUTHORIZER: &str = include_str!("../fixtures/apigw-v2-request-lambda-authorizer.json");
const WITHOUT_AUTHORIZER: &str = include_str!("../fixtures/apigw-v2-request-no-authorizer.json");
const AUTHORIZER_REQUEST: &str =
    include_str!("../fixtures/apigw-v2-custom-authorizer-v2-request.json");

/// One HTTP request to a route of the API.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    method: &'static str,
    route: &'static str,
    path: String,
    path_parameters: BTreeMap<String, String>,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Option<String>,
    caller: Option<String>,
    source_ip: Option<String>,
}

impl ApiRequest {
    /// A request to `route` (e.g. `"PUT /debts/{debt_id}"`) at `path`.
    pub fn new(route: &'static str, path: impl Into<String>) -> Self {
        let method = route.split(' ').next().unwrap_or("GET");
        ApiRequest {
            method,
            route,
            path: path.into(),
            path_parameters: BTreeMap::new(),
            query: BTreeMap::new(),
            headers: BTreeMap::new(),
            body: None,
            caller: None,
            source_ip: None,
        }
    }

    /// `owner` asking to erase their own account with `password`.
    pub fn erasure(owner: &str, password: &str) -> Self {
        ApiRequest::new("DELETE /users/{username}", format!("/users/{owner}"))
            .path_param("username", owner)
            .as_user(owner)
            .json(serde_json::json!({ "password": password }))
    }

    /// A JSON body, with `Content-Type: application/json`.
    pub fn json(self, body: Value) -> Self {
        self.raw_body("application/json", body.to_string())
    }

    pub fn raw_body(mut self, content_type: &str, body: impl Into<String>) -> Self {
        self.headers
            .insert("content-type".into(), content_type.into());
        self.body = Some(body.into());
        self
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.insert(name.to_ascii_lowercase(), value.into());
        self
    }

    pub fn path_param(mut self, name: &str, value: impl Into<String>) -> Self {
        self.path_parameters.insert(name.into(), value.into());
        self
    }

    /// A query-string parameter (`?limit=10`).
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// From the address `ip`, as API Gateway names the request's source.
    pub fn from_address(mut self, ip: &str) -> Self {
        self.source_ip = Some(ip.into());
        self
    }

    /// As API Gateway passes it after the authorizer allowed `username`.
    pub fn as_user(mut self, username: &str) -> Self {
        self.caller = Some(username.into());
        self
    }

    /// The Lambda event, as JSON.
    /// The user the authorizer named, if any.
    pub fn caller(&self) -> Option<&str> {
        self.caller.as_deref()
    }

    pub fn event(&self) -> Value {
        let template = if self.caller.is_some() {
            WITH_AUTHORIZER
        } else {
            WITHOUT_AUTHORIZER
        };
        let mut event: Value = serde_json::from_str(template).expect("fixture is JSON");
        event["routeKey"] = json!(self.route);
        event["rawPath"] = json!(self.path);
        let raw_query: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        event["rawQueryString"] = json!(raw_query.join("&"));
        event["cookies"] = json!([]);
        event["queryStringParameters"] = json!(self.query);
        event["stageVariables"] = json!({});
        event["headers"] = json!(self.headers);
        event["pathParameters"] = json!(self.path_parameters);
        event["body"] = self.body.clone().map_or(Value::Null, Value::String);
        event["isBase64Encoded"] = json!(false);
        let context = &mut event["requestContext"];
        context["routeKey"] = json!(self.route);
        context["requestId"] = json!(uuid::Uuid::new_v4().to_string());
        context["http"]["method"] = json!(self.method);
        context["http"]["path"] = json!(self.path);
        if let Some(ip) = &self.source_ip {
            context["http"]["sourceIp"] = json!(ip);
        }
        match &self.caller {
            Some(username) => context["authorizer"] = json!({ "lambda": { "username": username } }),
            None => {
                context.as_object_mut().unwrap().remove("authorizer");
            }
        }
        event
    }

    /// The `lambda_http` request the Lambda runtime would hand the handler.
    pub fn build(&self) -> Request {
        lambda_http::request::from_str(&self.event().to_string())
            .expect("a valid API Gateway v2 event")
    }
}

/// An authorizer invocation for a request carrying `authorization` (when given).
pub fn authorizer_request(authorization: Option<&str>) -> ApiGatewayV2CustomAuthorizerV2Request {
    let mut event: Value = serde_json::from_str(AUTHORIZER_REQUEST).expect("fixture is JSON");
    event["headers"] = match authorization {
        Some(value) => json!({ "authorization": value }),
        None => json!({}),
    };
    event["identitySource"] = match authorization {
        Some(value) => json!([value]),
        None => json!([]),
    };
    serde_json::from_value(event).expect("a valid authorizer event")
}

/// A handler's response, read back.
#[derive(Debug, Clone)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
}

impl ApiResponse {
    pub fn read(response: Response<Body>) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::String(text.clone())),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        ApiResponse {
            status,
            headers,
            body,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `event_type` of each entry of a history's `data`, in order.
    pub fn event_types(&self) -> Vec<&str> {
        self.strings("/data", "event_type")
    }

    /// The text `field` of each entry of the list at `pointer` (a JSON pointer: `/data`, `/data/debts`), in
    /// order.
    pub fn strings(&self, pointer: &str, field: &str) -> Vec<&str> {
        let entries = self.body.pointer(pointer).and_then(Value::as_array);
        let entries = entries.unwrap_or_else(|| panic!("no list at {pointer}: {}", self.body));
        entries
            .iter()
            .map(|entry| {
                entry[field]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {field} in {entry}"))
            })
            .collect()
    }

    /// Asserts the answer is a `status` problem (RFC 9457: `application/problem+json` with `type`, `title`,
    /// `status` and `detail`) and returns its detail; `what` names the case in a failure.
    pub fn problem_detail(&self, status: u16, what: &str) -> &str {
        assert_eq!(self.status, status, "{what}: {}", self.body);
        let content_type = self.header("content-type");
        assert_eq!(content_type, Some("application/problem+json"), "{what}");
        for member in ["type", "title", "status", "detail"] {
            assert!(
                self.body.get(member).is_some(),
                "{what}: problem without {member}"
            );
        }
        self.body["detail"].as_str().expect("a text detail")
    }

    /// The message a 422 gives for `field`; panics, showing the body, when it is another answer or names
    /// no such field.
    /// Asserts a 422 whose errors name `field` with a message of its own; `case` (the request) is said on
    /// failure.
    pub fn assert_refused(&self, field: &str, case: &dyn std::fmt::Display) {
        assert_eq!(self.status, 422, "{case}: {}", self.body);
        assert!(self.field_error(field).len() > 3, "{case}: {}", self.body);
    }

    pub fn field_error(&self, field: &str) -> &str {
        assert_eq!(self.status, 422, "{}", self.body);
        let errors = self.body["errors"]
            .as_array()
            .expect("a validation problem");
        let error = errors.iter().find(|e| e["field"] == field);
        let error = error.unwrap_or_else(|| panic!("no error for {field}: {}", self.body));
        error["message"].as_str().expect("a message")
    }
}
