//! Value types that parse raw request data: each constructor rejects bad input, so a value that exists is
//! valid and nothing downstream checks it again.

use chrono::{DateTime, Datelike, NaiveDate};
use rust_decimal::Decimal;
use thiserror::Error;

pub use events::{ChargeKind, InterestMethod, PaymentFrequency, RateKind};

/// Why a field's value was refused; `field` is the request field's name, for per-field error reports.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{field}: {message}")]
pub struct ValidationError {
    pub field: &'static str,
    pub message: String,
}

impl ValidationError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        ValidationError {
            field,
            message: message.into(),
        }
    }
}

/// Free text (names, creditors): at most `max_chars` characters as sent, no control characters, not blank;
/// kept without its surrounding white space. Counting before trimming keeps the rule one a JSON Schema can
/// state (`maxLength` plus a pattern), so the published contract and this parser agree exactly.
fn trimmed_text(
    field: &'static str,
    raw: &str,
    max_chars: usize,
) -> Result<String, ValidationError> {
    let chars = raw.chars().count();
    if chars > max_chars {
        return Err(ValidationError::new(
            field,
            format!("must be at most {max_chars} characters (got {chars})"),
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err(ValidationError::new(
            field,
            "must not contain control characters",
        ));
    }
    let text = raw.trim();
    if text.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    Ok(text.to_owned())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, trimmed $field:literal, at most $max:literal chars) => {
        text_value!($(#[$doc])* $name);

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, ValidationError> {
                trimmed_text($field, raw, $max).map($name)
            }
        }
    };
}

text_value!(
    /// 3-32 characters of `[a-z0-9_.-]`, case-folded: `Alice` and `alice` are the same user.
    Username
);
text_value!(
    /// An email address, trimmed, at most 254 characters, kept as typed; [`Email::normalized`] is the
    /// case-insensitive form that makes addresses unique.
    Email
);
text_value!(
    /// A person's name, 1-100 characters after trimming.
    FullName, trimmed "full_name", at most 100 chars
);
text_value!(
    /// A debt's name, 1-100 characters after trimming.
    DebtName, trimmed "debt_name", at most 100 chars
);
text_value!(
    /// Who is owed, 1-100 characters after trimming.
    Creditor, trimmed "creditor", at most 100 chars
);
text_value!(
    /// A free-text remark on a payment or a charge, 1-500 characters after trimming.
    Note, trimmed "note", at most 500 chars
);

impl Username {
    /// 3-32 of `A-Z a-z 0-9 _ . -` exactly as sent, then folded to lower case.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "username";
        let len = raw.chars().count();
        if !(3..=32).contains(&len) {
            return Err(ValidationError::new(FIELD, "must be 3-32 characters"));
        }
        if let Some(bad) = raw
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')))
        {
            return Err(ValidationError::new(
                FIELD,
                format!("may contain only a-z, 0-9, '_', '.' and '-' (found {bad:?})"),
            ));
        }
        Ok(Username(raw.to_ascii_lowercase()))
    }
}

impl Email {
    /// `local@domain`, exactly as sent, at most 254 characters: a local part of 1-64 characters with no `@`,
    /// white space or control character, and a domain of two or more dot-separated labels of ASCII letters,
    /// digits and `-` (an internationalised domain is sent in its `xn--` form).
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "email";
        let invalid =
            || ValidationError::new(FIELD, "must be an email address like name@example.com");
        if raw.chars().count() > 254 {
            return Err(ValidationError::new(
                FIELD,
                "must be at most 254 characters",
            ));
        }
        let (local, domain) = raw.split_once('@').ok_or_else(invalid)?;
        let local_ok = (1..=64).contains(&local.chars().count())
            && !local
                .chars()
                .any(|c| c == '@' || c.is_whitespace() || c.is_control());
        let mut labels = domain.split('.');
        let domain_ok = domain.contains('.')
            && labels.all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !(local_ok && domain_ok) {
            return Err(invalid());
        }
        Ok(Email(raw.to_owned()))
    }

    /// The form emails are compared in: lower-cased, so one address cannot register twice in two spellings.
    pub fn normalized(&self) -> String {
        Self::normalize_stored(&self.0)
    }

    /// [`Email::normalized`] of an address as stored, whether or not today's parser would accept it: an
    /// address an earlier, looser parser registered still has its reservation under this form.
    pub fn normalize_stored(raw: &str) -> String {
        raw.to_lowercase()
    }
}

/// An amount of money: zero or more, at most 2 decimal places, below one trillion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    /// Larger than any personal debt; keeps sums of many debts far from `Decimal`'s limits.
    pub const MAX: Decimal = Decimal::from_parts(276_447_231, 23_283, 0, false, 2); // 999_999_999_999.99

    pub fn parse(field: &'static str, amount: Decimal) -> Result<Self, ValidationError> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(ValidationError::new(field, "must not be negative"));
        }
        if amount.normalize().scale() > 2 {
            return Err(ValidationError::new(
                field,
                "must have at most 2 decimal places",
            ));
        }
        if amount > Self::MAX {
            return Err(ValidationError::new(
                field,
                format!("must be at most {}", Self::MAX),
            ));
        }
        // Stored with exactly two places so "12.5" and "12.50" are one value in events and read items.
        let mut cents = amount.normalize();
        cents.rescale(2);
        Ok(Money(cents))
    }

    /// Parses a decimal string such as `"1234.56"`.
    pub fn parse_str(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let amount = raw
            .trim()
            .parse::<Decimal>()
            .map_err(|_| ValidationError::new(field, "must be a decimal number such as 1234.56"))?;
        Self::parse(field, amount)
    }

    /// An amount that must be more than nothing (a payment, a charge).
    pub fn parse_positive(field: &'static str, amount: Decimal) -> Result<Self, ValidationError> {
        let money = Self::parse(field, amount)?;
        if money.is_zero() {
            return Err(ValidationError::new(field, "must be greater than zero"));
        }
        Ok(money)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

/// A yearly interest rate in percent: 0 to 100, at most 4 decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InterestRate(Decimal);

impl InterestRate {
    pub fn parse(rate: Decimal) -> Result<Self, ValidationError> {
        Self::parse_field("interest_rate", rate)
    }

    /// A rate given in the request field `field` (a rate step's `rate`).
    pub fn parse_field(field: &'static str, rate: Decimal) -> Result<Self, ValidationError> {
        if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
            return Err(ValidationError::new(
                field,
                "must be a percentage from 0 to 100",
            ));
        }
        if rate.normalize().scale() > 4 {
            return Err(ValidationError::new(
                field,
                "must have at most 4 decimal places",
            ));
        }
        Ok(InterestRate(rate.normalize()))
    }

    pub fn percent(self) -> Decimal {
        self.0
    }
}

/// The day a debt started: `YYYY-MM-DD`, or an RFC 3339 timestamp whose UTC date is taken. Years 1900-2200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StartDate(NaiveDate);

impl StartDate {
    /// An RFC 3339 `full-date` (`2025-01-31`) or `date-time` (`2025-01-31T09:30:00+01:00`, whose UTC date is
    /// taken), exactly as sent, written with a year from 1900 to 2200: JSON Schema's `date` and `date-time`
    /// formats and a year pattern, which is how `docs/openapi.json` states it.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        const FIELD: &str = "start_date";
        let malformed = || {
            ValidationError::new(
                FIELD,
                "must be a date (YYYY-MM-DD) or an RFC 3339 timestamp",
            )
        };
        let date = match raw.as_bytes().get(10) {
            None => full_date(raw),
            Some(b'T' | b't') => DateTime::parse_from_rfc3339(raw)
                .ok()
                .filter(|_| full_date(&raw[..10]).is_some())
                .map(|t| t.to_utc().date_naive()),
            Some(_) => None,
        }
        .ok_or_else(malformed)?;
        // The year as written (an instant's UTC date may fall in the next year): what the contract's pattern says.
        let written_year: i32 = raw[..4].parse().map_err(|_| malformed())?;
        within_years(FIELD, written_year)?;
        Ok(StartDate(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// An RFC 3339 `full-date` written exactly as `YYYY-MM-DD`, or `None`.
fn full_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    let digits = [0, 1, 2, 3, 5, 6, 8, 9];
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-' && digits.iter().all(|&i| b[i].is_ascii_digit()))
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
}

/// The years the API accepts in any date: 1900-2200 (a four-digit year, so the date's text is its value).
fn within_years(field: &'static str, year: i32) -> Result<(), ValidationError> {
    if !(1900..=2200).contains(&year) {
        return Err(ValidationError::new(
            field,
            "must be between the years 1900 and 2200",
        ));
    }
    Ok(())
}

/// A calendar day sent as `YYYY-MM-DD` (a payment's `paid_on`, a charge's `charged_on`), years 1900-2200.
/// Whether the day is allowed for a debt (not in the future, not before it started) is the decider's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(NaiveDate);

impl Day {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, ValidationError> {
        let date = full_date(raw)
            .ok_or_else(|| ValidationError::new(field, "must be a date (YYYY-MM-DD)"))?;
        within_years(field, date.year())?;
        Ok(Day(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }
}

/// The day of the month a debt's statement closes: 1-28, so that every month has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatementDay(u8);

impl StatementDay {
    pub fn parse(raw: u64) -> Result<Self, ValidationError> {
        u8::try_from(raw)
            .ok()
            .filter(|day| (1..=28).contains(day))
            .map(StatementDay)
            .ok_or_else(|| ValidationError::new("statement_day", "must be a day from 1 to 28"))
    }

    /// The default: the start date's day of the month, 28 at most.
    pub fn of_start(start_date: NaiveDate) -> Self {
        StatementDay(u8::try_from(start_date.day().min(28)).unwrap_or(28))
    }

    pub fn day(self) -> u8 {
        self.0
    }
}

/// Days from a statement's closing to its due date: 1-90.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DueDays(u16);

impl DueDays {
    /// 21 days, the least the US CARD Act allows between a card statement and its due date.
    pub const DEFAULT: DueDays = DueDays(21);

    pub fn parse(raw: u64) -> Result<Self, ValidationError> {
        u16::try_from(raw)
            .ok()
            .filter(|days| (1..=90).contains(days))
            .map(DueDays)
            .ok_or_else(|| {
                ValidationError::new("due_days", "must be a number of days from 1 to 90")
            })
    }

    pub fn days(self) -> u16 {
        self.0
    }
}

/// A user's time zone: an IANA name (`Europe/Paris`, `America/New_York`, `UTC`) the built-in tz database
/// knows. A due date ends at midnight there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName(String, jiff::tz::TimeZone);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let unknown = || {
            ValidationError::new(
                "time_zone",
                "must be an IANA time zone name such as Europe/Paris or UTC",
            )
        };
        // An IANA name is short ASCII; anything else is refused before the database is searched.
        if raw.is_empty() || raw.len() > 64 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(unknown());
        }
        let zone = jiff::tz::TimeZone::get(raw).map_err(|_| unknown())?;
        let name = zone.iana_name().unwrap_or(raw).to_owned();
        Ok(TimeZoneName(name, zone))
    }

    /// UTC, every user's zone until they say another.
    pub fn utc() -> Self {
        TimeZoneName("UTC".to_owned(), jiff::tz::TimeZone::UTC)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The instant `day` reaches `hour` o'clock in this zone (on a day a transition skips that hour, the
    /// first moment after the gap).
    pub fn at_hour(&self, day: NaiveDate, hour: u8) -> Option<DateTime<chrono::Utc>> {
        let date = jiff::civil::Date::new(
            i16::try_from(day.year()).ok()?,
            i8::try_from(day.month()).ok()?,
            i8::try_from(day.day()).ok()?,
        )
        .ok()?;
        let time = jiff::civil::Time::new(i8::try_from(hour).ok()?, 0, 0, 0).ok()?;
        let zoned = date.to_datetime(time).to_zoned(self.1.clone()).ok()?;
        DateTime::from_timestamp(zoned.timestamp().as_second(), 0)
    }

    /// The date it is in this zone at `instant`.
    pub fn date_at(&self, instant: DateTime<chrono::Utc>) -> NaiveDate {
        let local = jiff::Timestamp::from_second(instant.timestamp())
            .map(|t| t.to_zoned(self.1.clone()).date())
            .ok();
        local
            .and_then(|d| {
                NaiveDate::from_ymd_opt(
                    i32::from(d.year()),
                    u32::from(d.month().unsigned_abs()),
                    u32::from(d.day().unsigned_abs()),
                )
            })
            .unwrap_or_else(|| instant.date_naive())
    }
}

/// A user's reminder offsets before a due date: 1 to 5 distinct numbers of days, 0 to 60, kept largest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderOffsets(Vec<u16>);

impl ReminderOffsets {
    pub fn parse(days: &[u64]) -> Result<Self, ValidationError> {
        let invalid = || {
            ValidationError::new(
                "offsets_days",
                "must list 1 to 5 different numbers of days, each from 0 to 60",
            )
        };
        let mut offsets: Vec<u16> = days
            .iter()
            .map(|d| {
                u16::try_from(*d)
                    .ok()
                    .filter(|d| *d <= 60)
                    .ok_or_else(invalid)
            })
            .collect::<Result<_, _>>()?;
        offsets.sort_unstable_by(|a, b| b.cmp(a));
        offsets.dedup();
        if offsets.is_empty() || offsets.len() > 5 || offsets.len() != days.len() {
            return Err(invalid());
        }
        Ok(ReminderOffsets(offsets))
    }

    pub fn days(&self) -> &[u16] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn time_zones_are_iana_names_and_give_the_local_date() {
        let paris = TimeZoneName::parse("Europe/Paris").unwrap();
        assert_eq!(paris.as_str(), "Europe/Paris");
        let instant = DateTime::parse_from_rfc3339("2026-03-10T23:30:00Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            paris.date_at(instant).to_string(),
            "2026-03-11",
            "after midnight in Paris"
        );
        let new_york = TimeZoneName::parse("America/New_York").unwrap();
        assert_eq!(new_york.date_at(instant).to_string(), "2026-03-10");
        let early = DateTime::parse_from_rfc3339("2026-03-11T03:59:59Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            new_york.date_at(early).to_string(),
            "2026-03-10",
            "23:59:59 EDT"
        );
        assert_eq!(
            TimeZoneName::utc().date_at(instant).to_string(),
            "2026-03-10"
        );
        let day = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(
            paris.at_hour(day, 0).unwrap().to_rfc3339(),
            "2026-03-28T23:00:00+00:00",
            "the day summer time starts"
        );
        assert_eq!(
            paris.at_hour(day, 2).unwrap().to_rfc3339(),
            "2026-03-29T01:00:00+00:00",
            "02:00 does not exist that day in Paris: the first moment after the gap, 03:00 CEST"
        );
        assert_eq!(
            new_york.at_hour(day, 9).unwrap().to_rfc3339(),
            "2026-03-29T13:00:00+00:00"
        );
        for bad in [
            "Mars/Olympus_Mons",
            "",
            "Europe/Paris ",
            "+01:00",
            &"A".repeat(65),
        ] {
            assert_eq!(
                TimeZoneName::parse(bad).unwrap_err().field,
                "time_zone",
                "{bad:?}"
            );
        }
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn usernames_are_case_folded_and_restricted() {
        assert_eq!(Username::parse("Alice_01").unwrap().as_str(), "alice_01");
        // Exactly as sent: no trimming, and no letter that only folds to ASCII (the Kelvin sign).
        assert!(Username::parse(" alice ").is_err());
        assert!(Username::parse("\u{212a}elvin").is_err());
        assert_eq!(Username::parse("a.b-c").unwrap().as_str(), "a.b-c");
        for bad in ["ab", &"a".repeat(33), "al ice", "alice!", "ålice", ""] {
            let err = Username::parse(bad).unwrap_err();
            assert_eq!(err.field, "username", "{bad:?}");
        }
        assert!(Username::parse(&"a".repeat(32)).is_ok());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(Email::parse(" Alice@Example.COM ").is_err(), "sent exactly");
        assert!(
            Email::parse("alice@exämple.com").is_err(),
            "the xn-- form, please"
        );
        assert!(Email::parse("a@b@example.com").is_err());
        let email = Email::parse("Alice@Example.COM").unwrap();
        assert_eq!(email.as_str(), "Alice@Example.COM");
        assert_eq!(email.normalized(), "alice@example.com");
        for bad in [
            "alice",
            "@example.com",
            "alice@",
            "alice@example",
            "a b@example.com",
            "alice@.com",
            "alice@example..com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DebtName::parse("  Car loan ").unwrap().as_str(), "Car loan");
        assert!(DebtName::parse("   ").is_err());
        assert!(DebtName::parse(&"x".repeat(100)).is_ok());
        assert!(DebtName::parse(&"x".repeat(101)).is_err());
        // Counted as sent, so the contract's maxLength says the same.
        assert!(DebtName::parse(&format!("{} ", "x".repeat(100))).is_err());
        assert!(DebtName::parse("Car\u{85}loan").is_err(), "C1 controls too");
        assert!(FullName::parse("Ada\u{0007}Lovelace").is_err());
        assert_eq!(FullName::parse("Zoë Ñandú").unwrap().as_str(), "Zoë Ñandú");
        assert!(Creditor::parse("").is_err());
    }

    #[test]
    fn money_is_non_negative_with_two_places_and_bounded() {
        assert_eq!(
            Money::parse_str("principal", "12.5")
                .unwrap()
                .amount()
                .to_string(),
            "12.50"
        );
        assert_eq!(
            Money::parse_str("principal", "0")
                .unwrap()
                .amount()
                .to_string(),
            "0.00"
        );
        assert_eq!(
            Money::parse("principal", dec("1.230"))
                .unwrap()
                .amount()
                .to_string(),
            "1.23"
        );
        assert!(Money::parse("principal", dec("-0.01")).is_err());
        assert!(Money::parse("principal", dec("1.001")).is_err());
        assert!(Money::parse_str("principal", "12,5").is_err());
        assert!(Money::parse("principal", dec("999999999999.99")).is_ok());
        assert!(Money::parse("principal", dec("1000000000000")).is_err());
        assert_eq!(Money::MAX, dec("999999999999.99"));
        assert_eq!(
            Money::parse("current_balance", dec("-1"))
                .unwrap_err()
                .field,
            "current_balance"
        );
    }

    #[test]
    fn payments_and_charges_need_a_positive_amount() {
        assert_eq!(
            Money::parse_positive("amount", dec("0.5"))
                .unwrap()
                .amount()
                .to_string(),
            "0.50"
        );
        for bad in ["0", "0.00", "-1", "0.001"] {
            assert_eq!(
                Money::parse_positive("amount", dec(bad)).unwrap_err().field,
                "amount",
                "{bad}"
            );
        }
    }

    #[test]
    fn days_are_plain_dates_and_notes_are_bounded_text() {
        assert_eq!(
            Day::parse("paid_on", "2024-02-29")
                .unwrap()
                .date()
                .to_string(),
            "2024-02-29"
        );
        for bad in [
            "2024-02-29T10:00:00Z",
            "2023-02-29",
            "1899-12-31",
            "2201-01-01",
            "",
            "2024-2-1",
        ] {
            assert_eq!(
                Day::parse("paid_on", bad).unwrap_err().field,
                "paid_on",
                "{bad:?}"
            );
        }
        assert_eq!(Note::parse(" monthly ").unwrap().as_str(), "monthly");
        assert!(Note::parse(&"n".repeat(500)).is_ok());
        assert!(Note::parse(&"n".repeat(501)).is_err());
        assert!(Note::parse(" ").is_err());
    }

    #[test]
    fn interest_rates_are_percentages_with_four_places() {
        assert_eq!(
            InterestRate::parse(dec("5.2500"))
                .unwrap()
                .percent()
                .to_string(),
            "5.25"
        );
        assert!(InterestRate::parse(dec("0")).is_ok());
        assert!(InterestRate::parse(dec("100")).is_ok());
        assert!(InterestRate::parse(dec("100.0001")).is_err());
        assert!(InterestRate::parse(dec("-0.5")).is_err());
        assert!(InterestRate::parse(dec("1.23456")).is_err());
        assert!(InterestRate::parse(dec("1.2345")).is_ok());
    }

    #[test]
    fn payment_frequencies_are_the_five_known_ones() {
        assert_eq!(
            PaymentFrequency::parse("monthly").unwrap(),
            PaymentFrequency::Monthly
        );
        assert!(
            PaymentFrequency::parse("Monthly").is_err(),
            "the enum's names, exactly"
        );
        assert_eq!(
            PaymentFrequency::parse("biweekly").unwrap(),
            PaymentFrequency::Biweekly
        );
        assert!(PaymentFrequency::parse("daily").is_err());
        assert_eq!(PaymentFrequency::ALL.len(), 5);
    }

    #[test]
    fn start_dates_accept_dates_and_rfc3339() {
        assert_eq!(
            StartDate::parse("2024-02-29").unwrap().date().to_string(),
            "2024-02-29"
        );
        assert_eq!(
            StartDate::parse("2024-03-01T01:30:00+02:00")
                .unwrap()
                .date()
                .to_string(),
            "2024-02-29",
            "the UTC date of the instant"
        );
        assert!(
            StartDate::parse("2024-02-29t10:00:00z").is_ok(),
            "RFC 3339 allows lower case"
        );
        for bad in [
            "2023-02-29",
            "29/02/2024",
            "2024-13-01",
            "1899-12-31",
            "tomorrow",
            "",
            " 2024-02-29",
            "2024-2-29",
            "+2024-02-29",
            "2024-02-29 01:30:00Z",
            "2024-02-29T25:00:00Z",
            "2201-01-01",
        ] {
            assert!(StartDate::parse(bad).is_err(), "{bad:?}");
        }
    }
}
