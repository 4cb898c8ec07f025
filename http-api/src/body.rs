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

/// How a field's JSON value becomes its domain type: the parsed value, or what is wrong with it (the message
/// of the field's 422 entry).
pub trait Parse<T>: FnOnce(&Value) -> Result<T, String> {}

impl<T, F: FnOnce(&Value) -> Result<T, String>> Parse<T> for F {}

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
    pub fn required<T>(&mut self, name: &str, parse: impl Parse<T>) -> Required<T> {
        Required(match self.map.remove(name) {
            None | Some(Value::Null) => {
                self.reject(name, "is required");
                None
            }
            Some(value) => self.record(name, parse(&value)),
        })
    }

    /// A field that may be absent: `None` when absent, `Some(value)` when present. A `null` is refused (leave
    /// the field out instead): the contract types these fields without `null`, and only [`Fields::nullable`]
    /// gives `null` a meaning.
    pub fn optional<T>(&mut self, name: &str, parse: impl Parse<T>) -> Option<T> {
        match self.map.remove(name) {
            None => None,
            Some(Value::Null) => {
                self.reject(name, "must not be null (leave the field out instead)");
                None
            }
            Some(value) => self.record(name, parse(&value)),
        }
    }

    /// A field where absent, `null` and a value all differ: `None`, `Some(None)`, `Some(Some(value))`.
    pub fn nullable<T>(&mut self, name: &str, parse: impl Parse<T>) -> Option<Option<T>> {
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

/// How many digits a decimal field takes before and after the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digits {
    pub whole: usize,
    pub fraction: usize,
}

impl Digits {
    /// Amounts: up to 999,999,999,999.99 (`Money::MAX`), so 12 digits before the point and 2 after.
    pub const MONEY: Digits = Digits {
        whole: 12,
        fraction: 2,
    };
    /// Rates: 0-100 percent with up to 4 decimal places, so at most 3 digits before the point.
    pub const RATE: Digits = Digits {
        whole: 3,
        fraction: 4,
    };
}

/// Reads an exact decimal from a JSON string (`"12.50"`) or number (`12.5`) by one rule for both: the text
/// as the client wrote it (serde_json's `arbitrary_precision` keeps a number's digits) must be plain digits,
/// 1 to `digits.whole` of them, then optionally a point and 1 to `digits.fraction` more. No sign, exponent,
/// or white space; nothing is rounded. `docs/openapi.json` states the same rule as a pattern.
pub fn decimal(value: &Value, digits: Digits) -> Result<Decimal, String> {
    let refused = || {
        format!(
            "must be a decimal such as 1234.56: at most {} digits before the point and {} after, no sign or exponent",
            digits.whole, digits.fraction
        )
    };
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return Err(refused()),
    };
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let plain =
        |part: &str, max: usize| part.len() <= max && part.bytes().all(|b| b.is_ascii_digit());
    let shaped = !whole.is_empty()
        && plain(whole, digits.whole)
        && plain(fraction, digits.fraction)
        && (!fraction.is_empty() || !text.ends_with('.'));
    if !shaped {
        return Err(refused());
    }
    Decimal::from_str_exact(&text).map_err(|_| refused())
}

/// Adapts a domain parser over text (`Username::parse`, ...) to a JSON value parser.
pub fn parsed_text<T, E: std::fmt::Display>(
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| parse(text(value)?).map_err(|e| message_of(&e))
}

/// Adapts a domain parser over decimals (`Money::parse`, ...) to a JSON value parser.
pub fn parsed_decimal<T, E: std::fmt::Display>(
    digits: Digits,
    parse: impl FnOnce(Decimal) -> Result<T, E>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| parse(decimal(value, digits)?).map_err(|e| message_of(&e))
}

/// Adapts a domain parser over whole numbers (`StatementDay::parse`, ...) to a JSON value parser: the value
/// must be a JSON number whose value is whole, as JSON Schema's `integer` says (`15`, `15.0` and `1.5e1` all
/// are; `"15"` and `15.5` are not).
pub fn parsed_integer<T, E: std::fmt::Display>(
    parse: impl FnOnce(u64) -> Result<T, E>,
) -> impl FnOnce(&Value) -> Result<T, String> {
    move |value| {
        let whole =
            whole_number(value).ok_or_else(|| "must be a whole number such as 15".to_owned())?;
        parse(whole).map_err(|e| message_of(&e))
    }
}

/// A JSON number whose value is a whole number of at most `u64`, however it is spelled (`15`, `15.0`,
/// `1.5e1`), as JSON Schema's `integer` counts it; `None` for anything else.
pub fn whole_number(value: &Value) -> Option<u64> {
    let Value::Number(number) = value else {
        return None;
    };
    let text = number.to_string();
    let exact = Decimal::from_str_exact(&text).or_else(|_| Decimal::from_scientific(&text));
    exact
        .ok()
        .filter(|d| d.fract().is_zero() && !d.is_sign_negative())
        .and_then(|d| u64::try_from(d).ok())
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

    const MONEY: Digits = Digits::MONEY;

    fn read(json_text: &str) -> Result<String, String> {
        let value: Value = serde_json::from_str(json_text).unwrap();
        decimal(&value, MONEY).map(|d| d.to_string())
    }

    #[test]
    fn decimals_come_exactly_from_strings_and_numbers() {
        assert_eq!(read(r#""12.50""#).unwrap(), "12.50");
        assert_eq!(read("12.5").unwrap(), "12.5");
        assert_eq!(read("12.50").unwrap(), "12.50", "a number keeps its digits");
        assert_eq!(read("0.1").unwrap(), "0.1");
        assert_eq!(read("999999999999.99").unwrap(), "999999999999.99");
        assert_eq!(read("15000").unwrap(), "15000");
        assert_eq!(decimal(&json!(0.1), MONEY).unwrap().to_string(), "0.1");
        for refused in [
            "true",
            r#""1,5""#,
            r#""""#,
            r#"" 12.5""#,
            r#""12.""#,
            r#"".5""#,
            r#""+1""#,
            "-1",
            r#""-0""#,
            "1e3",
            r#""1e3""#,
            "1000000000000",
            r#""1000000000000""#,
            r#""0.123""#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn a_decimal_with_more_digits_than_its_field_takes_is_refused_not_rounded() {
        for refused in [
            r#""12.340000000000000000000000000001""#,
            "12.3400000000000001",
            r#""1e-400""#,
            "1e-400",
            r#""12.3400000000000000000000000""#,
        ] {
            let answer = read(refused);
            assert!(answer.is_err(), "{refused}: {answer:?}");
            assert!(answer
                .unwrap_err()
                .contains("at most 12 digits before the point and 2 after"));
        }
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

    #[test]
    fn an_optional_field_may_be_left_out_but_not_null() {
        let mut fields = Fields::new(json!({"creditor": null}).as_object().unwrap().clone());
        assert_eq!(
            fields.optional("creditor", |v| text(v).map(str::to_owned)),
            None
        );
        assert_eq!(
            fields.optional("absent", |v| text(v).map(str::to_owned)),
            None
        );
        let problem = fields.finish().unwrap_err();
        assert_eq!(problem.errors[0].field, "creditor");
        assert!(problem.errors[0].message.contains("must not be null"));
    }
}
