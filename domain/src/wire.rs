//! Dates and instants in the JSON of views and read items, written and read without chrono's general
//! machinery: the same text, byte for byte, as chrono's own serde.
//!
//! Why: chrono serialises through `collect_str`, so serde_json's escaper sees the text a character at a
//! time (half of what serialising a debt view cost in issue 16's instruction count), and reads through its
//! general pattern parser. Here the text is written into one string and escaped once; reading tries the
//! plain `YYYY-MM-DD` and RFC 3339 forms first and leaves anything else to chrono, so what is accepted is
//! exactly what chrono accepts.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, Timelike, Utc};
use serde::de::{self, Deserializer, Visitor};
use serde::Serializer;

/// An instant as chrono's serde writes one in UTC: RFC 3339, `Z`, as many fraction digits as it has
/// (0, 3, 6 or 9).
pub fn write_instant<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&instant_text(at))
}

/// A day as chrono's serde writes one: `YYYY-MM-DD` (a sign and more digits outside years 0-9999).
pub fn write_day<S: Serializer>(day: &NaiveDate, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&day_text(day))
}

/// An optional day: `null` or as [`write_day`].
pub fn write_optional_day<S: Serializer>(
    day: &Option<NaiveDate>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match day {
        Some(day) => serializer.serialize_some(day_text(day).as_str()),
        None => serializer.serialize_none(),
    }
}

/// Appends the last `width` (at most 10) decimal digits of `n`, zero-padded: what `{:0width$}` writes for a
/// number of at most `width` digits, without the formatter's machinery (chrono formats every field through
/// it, a thousand instructions per instant).
pub fn zero_padded(text: &mut String, n: u32, width: u32) {
    let mut digits = [b'0'; 10];
    let digits = &mut digits[..(width as usize).min(10)];
    put_digits(digits, n);
    text.push_str(std::str::from_utf8(digits).expect("ASCII digits"));
}

/// Fills `slot` with the last `slot.len()` decimal digits of `n`.
fn put_digits(slot: &mut [u8], mut n: u32) {
    for digit in slot.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// `YYYY-MM-DD` for years 0-9999 into the first ten bytes of `text`, or `false` for another year.
fn put_day(text: &mut [u8], day: &NaiveDate) -> bool {
    let Some(year) = u32::try_from(day.year()).ok().filter(|y| *y <= 9999) else {
        return false;
    };
    put_digits(&mut text[0..4], year);
    put_digits(&mut text[5..7], day.month());
    put_digits(&mut text[8..10], day.day());
    true
}

/// `YYYY-MM-DD` for years 0-9999, written digit by digit; chrono's text for any other.
fn day_text(day: &NaiveDate) -> String {
    let mut text = *b"0000-00-00";
    if !put_day(&mut text, day) {
        return day.to_string();
    }
    String::from_utf8(text.to_vec()).expect("ASCII digits")
}

/// chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)`, written digit by digit for years 0-9999 outside
/// a leap second; chrono's own text for anything else.
fn instant_text(at: &DateTime<Utc>) -> String {
    let mut text = *b"0000-00-00T00:00:00.000000000Z";
    let nanos = at.nanosecond();
    if nanos >= 1_000_000_000 || !put_day(&mut text, &at.date_naive()) {
        return at.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    }
    let seconds = at.num_seconds_from_midnight();
    put_digits(&mut text[11..13], seconds / 3600);
    put_digits(&mut text[14..16], seconds / 60 % 60);
    put_digits(&mut text[17..19], seconds % 60);
    let (fraction, width) = match nanos {
        0 => (0, 0),
        _ if nanos.is_multiple_of(1_000_000) => (nanos / 1_000_000, 3),
        _ if nanos.is_multiple_of(1_000) => (nanos / 1_000, 6),
        _ => (nanos, 9),
    };
    let end = if width == 0 {
        19
    } else {
        put_digits(&mut text[20..20 + width], fraction);
        20 + width
    };
    text[end] = b'Z';
    String::from_utf8(text[..=end].to_vec()).expect("ASCII digits")
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
    if let Some(at) = plain_instant(text) {
        return Ok(at);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .or_else(|_| text.parse())
}

fn parse_day(text: &str) -> Result<NaiveDate, chrono::ParseError> {
    plain_day(text).map_or_else(|| text.parse(), Ok)
}

/// The decimal number in `text[range]` (at most nine digits), when it is there and all digits.
fn digits_at(text: &str, range: std::ops::Range<usize>) -> Option<u32> {
    text.as_bytes().get(range)?.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `YYYY-MM-DD` naming a real day.
fn plain_day(text: &str) -> Option<NaiveDate> {
    let bytes = text.as_bytes();
    if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let (year, month, day) = (
        digits_at(text, 0..4)?,
        digits_at(text, 5..7)?,
        digits_at(text, 8..10)?,
    );
    NaiveDate::from_ymd_opt(year as i32, month, day)
}

/// `YYYY-MM-DDTHH:MM:SS[.F]Z` with 1-9 fraction digits, naming a real instant outside a leap second: the
/// form [`write_instant`] writes; anything else is left to chrono.
fn plain_instant(text: &str) -> Option<DateTime<Utc>> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 || bytes[10] != b'T' || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    let rest = text.get(19..)?.strip_suffix('Z')?;
    let nanos = match rest.strip_prefix('.') {
        None if rest.is_empty() => 0,
        Some(fraction) if (1..=9).contains(&fraction.len()) => {
            digits_at(fraction, 0..fraction.len())? * 10u32.pow(9 - fraction.len() as u32)
        }
        _ => return None,
    };
    let (hour, minute, second) = (
        digits_at(text, 11..13)?,
        digits_at(text, 14..16)?,
        digits_at(text, 17..19)?,
    );
    Some(
        plain_day(text.get(..10)?)?
            .and_hms_nano_opt(hour, minute, second, nanos)?
            .and_utc(),
    )
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

    proptest! {
        #[test]
        fn the_plain_forms_are_read_as_chrono_reads_them(
            day in "[0-9]{4}-[01][0-9]-[0-3][0-9]",
            time in "[0-2][0-9]:[0-6][0-9]:[0-6][0-9](\\.[0-9]{1,10})?Z",
        ) {
            let chronos_day = day.parse::<NaiveDate>().ok();
            prop_assert_eq!(parse_day(&day).ok(), chronos_day);
            let text = format!("{day}T{time}");
            let chronos = DateTime::parse_from_rfc3339(&text)
                .map(|at| at.with_timezone(&Utc))
                .ok()
                .or_else(|| text.parse().ok());
            prop_assert_eq!(parse_instant(&text).ok(), chronos, "{}", text);
        }
    }

    #[test]
    fn a_leap_second_is_written_as_chrono_writes_it() {
        let leap = NaiveDate::from_ymd_opt(2016, 12, 31)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 1_250_000_000)
            .unwrap()
            .and_utc();
        assert_eq!(instant_text(&leap), "2016-12-31T23:59:60.250Z");
        assert_eq!(
            instant_text(&leap),
            leap.to_rfc3339_opts(SecondsFormat::AutoSi, true)
        );
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
