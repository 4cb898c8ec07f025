//! The local gateway: plays API Gateway for the Lambda handlers on one machine. Each HTTP request becomes an
//! API Gateway HTTP API (payload 2.0) event; protected routes go through the authorizer first and carry its
//! context on, exactly as API Gateway passes it; committed events reach the projector from the SQLite change
//! feed, as DynamoDB Streams would deliver them.

pub mod projector;
pub mod routes;

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

use crate::routes::{match_route, Handler, RouteMatch};

/// The API's OpenAPI 3.1 description, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

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
        let RouteMatch {
            route,
            path_parameters,
        } = match match_route(&parts.method, &path) {
            Ok(found) => found,
            Err(problem) => return problem_response(&problem),
        };
        let bytes = match axum::body::to_bytes(body, MAX_GATEWAY_BODY).await {
            Ok(bytes) => bytes,
            Err(_) => {
                return problem_response(&Problem::too_large(
                    "the body is larger than the gateway accepts",
                ))
            }
        };
        let raw_query = parts.uri.query().unwrap_or("").to_owned();
        let route_key = format!("{} {}", route.method, route.template);
        let headers = header_map_json(&parts.headers);
        let context = request_context(&parts.method, &path, &route_key, &parts.headers);

        let mut event = json!({
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": path,
            "rawQueryString": raw_query,
            "cookies": [],
            "headers": headers,
            "queryStringParameters": query_json(&raw_query),
            "pathParameters": path_parameters,
            "stageVariables": {},
            "requestContext": context,
            "isBase64Encoded": false,
        });
        match String::from_utf8(bytes.to_vec()) {
            Ok(text) if !text.is_empty() => event["body"] = json!(text),
            Ok(_) => {}
            Err(_) => {
                use base64::Engine;
                event["body"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
                event["isBase64Encoded"] = json!(true);
            }
        }

        if route.protected {
            let mut authorizer_event = event.clone();
            authorizer_event["type"] = json!("REQUEST");
            authorizer_event["routeArn"] = json!(format!(
                "arn:aws:execute-api:local:000000000000:local/$default/{}{}",
                route.method, route.template
            ));
            authorizer_event["identitySource"] = match parts
                .headers
                .get("authorization")
                .and_then(|h| h.to_str().ok())
            {
                Some(value) => json!([value]),
                None => json!([]),
            };
            let authorizer_request: ApiGatewayV2CustomAuthorizerV2Request =
                match serde_json::from_value(authorizer_event) {
                    Ok(request) => request,
                    Err(_) => {
                        return problem_response(&Problem::unauthorized(
                            "the request could not be authorized",
                        ))
                    }
                };
            let decision = authorize(&authorizer_request, &self.tokens).await;
            if !decision.is_authorized {
                return problem_response(&Problem::unauthorized(
                    "a valid bearer token is required",
                ));
            }
            event["requestContext"]["authorizer"] = json!({ "lambda": decision.context });
        }

        let lambda_request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(_) => {
                return problem_response(&Problem::malformed("the request could not be read"))
            }
        };
        let result = match route.handler {
            Handler::CreateUser => commands::create_user(lambda_request, &self.users).await,
            Handler::Login => commands::login(lambda_request, &self.login).await,
            Handler::CreateDebt => commands::create_debt(lambda_request, &self.debts).await,
            Handler::UpdateDebt => commands::update_debt(lambda_request, &self.debts).await,
            Handler::DeleteDebt => commands::delete_debt(lambda_request, &self.debts).await,
            Handler::Healthz => queries::healthz(lambda_request, &self.queries).await,
            Handler::GetUser => queries::get_user(lambda_request, &self.queries).await,
            Handler::GetSummary => queries::get_summary(lambda_request, &self.queries).await,
            Handler::ListDebts => queries::list_debts(lambda_request, &self.queries).await,
            Handler::GetDebt => queries::get_debt(lambda_request, &self.queries).await,
            Handler::GetDebtHistory => {
                queries::get_debt_history(lambda_request, &self.queries).await
            }
        };
        match result {
            Ok(response) => into_axum(response),
            Err(error) => {
                tracing::error!(%error, "handler failed");
                problem_response(&Problem::internal("the request could not be completed"))
            }
        }
    }
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
