//! Dates and instants in the JSON of views and read items, written and read without chrono's general
//! machinery: the same text, byte for byte, as chrono's own serde.
//!
//! Why: chrono serialises through `collect_str`, so serde_json's escaper sees the text a character at a
//! time (half of what serialising a debt view cost in issue 16's instruction count), and reads through its
//! general pattern parser. Here the text is written into one string and escaped once; reading tries the
//! plain `YYYY-MM-DD` and RFC 3339 forms first and leaves anything else to chrono, so what is accepted is
//! exactly what chrono accepts.

use std::fmt;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// An instant as chrono's serde writes one in UTC: RFC 3339, `Z`, as many fraction digits as it has
/// (0, 3, 6 or 9).
pub fn write_instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// A day as chrono's serde writes one: `YYYY-MM-DD` (a sign and more digits outside years 0-9999).
pub fn write_day<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&day.to_string())
}

/// An optional day: `null` or as [`write_day`].
pub fn write_optional_day<S: Serializer>(
    day: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match day {
        Some(day) => serializer.serialize_some(day.to_string().as_str()),
        None => serializer.serialize_none(),
    }
}

/// An instant written by [`write_instant`] (or anything else chrono's serde reads).
pub fn read_instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(TextVisitor(parse_instant))
}

/// A day written by [`write_day`] (or anything else chrono's serde reads).
pub fn read_day<'de, D: Deserializer<'de>>(deserializer: D) -> Result<NaiveDate, D::Error> {
    deserializer.deserialize_str(TextVisitor(parse_day))
}

/// An optional day: `null`, absent (with `#[serde(default)]`) or as [`read_day`].
pub fn read_optional_day<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    deserializer.deserialize_option(OptionalDay)
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| text.parse())
}

fn parse_day(text: &str) -> Result<NaiveDate, chrono::ParseError> {
    let plain = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    let bytes = text.as_bytes();
    if bytes.len() == 10 && bytes[4] == b'-' && bytes[7] == b'-' {
        if let (Some(year), Some(month), Some(day)) = (plain(0..4), plain(5..7), plain(8..10)) {
            if let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day) {
                return Ok(date);
            }
        }
    }
    text.parse()
}

struct TextVisitor<T>(fn(&str) -> Result<T, chrono::ParseError>);

impl<T> Visitor<'_> for TextVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a date or an instant as text")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<T, E> {
        (self.0)(text).map_err(E::custom)
    }
}

struct OptionalDay;

impl<'de> Visitor<'de> for OptionalDay {
    type Value = Option<NaiveDate>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a date as text, or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        read_day(deserializer).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Ours {
        #[serde(serialize_with = "write_instant", deserialize_with = "read_instant")]
        at: DateTime<Utc>,
        #[serde(serialize_with = "write_day", deserialize_with = "read_day")]
        day: NaiveDate,
        #[serde(
            default,
            serialize_with = "write_optional_day",
            deserialize_with = "read_optional_day"
        )]
        maybe: Option<NaiveDate>,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Chronos {
        at: DateTime<Utc>,
        day: NaiveDate,
        #[serde(default)]
        maybe: Option<NaiveDate>,
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Whole seconds, milliseconds, microseconds and nanoseconds, across and beyond years 0-9999.
        (
            -300_000_000_000i64..300_000_000_000,
            prop_oneof![
                Just(0u32),
                (0u32..1000).prop_map(|ms| ms * 1_000_000),
                (0u32..1_000_000).prop_map(|us| us * 1000),
                0u32..1_000_000_000
            ],
        )
            .prop_map(|(seconds, nanos)| Utc.timestamp_opt(seconds, nanos).unwrap())
    }

    proptest! {
        #[test]
        fn written_as_chrono_writes_and_read_back(at in instant(), other in instant(), none in any::<bool>()) {
            let day = other.date_naive();
            let maybe = (!none).then_some(day);
            let ours = serde_json::to_string(&Ours { at, day, maybe }).unwrap();
            let chronos = serde_json::to_string(&Chronos { at, day, maybe }).unwrap();
            prop_assert_eq!(&ours, &chronos);
            prop_assert_eq!(serde_json::from_str::<Ours>(&ours).unwrap(), Ours { at, day, maybe });
            let value = serde_json::from_str::<serde_json::Value>(&ours).unwrap();
            prop_assert_eq!(serde_json::from_value::<Ours>(value).unwrap(), Ours { at, day, maybe });
        }
    }

    #[test]
    fn what_chrono_reads_beyond_the_plain_forms_is_read_too() {
        for (at, day) in [
            ("2026-11-30T12:00:00+01:00", "+12345-01-02"),
            ("2026-11-30 11:00:00Z", "2026-1-2"),
            ("2026-11-30T11:00:00.5Z", "-0001-12-31"),
        ] {
            let text = format!(r#"{{"at":"{at}","day":"{day}","maybe":null}}"#);
            let chronos: Chronos = serde_json::from_str(&text).unwrap();
            let ours: Ours = serde_json::from_str(&text).unwrap();
            assert_eq!(
                (ours.at, ours.day, ours.maybe),
                (chronos.at, chronos.day, None)
            );
        }
        for refused in [
            r#"{"at":"yesterday","day":"2026-01-02"}"#,
            r#"{"at":"2026-11-30T11:00:00Z","day":"2026-02-30"}"#,
            r#"{"at":"2026-11-30T11:00:00Z","day":"2026-01-02","maybe":"soon"}"#,
        ] {
            assert!(serde_json::from_str::<Chronos>(refused).is_err());
            assert!(serde_json::from_str::<Ours>(refused).is_err(), "{refused}");
        }
    }
}
