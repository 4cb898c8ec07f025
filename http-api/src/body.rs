//! Request bodies: content type, size and JSON syntax are checked first (415, 413, 400); then each field is
//! parsed into its domain type, collecting every field's error into one 422 so a client fixes all at once.

use lambda_http::{Body, Request};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::problem::{FieldError, Problem};

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

fn is_json_content_type(request: &Request) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|media| {
            let media = media.trim().to_ascii_lowercase();
            media == "application/json"
                || (media.starts_with("application/") && media.ends_with("+json"))
        })
        .unwrap_or(false)
}

/// The request's body as a JSON object, ready for [`Fields`].
pub fn json_object(request: &Request) -> Result<Fields, Problem> {
    let bytes: &[u8] = match request.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::too_large(format!(
            "the body is {} bytes; the limit is {MAX_BODY_BYTES}",
            bytes.len()
        )));
    }
    if !is_json_content_type(request) {
        return Err(Problem::unsupported_media_type(
            "send the body as JSON with Content-Type: application/json",
        ));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::malformed(
            "the body is empty; a JSON object is expected",
        ));
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(Fields::new(map)),
        Ok(_) => Err(Problem::malformed("the body must be a JSON object")),
        Err(e) => Err(Problem::malformed(format!(
            "the body is not valid JSON: {e}"
        ))),
    }
}

/// A required field's value, which can be taken once [`Fields::finish`] has accepted the whole body: the
/// proof that it parsed is in the types, so no handler needs an "accepted but missing" branch.
#[derive(Debug)]
#[must_use = "a required field is read with `take` after `finish`"]
pub struct Required<T>(Option<T>);

/// What [`Fields::finish`] gives when every field parsed and none was unknown; only it makes one.
#[derive(Debug)]
pub struct Accepted(());

impl<T> Required<T> {
    /// The field's value. `finish` accepts a body only when no field was rejected, and
    /// [`Fields::required`] rejects every field it could not parse, so an accepted body's required fields
    /// all hold a value.
    pub fn take(self, _accepted: &Accepted) -> T {
        self.0.expect("an accepted body holds every required field")
    }

    /// The value whether or not the body was accepted (for tests and partial reads).
    pub fn peek(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

/// The fields of a JSON object body, taken one by one; [`Fields::finish`] reports every problem at once.
#[derive(Debug)]
pub struct Fields {
    map: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Self {
        Fields {
            map,
            errors: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Records an error not tied to reading one field (e.g. "nothing to update").
    pub fn reject(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// A field that must be present and non-null; its value is taken after [`Fields::finish`].
    pub fn required<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Required<T> {
        Required(match self.map.remove(name) {
            None | Some(Value::Null) => {
                self.reject(name, "is required");
                None
            }
            Some(value) => self.record(name, parse(&value)),
        })
    }

    /// A field that may be absent: `None` when absent, `Some(value)` when present. A `null` counts as absent
    /// unless the caller's parser accepts it (see [`Fields::nullable`]).
    pub fn optional<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<T> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(value) => self.record(name, parse(&value)),
        }
    }

    /// A field where absent, `null` and a value all differ: `None`, `Some(None)`, `Some(Some(value))`.
    pub fn nullable<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(&Value) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.map.remove(name) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.record(name, parse(&value)).map(Some),
        }
    }

    fn record<T>(&mut self, name: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.reject(name, message);
                None
            }
        }
    }

    /// Fails with a 422 listing every invalid field and every field the endpoint does not know.
    pub fn finish(mut self) -> Result<Accepted, Problem> {
        let unknown: Vec<String> = self.map.keys().cloned().collect();
        for field in unknown {
            self.reject(&field, "is not a known field");
        }
        if self.errors.is_empty() {
            Ok(Accepted(()))
        } else {
            Err(Problem::validation(self.errors))
        }
    }
}

/// Reads a JSON string.
pub fn text(value: &Value) -> Result<&str, String> {
    value.as_str().ok_or_else(|| "must be a string".to_owned())
}

/// Reads an exact decimal from a JSON string (`"12.50"`) or number (`12.5`). A number is read from its
/// shortest round-trip form, which is the digits the client wrote for anything money-sized.
pub fn decimal(value: &Value) -> Result<Decimal, String> {
    let invalid = || "must be a decimal number such as 1234.56".to_owned();
    match value {
        // Exactly as written: digits that do not fit a decimal are refused, never rounded away.
        Value::String(s) => Decimal::from_str_exact(s.trim()).map_err(|_| {
            "must be a decimal number such as 1234.56, with digits that can be stored exactly"
                .to_owned()
        }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Decimal::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(Decimal::from(u))
            } else {
                let f = n.as_f64().ok_or_else(invalid)?;
                format!("{f}").parse::<Decimal>().map_err(|_| invalid())
            }
        }
        _ => Err(invalid()),
    }
}

/// Adapts a domain parser over text (`Username::parse`, ...) to a JSON value parser.
pub fn parsed_text<T, E: std::fmt::Display>(
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| parse(text(value)?).map_err(|e| message_of(&e))
}

/// Adapts a domain parser over decimals (`Money::parse`, ...) to a JSON value parser.
pub fn parsed_decimal<T, E: std::fmt::Display>(
    parse: impl FnOnce(Decimal) -> Result<T, E>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| parse(decimal(value)?).map_err(|e| message_of(&e))
}

/// A domain error's message without its `field: ` prefix (the field is reported beside it).
fn message_of(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    match text.split_once(": ") {
        Some((_, message)) => message.to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(content_type: Option<&str>, body: &str) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/debts");
        if let Some(ct) = content_type {
            builder = builder.header("content-type", ct);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    #[test]
    fn content_type_size_and_syntax_are_checked_in_order() {
        assert_eq!(json_object(&request(None, "{}")).unwrap_err().status, 415);
        assert_eq!(
            json_object(&request(Some("text/plain"), "{}"))
                .unwrap_err()
                .status,
            415
        );
        assert!(json_object(&request(Some("application/json; charset=utf-8"), "{}")).is_ok());
        assert!(json_object(&request(Some("application/merge-patch+json"), "{}")).is_ok());
        let big = format!("{{\"a\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            json_object(&request(Some("application/json"), &big))
                .unwrap_err()
                .status,
            413
        );
        assert_eq!(
            json_object(&request(Some("application/json"), "{"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            json_object(&request(Some("application/json"), "[1]"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            json_object(&request(Some("application/json"), " "))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn every_bad_field_is_reported_together() {
        let mut fields = Fields::new(
            json!({"a": 1, "b": "x", "extra": true})
                .as_object()
                .unwrap()
                .clone(),
        );
        let a = fields.required("a", |v| text(v).map(str::to_owned));
        let b = fields.required("b", |v| text(v).map(str::to_owned));
        let c = fields.required("c", |v| text(v).map(str::to_owned));
        assert_eq!(
            (a.peek(), b.peek().map(String::as_str), c.peek()),
            (None, Some("x"), None)
        );
        let problem = fields.finish().unwrap_err();
        let named: Vec<&str> = problem.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(named, ["a", "c", "extra"]);
        assert_eq!(problem.status, 422);
    }

    #[test]
    fn decimals_come_exactly_from_strings_and_numbers() {
        assert_eq!(decimal(&json!("12.50")).unwrap().to_string(), "12.50");
        assert_eq!(decimal(&json!(12.5)).unwrap().to_string(), "12.5");
        assert_eq!(decimal(&json!(0.1)).unwrap().to_string(), "0.1");
        assert_eq!(
            decimal(&json!(999999999999.99)).unwrap().to_string(),
            "999999999999.99"
        );
        assert_eq!(decimal(&json!(15000)).unwrap().to_string(), "15000");
        assert!(decimal(&json!(true)).is_err());
        assert!(decimal(&json!("1,5")).is_err());
    }

    #[test]
    fn a_decimal_string_with_more_digits_than_fit_is_refused_not_rounded() {
        let refused = decimal(&json!("12.340000000000000000000000000001"));
        assert!(refused.is_err(), "{refused:?}");
        assert!(refused.unwrap_err().contains("exactly"));
        assert!(decimal(&json!("1e-400")).is_err());
        assert_eq!(
            decimal(&json!("12.3400000000000000000000000"))
                .unwrap()
                .to_string(),
            "12.3400000000000000000000000"
        );
    }

    #[test]
    fn nullable_tells_absent_from_null() {
        let mut fields = Fields::new(json!({"creditor": null}).as_object().unwrap().clone());
        assert_eq!(
            fields.nullable("creditor", |v| text(v).map(str::to_owned)),
            Some(None)
        );
        assert_eq!(
            fields.nullable("other", |v| text(v).map(str::to_owned)),
            None
        );
        assert!(fields.finish().is_ok());
    }
}
