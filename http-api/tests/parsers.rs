//! The request parsers face the internet: whatever arrives, they answer a value or a 4xx problem, never a
//! panic (property tests over arbitrary bodies, values and headers).

use domain::{Email, Money, Username};
use http_api::body::{decimal, json_object, parsed_decimal, parsed_text, Digits};
use http_api::context::{idempotency_key, if_match};
use lambda_http::{Body, Request};
use proptest::prelude::*;
use serde_json::Value;

fn request(content_type: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> Request {
    let mut builder = http::Request::builder().header("content-type", content_type);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::Binary(body)).unwrap()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn refused_or_parsed(request: &Request) -> Result<(), u16> {
    let mut fields = json_object(request).map_err(|p| p.status)?;
    let _username = fields.required("username", parsed_text(Username::parse));
    let _email = fields.optional("email", parsed_text(Email::parse));
    let _amount = fields.optional(
        "principal",
        parsed_decimal(Digits::MONEY, |d| Money::parse("principal", d)),
    );
    fields.finish().map(|_| ()).map_err(|p| p.status)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_as_a_body_are_parsed_or_refused_with_a_4xx(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        if let Err(status) = refused_or_parsed(&request("application/json", bytes, &[])) {
            prop_assert!((400..500).contains(&status), "{status}");
        }
    }

    #[test]
    fn any_json_object_is_parsed_or_refused_with_a_4xx(value in json_value()) {
        let body = serde_json::to_vec(&value).unwrap();
        if let Err(status) = refused_or_parsed(&request("application/json", body, &[])) {
            prop_assert!((400..500).contains(&status), "{status}");
        }
    }

    #[test]
    fn any_json_value_as_a_decimal_is_read_or_refused(value in json_value()) {
        let _ = decimal(&value, Digits::MONEY);
    }

    #[test]
    fn any_idempotency_key_or_if_match_is_read_or_refused_with_a_4xx(raw in "[ -~]{0,300}") {
        let request = request("application/json", Vec::new(), &[("idempotency-key", &raw), ("if-match", &raw)]);
        if let Err(problem) = idempotency_key(&request) {
            prop_assert_eq!(problem.status, 400);
        }
        if let Err(problem) = if_match(&request) {
            prop_assert_eq!(problem.status, 400);
        }
    }
}
