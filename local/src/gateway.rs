//! The gateway itself: one HTTP request in, the answer API Gateway plus the route's Lambda function would
//! give out. What API Gateway answers itself comes first (CORS preflights, the route table's 404 and 405, the
//! body's limits, the authorizer's refusals), then the handler runs on the integration event.

use std::sync::Arc;
use std::time::{Duration, Instant};

use api::Handlers;
use auth::Tokens;
use aws_lambda_events::apigw::ApiGatewayRequestAuthorizer;
use axum::response::Response as AxumResponse;
use http::{Method, StatusCode};
use http_api::Problem;
use store::Records;

use crate::answers::{gateway_answer, into_axum, openapi, problem_response, unrouted};
use crate::authorizer::AuthorizerCache;
use crate::cors::Cors;
use crate::event::{integration_event, set_body};
use crate::routes::{match_route, RouteMatch};
use crate::{lambda_request, logging};

/// How long the gateway waits for a request's whole body (API Gateway's integration timeout is 30 s).
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// Largest request body the gateway reads (API Gateway's own limit is 10 MB; handlers refuse over 64 KiB).
const MAX_GATEWAY_BODY: usize = 1024 * 1024;

/// Every handler's dependencies and the authorizer's, built once at start-up.
pub struct Gateway {
    pub handlers: Handlers,
    pub tokens: Tokens,
    /// What the authorizer reads for a token's user (their credentials), as its Lambda reads the table.
    pub accounts: Arc<dyn Records>,
    /// API Gateway's cache of the authorizer's decisions.
    pub authorizer_cache: AuthorizerCache,
    /// API Gateway's per-route throttles (`x-throttle`).
    pub throttles: crate::throttle::Throttles,
    /// The web client's files, served at `/` beside the API (CloudFront's part on AWS).
    pub web: crate::web::WebClient,
}

impl Gateway {
    /// Answers one HTTP request the way API Gateway plus the Lambda functions would.
    pub async fn handle(&self, request: axum::extract::Request) -> AxumResponse {
        let started = Instant::now();
        let method = request.method().clone();
        let path = request.uri().path().to_owned();
        let cors = Cors::of(&request);
        let mut response = if cors == Cors::Preflight {
            Cors::preflight_answer()
        } else {
            self.route(request).await
        };
        cors.add_headers(response.headers_mut());
        tracing::info!(
            target: "access",
            "{} {} -> {} in {:.1} ms",
            method,
            logging::access_path(&path),
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        response
    }

    /// Serves what API Gateway answers itself (the route table), builds the integration event, authorizes a
    /// protected route, reads the body, then hands the event to the route's handler.
    async fn route(&self, request: axum::extract::Request) -> AxumResponse {
        let (parts, body) = request.into_parts();
        let path = parts.uri.path().to_owned();
        if parts.method == Method::GET && path == "/openapi.json" {
            return openapi();
        }
        if parts.method == Method::GET && crate::web::WebClient::serves(&path) {
            return self.web.answer(&path).await;
        }
        let RouteMatch {
            route,
            path_parameters,
        } = match match_route(&parts.method, &path) {
            Ok(found) => found,
            Err(problem) => return unrouted(&problem, &path),
        };
        if !self.throttles.admit(route.key, Instant::now()) {
            return gateway_answer(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
        }
        let mut event = integration_event(parts, route, path_parameters);
        // API Gateway runs the authorizer on the request's identity source before the integration gets the
        // body: a request without a valid token costs no body read.
        if route.protected {
            match self.authorize(route, &event).await {
                Ok(context) => {
                    let mut authorizer = ApiGatewayRequestAuthorizer::default();
                    authorizer.fields = context;
                    event.request_context.authorizer = Some(authorizer);
                }
                Err(answer) => return answer,
            }
        }
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
        set_body(&mut event, &bytes);
        // What the Lambda runtime does with the event's JSON once it has parsed it.
        let Ok(lambda_request) = lambda_request::into_request(event) else {
            return gateway_answer(StatusCode::BAD_REQUEST, "Bad Request");
        };
        match self.handlers.call(route, lambda_request).await {
            Ok(response) => into_axum(response),
            Err(error) => {
                tracing::error!(%error, "handler failed");
                problem_response(&Problem::internal("the request could not be completed"))
            }
        }
    }
}
