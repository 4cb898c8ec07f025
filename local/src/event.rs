//! The integration event: an HTTP request as API Gateway's HTTP API hands it to a Lambda function (payload
//! format 2.0), with the request context it also sends the authorizer.

use std::collections::HashMap;

use api::Route;
use aws_lambda_events::apigw::{
    ApiGatewayV2httpRequest, ApiGatewayV2httpRequestContext,
    ApiGatewayV2httpRequestContextHttpDescription,
};
use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method};

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

/// The API Gateway HTTP API (payload 2.0) event for a matched request, built as the typed event the Lambda
/// runtime parses (no JSON round trip), without its body: the authorizer decides before the body is read
/// ([`set_body`] adds it).
pub fn integration_event(
    parts: http::request::Parts,
    route: &Route,
    path_parameters: HashMap<String, String>,
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
    event
}

/// The request's body in the event; one that is not UTF-8 travels base64-encoded, as API Gateway sends it.
pub fn set_body(event: &mut ApiGatewayV2httpRequest, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok("") => {}
        Ok(text) => event.body = Some(text.to_owned()),
        Err(_) => {
            use base64::Engine;
            event.body = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
            event.is_base64_encoded = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routes::match_route;
    use serde_json::{json, Value};

    fn event_for(request: http::Request<()>, body: &[u8]) -> Value {
        let (parts, ()) = request.into_parts();
        let found = match_route(&parts.method, parts.uri.path()).expect("a route");
        let mut event = integration_event(parts, found.route, found.path_parameters);
        set_body(&mut event, body);
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
