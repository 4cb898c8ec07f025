//! What the Lambda runtime makes of an API Gateway HTTP API event: the `lambda_http::Request` a handler gets,
//! equal to `lambda_http`'s own conversion. That conversion writes `https://{Host}{rawPath}` and runs it
//! through the `url` crate's parser and back to text, to normalise it (IDNA, IPv4 forms, the default port,
//! dot segments, percent-encoding): a tenth of the local gateway's instructions per request (issue 16). A
//! request whose host and path are already in that normal form becomes the same request here without the
//! parse; any other goes through `lambda_http` itself. A property test holds the two equal.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_http::{Body, RequestExt};

/// A request whose URL `lambda_http` cannot write: its conversion would panic on it.
#[derive(Debug, thiserror::Error)]
pub enum NoUrl {
    /// The URL parser refuses the host or scheme.
    #[error("the request's host and scheme make no URL: {0}")]
    Url(#[from] url::ParseError),
    /// The URL parser keeps it, but `http::Uri` refuses its text (`{`, `}`, `"` or a backtick in the host, a
    /// scheme over 64 bytes).
    #[error("the request's URL is no URI: {0}")]
    Uri(#[from] http::uri::InvalidUri),
}

/// The handler's request for `event`, as `lambda_http` converts it, or [`NoUrl`] where that conversion would
/// panic (a `Host` or `X-Forwarded-Proto` no URL can carry: on AWS such a request never gets past API
/// Gateway).
pub fn into_request(event: ApiGatewayV2httpRequest) -> Result<lambda_http::Request, NoUrl> {
    match normal_uri(&event) {
        Some(uri) => Ok(assemble(event, uri)),
        None => {
            let url = url::Url::parse(&lambda_http_url(&event))?;
            // `lambda_http` builds an `http::Uri` from the parser's text and panics if it cannot.
            url.as_str().parse::<http::Uri>()?;
            Ok(lambda_http::Request::from(LambdaRequest::ApiGatewayV2(
                event,
            )))
        }
    }
}

/// The text `lambda_http` hands the URL parser for `event` (its `build_request_uri`, without the query).
fn lambda_http_url(event: &ApiGatewayV2httpRequest) -> String {
    let raw_path = event.raw_path.as_deref().unwrap_or("");
    let path = match event.request_context.stage.as_deref() {
        _ if std::env::var_os("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH").is_some() => raw_path.into(),
        None | Some("$default") => raw_path.into(),
        Some(stage) if raw_path.starts_with(&format!("/{stage}/")) => raw_path.into(),
        Some(stage) => format!("/{stage}{raw_path}"),
    };
    let header = |name| event.headers.get(name).and_then(|v| v.to_str().ok());
    match header(http::header::HOST.as_str()).or(event.request_context.domain_name.as_deref()) {
        None => format!("http://localhost{path}"),
        Some(host) => format!(
            "{}://{host}{path}",
            header("x-forwarded-proto").unwrap_or("https")
        ),
    }
}

/// The request's URI text when `url` would hand its parts back unchanged: the `$default` stage (no stage
/// prefix), no `X-Forwarded-Proto` (the scheme is `https`), a host of lower-case ASCII labels or a dotted
/// quad, a port other than https's own, and a path of plain characters without dot segments.
fn normal_uri(event: &ApiGatewayV2httpRequest) -> Option<String> {
    if !matches!(
        event.request_context.stage.as_deref(),
        None | Some("$default")
    ) || event.headers.contains_key("x-forwarded-proto")
    {
        return None;
    }
    let host = match event.headers.get(http::header::HOST) {
        Some(value) => value.to_str().ok(),
        None => event.request_context.domain_name.as_deref(),
    }?;
    let path = event.raw_path.as_deref()?;
    if !(normal_host(host) && normal_path(path)) {
        return None;
    }
    let query = event.raw_query_string.as_deref().unwrap_or("");
    let mut uri = String::with_capacity(8 + host.len() + path.len() + 1 + query.len());
    uri.push_str("https://");
    uri.push_str(host);
    uri.push_str(path);
    if !query.is_empty() {
        uri.push('?');
        uri.push_str(query);
    }
    Some(uri)
}

/// `name[:port]` that the URL parser keeps as written: labels of `a-z`, `0-9` and `-` (none empty, none
/// an IDNA `xn--` label), a last label that is not a number (else it is an IPv4 address, kept only as a
/// plain dotted quad), and a port of 1-65535 without leading zeros, other than 443. One pass over the bytes
/// (`str::split` was a sixth of the conversion).
fn normal_host(host: &str) -> bool {
    let (name, port) = match host.as_bytes().iter().position(|&b| b == b':') {
        Some(colon) => (&host[..colon], Some(&host[colon + 1..])),
        None => (host, None),
    };
    let port_ok = port.is_none_or(|port| {
        !port.starts_with('0')
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|n| n != 443)
    });
    let (mut label_start, mut labels_ok) = (0, !name.is_empty());
    for (at, b) in name.bytes().enumerate() {
        if b == b'.' {
            labels_ok &= at > label_start && !name[label_start..].starts_with("xn--");
            label_start = at + 1;
        } else {
            labels_ok &= b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        }
    }
    let last = &name[label_start..];
    labels_ok &= !last.is_empty() && !last.starts_with("xn--");
    let numeric = last.bytes().all(|b| b.is_ascii_digit()) || last.starts_with("0x");
    port_ok && labels_ok && (!numeric || dotted_quad(name))
}

/// Four decimal numbers 0-255 without leading zeros: an IPv4 address as the URL parser writes one.
fn dotted_quad(name: &str) -> bool {
    let mut parts = 0;
    let all_ok = name.split('.').all(|part| {
        parts += 1;
        (part.len() == 1 || !part.starts_with('0'))
            && part.len() <= 3
            && part.bytes().all(|b| b.is_ascii_digit())
            && part.parse::<u8>().is_ok()
    });
    all_ok && parts == 4
}

/// An absolute path of unreserved characters, sub-delimiters, `:` and `@` (nothing the parser escapes, no
/// `%` escape it could decode, no `\` it reads as `/`), with no `.` or `..` segment for it to resolve.
fn normal_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    let plain = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'/' | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b':'
                    | b'@'
            )
    };
    // A dot segment is a `.` or `..` between slashes (or before the end).
    let dot_segment = |at: usize| {
        let rest = &bytes[at + 1..];
        let dots = rest.iter().take_while(|&&b| b == b'.').count();
        (1..=2).contains(&dots) && rest.get(dots).is_none_or(|&b| b == b'/')
    };
    bytes.first() == Some(&b'/')
        && bytes.iter().all(|&b| plain(b))
        && !bytes
            .iter()
            .enumerate()
            .any(|(at, &b)| b == b'/' && dot_segment(at))
}

/// `lambda_http`'s request for `event`, with `uri` for the URI it would have written.
fn assemble(event: ApiGatewayV2httpRequest, uri: String) -> lambda_http::Request {
    let method = event.request_context.http.method.clone();
    let raw_path = event.raw_path.unwrap_or_default();
    // As `lambda_http`: the raw query string, not API Gateway's comma-joined parameters.
    let query = match &event.raw_query_string {
        Some(query) => query.parse().unwrap_or_default(),
        None => event.query_string_parameters,
    };
    let mut headers = event.headers;
    if let Some(cookies) = event.cookies {
        if let Ok(value) = http::HeaderValue::from_str(&cookies.join("; ")) {
            headers.insert(http::header::COOKIE, value);
        }
    }
    let body = event.body.as_deref().map_or_else(Body::default, |body| {
        Body::from_maybe_encoded(event.is_base64_encoded, body)
    });
    let mut request = http::Request::builder()
        .uri(uri)
        .body(body)
        .expect("a URI lambda_http would have built")
        .with_raw_http_path(raw_path)
        .with_query_string_parameters(query)
        .with_path_parameters(event.path_parameters)
        .with_stage_variables(event.stage_variables)
        .with_request_context(RequestContext::ApiGatewayV2(event.request_context));
    *request.headers_mut() = headers;
    *request.method_mut() = method;
    request
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every part of the handler's request: the same ones `lambda_http`'s extension methods read.
    fn assert_same(ours: &lambda_http::Request, theirs: &lambda_http::Request) {
        assert_eq!(ours.method(), theirs.method());
        assert_eq!(ours.uri().to_string(), theirs.uri().to_string());
        assert_eq!(ours.headers(), theirs.headers());
        assert_eq!(format!("{:?}", ours.body()), format!("{:?}", theirs.body()));
        assert_eq!(ours.raw_http_path(), theirs.raw_http_path());
        assert_eq!(
            ours.query_string_parameters(),
            theirs.query_string_parameters()
        );
        assert_eq!(ours.path_parameters(), theirs.path_parameters());
        assert_eq!(ours.stage_variables(), theirs.stage_variables());
        let context = |r: &lambda_http::Request| serde_json::to_value(r.request_context()).unwrap();
        assert_eq!(context(ours), context(theirs));
    }

    fn event(host: Option<&str>, path: &str, query: &str, stage: &str) -> ApiGatewayV2httpRequest {
        let mut event = ApiGatewayV2httpRequest::default();
        event.raw_path = Some(path.to_owned());
        event.raw_query_string = Some(query.to_owned());
        event.cookies = Some(Vec::new());
        event.request_context.http.method = http::Method::PUT;
        event.request_context.stage = Some(stage.to_owned());
        event.request_context.domain_name = Some("api.example.com".to_owned());
        event.request_context.route_key = Some("PUT /debts/{debt_id}".to_owned());
        if let Some(host) = host {
            event.headers.insert("host", host.parse().unwrap());
        }
        event
            .headers
            .insert("authorization", "Bearer x".parse().unwrap());
        event
            .path_parameters
            .insert("debt_id".to_owned(), "abc".to_owned());
        event.body = Some(r#"{"debt_name":"Car"}"#.to_owned());
        event
    }

    /// `lambda_http`'s request, or `None` where it panics (a host its URL parser refuses).
    fn theirs(event: &ApiGatewayV2httpRequest) -> Option<lambda_http::Request> {
        let event = event.clone();
        std::panic::catch_unwind(|| lambda_http::Request::from(LambdaRequest::ApiGatewayV2(event)))
            .ok()
    }

    fn host() -> impl Strategy<Value = String> {
        let port = prop_oneof![
            Just(String::new()),
            (0u32..70_000).prop_map(|n| format!(":{n}")),
            Just(":443".to_owned()),
            Just(":080".to_owned()),
            Just(":".to_owned()),
        ];
        let name = prop_oneof![
            "[a-z0-9-]{1,8}(\\.[a-z0-9-]{1,8}){0,3}",
            "[A-Za-z0-9_.-]{1,16}",
            "xn--[a-z0-9]{1,6}\\.example|example\\.xn--[a-z0-9]{1,6}",
            (0u32..300, 0u32..300, 0u32..300, 0u32..300)
                .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
            "0[0-9]{1,2}\\.0\\.0\\.1|0x7f\\.1|127\\.1|1\\.2\\.3|0x7f000001|a\\.0x1|0x|1e3",
            // Characters the URL parser keeps in a host but `http::Uri` refuses (issue 30, finding 12).
            "[a-z]{0,3}[{}\"`|^][a-z]{0,3}",
        ];
        (name, port).prop_map(|(name, port)| name + &port)
    }

    fn path() -> impl Strategy<Value = String> {
        prop_oneof![
            "(/[a-z0-9-]{1,12}){1,4}/?",
            "(/[A-Za-z0-9._~!$&'()*+,;=:@%-]{0,6}){1,4}",
            "(/(\\.|\\.\\.|%2e|[a-z]{1,3})){1,4}",
            "(/[ a-zé\"<>`{}|^\\\\#\\[\\]]{1,4}){1,3}",
            "[a-z/]{0,6}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Whatever the host, path, query and forwarded scheme, the request is `lambda_http`'s, and exactly
        /// the events it would panic on are refused.
        #[test]
        fn the_request_is_lambda_https_own(
            host in proptest::option::of(host()),
            path in path(),
            query in "([a-z%=&+]{0,12})",
            stage in prop_oneof![Just("$default"), Just("prod")],
            scheme in proptest::option::of("https|http|[a-z +]{1,6}|[a-z]{60,70}"),
            cookies in proptest::option::of(proptest::collection::vec("[a-z]{1,3}=[a-z0-9]{0,3}", 0..3)),
        ) {
            let mut event = event(host.as_deref(), &path, &query, stage);
            event.cookies = cookies;
            if let Some(scheme) = &scheme {
                event.headers.insert("x-forwarded-proto", scheme.parse().unwrap());
            }
            match theirs(&event) {
                Some(theirs) => assert_same(&into_request(event).unwrap(), &theirs),
                None => prop_assert!(into_request(event).is_err(), "{host:?} {path}"),
            }
        }
    }

    #[test]
    fn the_gateways_own_requests_take_the_shortcut() {
        for (host, path) in [
            (
                "127.0.0.1:3000",
                "/debts/0b6f0a8e-3f7c-4c4e-9d59-7c1f6a1b2c3d",
            ),
            ("localhost:3000", "/users/ada/summary"),
            ("abc123.execute-api.eu-west-1.amazonaws.com", "/debts"),
        ] {
            let event = event(Some(host), path, "", "$default");
            assert!(normal_uri(&event).is_some(), "{host}{path}");
            assert_same(
                &into_request(event.clone()).unwrap(),
                &theirs(&event).unwrap(),
            );
        }
        for (host, path) in [
            ("LOCALHOST:3000", "/debts"),
            ("127.0.0.1:443", "/debts"),
            ("127.1:3000", "/debts"),
            ("localhost", "/debts/../users"),
            ("localhost", "/users/%61da"),
        ] {
            assert!(
                normal_uri(&event(Some(host), path, "", "$default")).is_none(),
                "{host}{path}"
            );
        }
    }
}
