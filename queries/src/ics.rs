//! Writing iCalendar (RFC 5545) text: content lines folded at 75 octets, TEXT values escaped, dates and UTC
//! date-times in their basic formats. Only what the calendar feed writes.

use chrono::{DateTime, NaiveDate, Utc};

/// The most octets of one line, line break excluded (RFC 5545 section 3.1).
const LINE_OCTETS: usize = 75;

/// A TEXT value with its backslashes, semicolons, commas and line breaks escaped (section 3.3.11).
pub fn text(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            ';' => escaped.push_str("\\;"),
            ',' => escaped.push_str("\\,"),
            '\n' => escaped.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

/// A DATE value: `20261222`.
pub fn date(day: NaiveDate) -> String {
    day.format("%Y%m%d").to_string()
}

/// A DATE-TIME value in UTC: `20261205T103700Z`.
pub fn utc(instant: DateTime<Utc>) -> String {
    instant.format("%Y%m%dT%H%M%SZ").to_string()
}

/// An iCalendar object being written: content lines, each folded and ended with CRLF.
#[derive(Default)]
pub struct Writer {
    out: String,
}

impl Writer {
    /// Appends `name:value` (the value already escaped where it is TEXT), folded so that no line is longer
    /// than 75 octets: a longer one continues on lines that begin with a space, split between characters,
    /// never inside one.
    pub fn line(&mut self, name: &str, value: &str) {
        let line = format!("{name}:{value}");
        let mut width = 0;
        for c in line.chars() {
            if width + c.len_utf8() > LINE_OCTETS {
                self.out.push_str("\r\n ");
                width = 1;
            }
            self.out.push(c);
            width += c.len_utf8();
        }
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_fold_at_75_octets_between_characters() {
        let mut writer = Writer::default();
        let summary = format!("{}€ and more", "x".repeat(70));
        writer.line("SUMMARY", &text(&summary));
        writer.line("UID", "short");
        let out = writer.finish();
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert!(lines.iter().all(|l| l.len() <= 75), "{lines:?}");
        assert!(lines[1].starts_with(' '));
        // Unfolded, the value is whole again, and the euro sign was not cut.
        assert_eq!(
            out.replace("\r\n ", ""),
            format!("SUMMARY:{summary}\r\nUID:short\r\n")
        );
    }

    #[test]
    fn text_values_are_escaped() {
        assert_eq!(text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2026, 12, 22).unwrap()),
            "20261222"
        );
    }
}
