//! The local gateway: plays API Gateway for the Lambda handlers on one machine. Each HTTP request becomes an
//! API Gateway HTTP API (payload 2.0) event; protected routes go through the authorizer first and carry its
//! context on, exactly as API Gateway passes it; committed events reach the projector from the SQLite change
//! feed, as DynamoDB Streams would deliver them.

pub mod load;
pub mod projector;
pub mod routes;
pub mod serve;

use std::collections::BTreeMap;
use std::time::Instant;

use auth::authorizer::authorize;
use auth::Tokens;
use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use chrono::Utc;
use commands::{DebtDeps, LoginDeps, UserDeps};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_api::Problem;
use lambda_http::Body as LambdaBody;
use queries::QueryDeps;
use serde_json::{json, Value};

use crate::routes::{allowed_methods, match_route, Handler, Route, RouteMatch};

/// The API's OpenAPI 3.1 description, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// How long the gateway waits for a request's whole body (API Gateway's integration timeout is 30 s).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest request body the gateway reads (API Gateway's own limit is 10 MB; handlers refuse over 64 KiB).
const MAX_GATEWAY_BODY: usize = 1024 * 1024;

/// Every handler's dependencies, built once at start-up.
pub struct Gateway {
    pub users: UserDeps,
    pub login: LoginDeps,
    pub debts: DebtDeps,
    pub queries: QueryDeps,
    pub tokens: Tokens,
}

/// Headers the deployed API allows and exposes across origins; the gateway sends the same.
fn add_cors(headers: &mut HeaderMap) {
    let pairs = [
        ("access-control-allow-origin", "*"),
        ("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS"),
        (
            "access-control-allow-headers",
            "authorization, content-type, idempotency-key, if-match, if-none-match, x-correlation-id",
        ),
        ("access-control-expose-headers", "etag, x-correlation-id"),
        ("access-control-max-age", "600"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

fn problem_response(problem: &Problem) -> AxumResponse {
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

/// An answer API Gateway gives itself, before any integration runs: its own JSON shape, not RFC 9457.
fn gateway_answer(status: StatusCode, message: &str) -> AxumResponse {
    let mut response = AxumResponse::new(AxumBody::from(json!({ "message": message }).to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    response
}

fn header_map_json(headers: &HeaderMap) -> Value {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let Ok(value) = value.to_str() else { continue };
        map.entry(name.as_str().to_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    json!(map)
}

fn query_json(raw: &str) -> Value {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
        map.entry(name.into_owned())
            .and_modify(|existing| {
                existing.push(',');
                existing.push_str(&value);
            })
            .or_insert_with(|| value.clone().into_owned());
    }
    json!(map)
}

/// The request context API Gateway sends with both the authorizer request and the integration request.
fn request_context(method: &Method, path: &str, route_key: &str, headers: &HeaderMap) -> Value {
    let now = Utc::now();
    json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1"),
        "domainPrefix": "local",
        "http": {
            "method": method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent").and_then(|h| h.to_str().ok()).unwrap_or(""),
        },
        "requestId": uuid::Uuid::new_v4().to_string(),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
        "timeEpoch": now.timestamp_millis(),
    })
}

impl Gateway {
    /// Answers one HTTP request the way API Gateway plus the Lambda functions would.
    pub async fn handle(&self, request: axum::extract::Request) -> AxumResponse {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let mut response = self.route(request).await;
        add_cors(response.headers_mut());
        tracing::info!(
            target: "access",
            "{} {} -> {} in {:.1} ms",
            method,
            path,
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    /// Serves what API Gateway answers itself (CORS preflight, the route table), reads the body, builds the
    /// integration event, authorizes a protected route, then hands the event to the route's handler.
    async fn route(&self, request: axum::extract::Request) -> AxumResponse {
        let (parts, body) = request.into_parts();
        if parts.method == Method::OPTIONS {
            let mut response = AxumResponse::new(AxumBody::empty());
            *response.status_mut() = StatusCode::NO_CONTENT;
            return response;
        }
        let path = parts.uri.path().to_owned();
        if parts.method == Method::GET && path == "/openapi.json" {
            let mut response = AxumResponse::new(AxumBody::from(OPENAPI));
            response
                .headers_mut()
                .insert("content-type", HeaderValue::from_static("application/json"));
            return response;
        }
        let found = match match_route(&parts.method, &path) {
            Ok(found) => found,
            Err(problem) => {
                let mut response = problem_response(&problem);
                let allow = allowed_methods(&path).join(", ");
                if problem.status == 405 {
                    if let Ok(value) = HeaderValue::from_str(&allow) {
                        response.headers_mut().insert("allow", value);
                    }
                }
                return response;
            }
        };
        // A body that trickles in is cut off: the headers have their deadline in the server, the body here.
        let read = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_GATEWAY_BODY));
        let bytes = match read.await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(_)) => {
                return problem_response(&Problem::too_large(
                    "the body is larger than the gateway accepts",
                ))
            }
            Err(_) => {
                return problem_response(&Problem::timeout("the body did not arrive in time"))
            }
        };
        let mut event = integration_event(&parts, &found, &bytes);
        if found.route.protected {
            match self.authorize(&found.route, &event, &parts.headers).await {
                Ok(context) => event["requestContext"]["authorizer"] = json!({ "lambda": context }),
                Err(answer) => return answer,
            }
        }
        let Ok(lambda_request) = lambda_http::request::from_str(&event.to_string()) else {
            return problem_response(&Problem::malformed("the request could not be read"));
        };
        match self.dispatch(found.route.handler, lambda_request).await {
            Ok(response) => into_axum(response),
            Err(error) => {
                tracing::error!(%error, "handler failed");
                problem_response(&Problem::internal("the request could not be completed"))
            }
        }
    }

    /// Runs the Lambda authorizer on the request as API Gateway would (a `REQUEST` event whose identity
    /// source is the `Authorization` header) and answers the context it passes on to the integration, or
    /// API Gateway's own refusal: 401 `{"message":"Unauthorized"}` without calling the authorizer when the
    /// identity source is missing or empty, 403 `{"message":"Forbidden"}` when the authorizer says no
    /// (see docs/architecture.md for the AWS documentation this follows).
    async fn authorize(
        &self,
        route: &Route,
        event: &Value,
        headers: &HeaderMap,
    ) -> Result<Value, AxumResponse> {
        let identity = headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .filter(|value| !value.is_empty());
        let Some(identity) = identity else {
            return Err(gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"));
        };
        let mut authorizer_event = event.clone();
        authorizer_event["type"] = json!("REQUEST");
        authorizer_event["routeArn"] = json!(format!(
            "arn:aws:execute-api:local:000000000000:local/$default/{}{}",
            route.method, route.template
        ));
        authorizer_event["identitySource"] = json!([identity]);
        let request: ApiGatewayV2CustomAuthorizerV2Request =
            serde_json::from_value(authorizer_event).map_err(|error| {
                // API Gateway's answer when the authorizer cannot be invoked; our own event always parses.
                tracing::error!(%error, "authorizer request could not be built");
                gateway_answer(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            })?;
        let decision = authorize(&request, &self.tokens).await;
        if !decision.is_authorized {
            return Err(gateway_answer(StatusCode::FORBIDDEN, "Forbidden"));
        }
        Ok(json!(decision.context))
    }

    /// The route's Lambda handler, called as the integration would call it.
    async fn dispatch(
        &self,
        handler: Handler,
        request: lambda_http::Request,
    ) -> Result<http::Response<LambdaBody>, lambda_http::Error> {
        match handler {
            Handler::CreateUser => commands::create_user(request, &self.users).await,
            Handler::Login => commands::login(request, &self.login).await,
            Handler::CreateDebt => commands::create_debt(request, &self.debts).await,
            Handler::UpdateDebt => commands::update_debt(request, &self.debts).await,
            Handler::DeleteDebt => commands::delete_debt(request, &self.debts).await,
            Handler::RecordPayment => commands::record_payment(request, &self.debts).await,
            Handler::AddCharge => commands::add_charge(request, &self.debts).await,
            Handler::Healthz => queries::healthz(request, &self.queries).await,
            Handler::GetUser => queries::get_user(request, &self.queries).await,
            Handler::GetSummary => queries::get_summary(request, &self.queries).await,
            Handler::ListDebts => queries::list_debts(request, &self.queries).await,
            Handler::GetDebt => queries::get_debt(request, &self.queries).await,
            Handler::GetDebtHistory => queries::get_debt_history(request, &self.queries).await,
            Handler::GetPayoffPlan => queries::get_payoff_plan(request, &self.queries).await,
            Handler::GetDebtSchedule => queries::get_debt_schedule(request, &self.queries).await,
        }
    }
}

/// The API Gateway HTTP API (payload 2.0) event for a matched request; a body that is not UTF-8 travels
/// base64-encoded, as API Gateway sends it.
fn integration_event(parts: &http::request::Parts, found: &RouteMatch, bytes: &[u8]) -> Value {
    let path = parts.uri.path();
    let raw_query = parts.uri.query().unwrap_or("");
    let route_key = format!("{} {}", found.route.method, found.route.template);
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "cookies": [],
        "headers": header_map_json(&parts.headers),
        "queryStringParameters": query_json(raw_query),
        "pathParameters": found.path_parameters,
        "stageVariables": {},
        "requestContext": request_context(&parts.method, path, &route_key, &parts.headers),
        "isBase64Encoded": false,
    });
    match std::str::from_utf8(bytes) {
        Ok("") => {}
        Ok(text) => event["body"] = json!(text),
        Err(_) => {
            use base64::Engine;
            event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(bytes));
            event["isBase64Encoded"] = json!(true);
        }
    }
    event
}

fn into_axum(response: http::Response<LambdaBody>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes: Vec<u8> = match body {
        LambdaBody::Text(text) => text.into_bytes(),
        LambdaBody::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}
