//! The local gateway: plays API Gateway for the Lambda handlers on one machine. Each HTTP request becomes an
//! API Gateway HTTP API (payload 2.0) event; protected routes go through the authorizer first and carry its
//! context on, exactly as API Gateway passes it; committed events reach the projector from the SQLite change
//! feed, as DynamoDB Streams would deliver them.

pub mod lag;
pub mod lambda_request;
pub mod load;
pub mod log_writer;
pub mod logging;
pub mod projector;
pub mod routes;
pub mod serve;

use std::sync::Arc;

use std::collections::HashMap;
use std::time::{Duration, Instant};
use store::EventStore;

use auth::authorizer::authorize;
use auth::Tokens;
use aws_lambda_events::apigw::{
    ApiGatewayRequestAuthorizer, ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest,
    ApiGatewayV2httpRequestContext, ApiGatewayV2httpRequestContextHttpDescription,
};
use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use chrono::Utc;
use commands::{DebtDeps, ErasureDeps, LoginDeps, UserDeps};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use http_api::Problem;
use lambda_http::Body as LambdaBody;
use queries::QueryDeps;
use serde_json::{json, Value};

use crate::routes::{allowed_methods, match_route, Handler, Route, RouteMatch};

/// The API's OpenAPI 3.1 description, served at `GET /openapi.json`.
pub const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// How long the gateway waits for a request's whole body (API Gateway's integration timeout is 30 s).
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request body the gateway reads (API Gateway's own limit is 10 MB; handlers refuse over 64 KiB).
const MAX_GATEWAY_BODY: usize = 1024 * 1024;

/// Every handler's dependencies, built once at start-up.
pub struct Gateway {
    pub users: UserDeps,
    pub login: LoginDeps,
    pub debts: DebtDeps,
    pub erasure: ErasureDeps,
    pub queries: QueryDeps,
    pub tokens: Tokens,
    /// What the authorizer reads for a token's user (their credentials), as its Lambda reads the table.
    pub accounts: Arc<dyn EventStore>,
    /// API Gateway's cache of the authorizer's decisions.
    pub authorizer_cache: AuthorizerCache,
}

/// The decision API Gateway keeps per identity source: the context passed on, or `None` for a refusal.
type Decision = Option<HashMap<String, Value>>;

/// API Gateway's authorizer cache, mirrored: the authorizer's decision is kept per identity source (the
/// `Authorization` header) for the stack's TTL, so a token that stops being valid (expired, its user erased)
/// can still pass for up to that long, as on AWS. `AUTHORIZER_CACHE_SECS` sets it (default 30, the stack's
/// `AUTHORIZER_CACHE_SECONDS`; 0 asks the authorizer every time).
pub struct AuthorizerCache {
    ttl: Duration,
    decisions: std::sync::Mutex<HashMap<String, (Decision, Instant)>>,
}

impl AuthorizerCache {
    /// Decisions past this many are swept of the expired ones before another is kept.
    const SWEEP_AT: usize = 10_000;

    pub fn new(ttl: Duration) -> Self {
        AuthorizerCache {
            ttl,
            decisions: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub fn from_env() -> Self {
        let seconds = std::env::var("AUTHORIZER_CACHE_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30);
        Self::new(Duration::from_secs(seconds))
    }

    fn get(&self, identity: &str) -> Option<Decision> {
        let decisions = self.lock();
        let (decision, at) = decisions.get(identity)?;
        (at.elapsed() < self.ttl).then(|| decision.clone())
    }

    fn put(&self, identity: &str, decision: Decision) {
        if self.ttl.is_zero() {
            return;
        }
        let mut decisions = self.lock();
        if decisions.len() >= Self::SWEEP_AT {
            decisions.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        decisions.insert(identity.to_owned(), (decision, Instant::now()));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Decision, Instant)>> {
        self.decisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// What API Gateway's CORS configuration (the stack's `cors_configuration`) does with a request: it answers a
/// preflight (an `OPTIONS` with `Origin` and `Access-Control-Request-Method`) itself, adds its headers to the
/// answer to any other request with an `Origin`, and leaves a request without one alone (see
/// docs/architecture.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cors {
    Preflight,
    CrossOrigin,
    SameOrigin,
}

impl Cors {
    fn of(request: &axum::extract::Request) -> Cors {
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
    fn add_headers(self, headers: &mut HeaderMap) {
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

/// API Gateway's answer to a request no route takes: 404, or 405 with the methods the path has.
fn unrouted(problem: &Problem, path: &str) -> AxumResponse {
    let mut response = problem_response(problem);
    if problem.status == 405 {
        if let Ok(value) = HeaderValue::from_str(&allowed_methods(path).join(", ")) {
            response.headers_mut().insert("allow", value);
        }
    }
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

/// The request's headers as API Gateway hands them to an integration: one value per name, repeated headers
/// joined with commas, values that are not visible ASCII left out.
fn combined_headers(headers: HeaderMap) -> HeaderMap {
    let plain =
        headers.keys_len() == headers.len() && headers.values().all(|value| value.to_str().is_ok());
    if plain {
        return headers;
    }
    let mut combined = HeaderMap::with_capacity(headers.keys_len());
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .collect();
        if values.is_empty() {
            continue;
        }
        if let Ok(value) = HeaderValue::from_str(&values.join(",")) {
            combined.insert(name.clone(), value);
        }
    }
    combined
}

/// Payload 2.0's `cookies`: the pairs of every `Cookie` header, in order, taken out of the headers; absent
/// when the request sends none (API Gateway's example events; `lambda_http` joins them back into one
/// `Cookie` header for the handler).
fn take_cookies(headers: &mut HeaderMap) -> Option<Vec<String>> {
    if !headers.contains_key(http::header::COOKIE) {
        return None;
    }
    let cookies = headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(str::to_owned)
        .collect();
    headers.remove(http::header::COOKIE);
    Some(cookies)
}

/// The request context's `time` as API Gateway writes it (`30/Nov/2026:12:52:05 +0000`), written digit by
/// digit: chrono's `format` parses its pattern on every call, and `format!` pads each number through the
/// formatter.
fn request_time(now: chrono::DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut text = String::with_capacity(26);
    domain::wire::zero_padded(&mut text, now.day(), 2);
    text.push('/');
    text.push_str(MONTHS[now.month0() as usize]);
    text.push('/');
    text.push_str(&now.year().to_string());
    for n in [now.hour(), now.minute(), now.second()] {
        text.push(':');
        domain::wire::zero_padded(&mut text, n, 2);
    }
    text.push_str(" +0000");
    text
}

/// The request context API Gateway sends with both the authorizer request and the integration request.
fn request_context(
    method: &Method,
    path: &str,
    route_key: &str,
    headers: &HeaderMap,
) -> ApiGatewayV2httpRequestContext {
    let now = Utc::now();
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let mut http = ApiGatewayV2httpRequestContextHttpDescription::default();
    http.method = method.clone();
    http.path = Some(path.to_owned());
    http.protocol = Some("HTTP/1.1".to_owned());
    http.source_ip = Some("127.0.0.1".to_owned());
    http.user_agent = Some(header("user-agent").unwrap_or("").to_owned());
    let mut context = ApiGatewayV2httpRequestContext::default();
    context.account_id = Some("000000000000".to_owned());
    context.apiid = Some("local".to_owned());
    context.domain_name = Some(header("host").unwrap_or("127.0.0.1").to_owned());
    context.domain_prefix = Some("local".to_owned());
    context.http = http;
    context.request_id = Some(events::ids::random_uuid().to_string());
    context.route_key = Some(route_key.to_owned());
    context.stage = Some("$default".to_owned());
    context.time = Some(request_time(now));
    context.time_epoch = now.timestamp_millis();
    context
}

impl Gateway {
    /// Answers one HTTP request the way API Gateway plus the Lambda functions would.
    pub async fn handle(&self, request: axum::extract::Request) -> AxumResponse {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let cors = Cors::of(&request);
        let mut response = if cors == Cors::Preflight {
            let mut preflight = AxumResponse::new(AxumBody::empty());
            *preflight.status_mut() = StatusCode::NO_CONTENT;
            preflight
        } else {
            self.route(request).await
        };
        cors.add_headers(response.headers_mut());
        tracing::info!(
            target: "access",
            "{} {} -> {} in {:.1} ms",
            method,
            logging::log_safe(&path),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    /// Serves what API Gateway answers itself (the route table), reads the body, builds the
    /// integration event, authorizes a protected route, then hands the event to the route's handler.
    async fn route(&self, request: axum::extract::Request) -> AxumResponse {
        let (parts, body) = request.into_parts();
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
            Err(problem) => return unrouted(&problem, &path),
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
        let mut event = integration_event(parts, &route, path_parameters, &bytes);
        if route.protected {
            match self.authorize(&route, &event).await {
                Ok(context) => {
                    let mut authorizer = ApiGatewayRequestAuthorizer::default();
                    authorizer.fields = context;
                    event.request_context.authorizer = Some(authorizer);
                }
                Err(answer) => return answer,
            }
        }
        // What the Lambda runtime does with the event's JSON once it has parsed it.
        let Ok(lambda_request) = lambda_request::into_request(event) else {
            return gateway_answer(StatusCode::BAD_REQUEST, "Bad Request");
        };
        match self.dispatch(route.handler, lambda_request).await {
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
        event: &ApiGatewayV2httpRequest,
    ) -> Result<HashMap<String, Value>, AxumResponse> {
        let identity = event
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .filter(|value| !value.is_empty());
        let Some(identity) = identity else {
            return Err(gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"));
        };
        let decision = match self.authorizer_cache.get(identity) {
            Some(cached) => cached,
            None => {
                let decision = self.ask_authorizer(route, event, identity).await;
                self.authorizer_cache.put(identity, decision.clone());
                decision
            }
        };
        decision.ok_or_else(|| gateway_answer(StatusCode::FORBIDDEN, "Forbidden"))
    }

    /// The authorizer Lambda's decision on the request, called with the `REQUEST` event API Gateway builds.
    async fn ask_authorizer(
        &self,
        route: &Route,
        event: &ApiGatewayV2httpRequest,
        identity: &str,
    ) -> Decision {
        let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
        request.version = event.version.clone();
        request.type_ = Some("REQUEST".to_owned());
        request.route_arn = Some(format!(
            "arn:aws:execute-api:local:000000000000:local/$default/{}{}",
            route.method, route.template
        ));
        request.identity_source = Some(vec![identity.to_owned()]);
        request.route_key.clone_from(&event.route_key);
        request.raw_path.clone_from(&event.raw_path);
        request.raw_query_string.clone_from(&event.raw_query_string);
        request.headers = event.headers.clone();
        request.query_string_parameters = event
            .query_string_parameters
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        request.request_context = event.request_context.clone();
        request.path_parameters.clone_from(&event.path_parameters);
        let decision = authorize(&request, &self.tokens, self.accounts.as_ref()).await;
        if !decision.is_authorized {
            return None;
        }
        match decision.context {
            Value::Object(fields) => Some(fields.into_iter().collect()),
            _ => Some(HashMap::new()),
        }
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
            Handler::EraseUser => commands::erase_user(request, &self.erasure).await,
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

/// The API Gateway HTTP API (payload 2.0) event for a matched request, built as the typed event the Lambda
/// runtime parses (no JSON round trip); a body that is not UTF-8 travels base64-encoded, as API Gateway sends
/// it.
fn integration_event(
    parts: http::request::Parts,
    route: &Route,
    path_parameters: HashMap<String, String>,
    bytes: &[u8],
) -> ApiGatewayV2httpRequest {
    let http::request::Parts {
        method,
        uri,
        mut headers,
        ..
    } = parts;
    let path = uri.path();
    let raw_query = uri.query().unwrap_or("");
    let route_key = route.key.to_owned();
    let mut event = ApiGatewayV2httpRequest::default();
    event.version = Some("2.0".to_owned());
    event.raw_path = Some(path.to_owned());
    event.raw_query_string = Some(raw_query.to_owned());
    if !raw_query.is_empty() {
        event.query_string_parameters = raw_query.parse().unwrap_or_default();
    }
    event.path_parameters = path_parameters;
    event.request_context = request_context(&method, path, &route_key, &headers);
    event.route_key = Some(route_key);
    event.cookies = take_cookies(&mut headers);
    event.headers = combined_headers(headers);
    match std::str::from_utf8(bytes) {
        Ok("") => {}
        Ok(text) => event.body = Some(text.to_owned()),
        Err(_) => {
            use base64::Engine;
            event.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
            event.is_base64_encoded = true;
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

#[cfg(test)]
mod authorizer_cache_tests {
    use super::*;

    #[test]
    fn a_decision_is_kept_for_the_ttl_and_none_without_one() {
        let cache = AuthorizerCache::new(Duration::from_secs(1));
        let allowed: Decision = Some(HashMap::from([("username".to_owned(), Value::from("ada"))]));
        cache.put("Bearer a", allowed.clone());
        cache.put("Bearer b", None);
        assert_eq!(cache.get("Bearer a"), Some(allowed));
        assert_eq!(cache.get("Bearer b"), Some(None), "a refusal is kept too");
        assert_eq!(cache.get("Bearer c"), None);
        std::thread::sleep(Duration::from_millis(1100));
        assert_eq!(
            cache.get("Bearer a"),
            None,
            "past the TTL the authorizer is asked again"
        );
        let uncached = AuthorizerCache::new(Duration::ZERO);
        uncached.put("Bearer a", None);
        assert_eq!(uncached.get("Bearer a"), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event_for(request: http::Request<()>, body: &[u8]) -> Value {
        let (parts, ()) = request.into_parts();
        let found = match_route(&parts.method, parts.uri.path()).expect("a route");
        let event = integration_event(parts, &found.route, found.path_parameters, body);
        serde_json::to_value(event).expect("events serialise")
    }

    #[test]
    fn the_integration_event_has_api_gateways_payload_2_shape() {
        let request = http::Request::builder()
            .method("PUT")
            .uri("/debts/abc?x=1&x=2")
            .header("host", "127.0.0.1:3000")
            .header("accept", "text/csv")
            .header("accept", "application/json")
            .body(())
            .unwrap();
        let event = event_for(request, br#"{"debt_name":"Car"}"#);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "PUT /debts/{debt_id}");
        assert_eq!(event["rawPath"], "/debts/abc");
        assert_eq!(event["rawQueryString"], "x=1&x=2");
        assert_eq!(event["queryStringParameters"], json!({"x": "1,2"}));
        assert_eq!(event["pathParameters"], json!({"debt_id": "abc"}));
        assert_eq!(event["headers"]["accept"], "text/csv,application/json");
        assert_eq!(event["requestContext"]["http"]["method"], "PUT");
        assert_eq!(event["requestContext"]["routeKey"], "PUT /debts/{debt_id}");
        assert_eq!(event["requestContext"]["domainName"], "127.0.0.1:3000");
        assert_eq!(event["requestContext"]["stage"], "$default");
        assert_eq!(event["body"], r#"{"debt_name":"Car"}"#);
        assert_eq!(event["isBase64Encoded"], false);
    }

    #[test]
    fn cookies_travel_in_the_cookies_field_and_only_when_sent() {
        let request = http::Request::builder()
            .method("GET")
            .uri("/healthz")
            .header("cookie", "a=1; b=2")
            .header("cookie", "c=3")
            .body(())
            .unwrap();
        let event = event_for(request, b"");
        assert_eq!(event["cookies"], json!(["a=1", "b=2", "c=3"]));
        assert_eq!(event["headers"].get("cookie"), None);
        let plain = http::Request::builder().uri("/healthz").body(()).unwrap();
        assert_eq!(event_for(plain, b"").get("cookies"), None);
    }

    #[test]
    fn the_request_time_is_written_as_api_gateway_writes_it() {
        for instant in [
            "2026-11-30T12:52:05Z",
            "2027-01-02T03:04:05.999Z",
            "2031-12-09T23:59:59Z",
        ] {
            let now: chrono::DateTime<Utc> = instant.parse().unwrap();
            assert_eq!(
                request_time(now),
                now.format("%d/%b/%Y:%H:%M:%S %z").to_string()
            );
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_travels_base64_encoded() {
        let request = http::Request::builder()
            .method("POST")
            .uri("/debts")
            .body(())
            .unwrap();
        let event = event_for(request, &[0xff, 0xfe]);
        assert_eq!(event["body"], "//4=");
        assert_eq!(event["isBase64Encoded"], true);
    }
}
