//! A user's portfolio figures: what one debt contributes (derived from its events) and the summary, which is
//! always the sum of the stored contributions, so no delivery order or repetition can skew it.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use domain::{DebtStatus, DebtView, RateStep};
use events::{BookedKind, ChargeKind, EventEnvelope, EventPayload, PaymentFrequency};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use store::{codec, keys, ReadItem, StoreError};

/// What one debt adds to its owner's figures, stored as a read item in `PORTFOLIO#{owner}` with the debt's
/// version (so an older state never replaces a newer one) and as a tombstone once the debt is deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub debt_id: String,
    pub current_balance: Decimal,
    pub principal: Decimal,
    /// Percent per year.
    pub interest_rate: Decimal,
    pub payment_frequency: PaymentFrequency,
    // Added with payments; `default` reads contributions stored before them.
    #[serde(default)]
    pub status: DebtStatus,
    #[serde(default)]
    pub total_paid: Decimal,
    /// Payments by `paid_on` day, for the days that can still fall in a `paid_last_30_days` window: those no
    /// more than 29 days before the debt's last event (the summary's day is never before that event).
    #[serde(default)]
    pub recent_payments: BTreeMap<NaiveDate, Decimal>,
    /// Interest charged by month (`YYYY-MM`) of its day (a charge of kind `interest` by `charged_on`, a
    /// statement's booked interest by `closing_date`), for the months that can still be among the summary's
    /// [`INTEREST_MONTHS`]: those no more than 11 months before the month of the debt's last event.
    #[serde(default)]
    pub interest_by_month: BTreeMap<String, Decimal>,
    /// The debt's rate steps: the summary weighs each balance by the rate in force on its day.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_schedule: Vec<RateStep>,
}

/// The summary's interest per month covers the 12 months ending with the month of its day.
pub const INTEREST_MONTHS: u32 = 12;

/// A month's key, `YYYY-MM`.
fn month_of(day: NaiveDate) -> String {
    format!("{:04}-{:02}", day.year(), day.month())
}

/// The first month of the [`INTEREST_MONTHS`] that end with `day`'s.
fn first_interest_month(day: NaiveDate) -> String {
    month_of(
        day.checked_sub_months(Months::new(INTEREST_MONTHS - 1))
            .unwrap_or(NaiveDate::MIN),
    )
}

/// The [`INTEREST_MONTHS`] ending with `day`'s, each at zero, oldest first.
fn interest_months(day: NaiveDate) -> BTreeMap<String, Decimal> {
    (0..INTEREST_MONTHS)
        .rev()
        .filter_map(|back| day.checked_sub_months(Months::new(back)))
        .map(|month| (month_of(month), Decimal::ZERO))
        .collect()
}

/// The interest `event` charged, with the day it is dated.
fn interest_of(event: &EventEnvelope) -> Option<(NaiveDate, Decimal)> {
    match &event.payload {
        EventPayload::ChargeAdded(charge) if charge.kind == ChargeKind::Interest => {
            Some((charge.charged_on, charge.amount))
        }
        EventPayload::StatementRecorded(statement) => {
            let booked = statement
                .booked
                .iter()
                .filter(|b| b.kind == BookedKind::Interest)
                .map(|b| b.amount)
                .sum::<Decimal>();
            (!booked.is_zero()).then_some((statement.closing_date, booked))
        }
        _ => None,
    }
}

/// `paid_last_30_days` sums the payments whose `paid_on` is one of the 30 days ending with the summary's day.
pub const PAID_WINDOW_DAYS: u64 = 30;

/// The first day of the 30-day window that ends on `day`.
fn window_start(day: NaiveDate) -> NaiveDate {
    day.checked_sub_days(Days::new(PAID_WINDOW_DAYS - 1))
        .unwrap_or(NaiveDate::MIN)
}

/// A debt's contribution folded event by event: what the analytics consumer keeps per debt so that each
/// delivery applies only the events it has not folded yet, instead of rereading the whole debt (that was
/// quadratic in a debt's events). It holds no personal field: the view's name and creditor are left blank,
/// as the contribution never shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionFold {
    view: DebtView,
    /// Payments by `paid_on` day within the 30-day window of the last folded event (older days are dropped
    /// as the window moves on: the summary's day is never before that event).
    recent_payments: BTreeMap<NaiveDate, Decimal>,
    /// Interest by month within the 12 months of the last folded event, likewise.
    #[serde(default)]
    interest_by_month: BTreeMap<String, Decimal>,
}

impl ContributionFold {
    /// The fold of a debt's first event, when it is its creation.
    pub fn start(first: &EventEnvelope) -> Option<Self> {
        let fold = ContributionFold {
            view: DebtView::from_history(std::slice::from_ref(first))?,
            recent_payments: BTreeMap::new(),
            interest_by_month: BTreeMap::new(),
        };
        Some(fold.with_payment_of(first))
    }

    /// The fold after the debt's next event.
    #[must_use]
    pub fn apply(self, event: &EventEnvelope) -> Self {
        ContributionFold {
            view: self.view.apply(event),
            recent_payments: self.recent_payments,
            interest_by_month: self.interest_by_month,
        }
        .with_payment_of(event)
    }

    /// How many of the debt's events are folded.
    pub fn version(&self) -> u64 {
        self.view.version
    }

    /// The fold as stored: without the view's personal fields.
    #[must_use]
    pub fn without_personal_fields(mut self) -> Self {
        self.view.fields.debt_name = String::new();
        self.view.fields.creditor = None;
        self
    }

    /// Moves the payment window and the interest months to `event`'s day, and counts it when it is a
    /// payment or interest within them.
    fn with_payment_of(mut self, event: &EventEnvelope) -> Self {
        let recorded_on = event.occurred_at.date_naive();
        let since = window_start(recorded_on);
        self.recent_payments = self.recent_payments.split_off(&since);
        if let EventPayload::PaymentRecorded(payment) = &event.payload {
            if payment.paid_on >= since {
                *self.recent_payments.entry(payment.paid_on).or_default() += payment.amount;
            }
        }
        let first_month = first_interest_month(recorded_on);
        self.interest_by_month = self.interest_by_month.split_off(&first_month);
        if let Some((day, interest)) = interest_of(event) {
            let month = month_of(day);
            if month >= first_month {
                *self.interest_by_month.entry(month).or_default() += interest;
            }
        }
        self
    }

    /// The contribution of the folded events, and their view.
    pub fn contribution(&self) -> (Contribution, &DebtView) {
        let contribution = Contribution::from_view(
            &self.view,
            self.recent_payments.clone(),
            self.interest_by_month.clone(),
        );
        (contribution, &self.view)
    }

    /// The contribution's read item, with the debt's version.
    pub fn read_item(&self) -> ReadItem {
        let (contribution, view) = self.contribution();
        ReadItem {
            key: keys::portfolio_debt_key(&view.fields.owner, &view.debt_id),
            version: view.version,
            deleted: view.deleted,
            attributes: codec::to_attributes(&contribution),
        }
    }
}

impl Contribution {
    /// What a debt with this history (oldest first) contributes, and its view; `None` when the history does
    /// not start with its creation.
    pub fn of(history: &[EventEnvelope]) -> Option<(Contribution, DebtView)> {
        let (first, rest) = history.split_first()?;
        let fold = rest
            .iter()
            .fold(ContributionFold::start(first)?, ContributionFold::apply);
        let (contribution, view) = fold.contribution();
        Some((contribution, view.clone()))
    }

    /// What a debt with this history contributes by effective date `day`, and its view then (see
    /// [`DebtView::on_day`]): its
    /// balance, payments and interest dated on or before `day`, the payment window and interest months
    /// ending on it. `None` when the debt had not started by `day`.
    pub fn on_day(history: &[EventEnvelope], day: NaiveDate) -> Option<(Contribution, DebtView)> {
        let view = DebtView::on_day(history, day)?;
        let since = window_start(day);
        let first_month = first_interest_month(day);
        let mut recent_payments = BTreeMap::new();
        let mut interest_by_month = BTreeMap::new();
        for event in history {
            if let EventPayload::PaymentRecorded(payment) = &event.payload {
                if (since..=day).contains(&payment.paid_on) {
                    *recent_payments.entry(payment.paid_on).or_default() += payment.amount;
                }
            }
            if let Some((dated, interest)) = interest_of(event).filter(|(d, _)| *d <= day) {
                let month = month_of(dated);
                if month >= first_month {
                    *interest_by_month.entry(month).or_default() += interest;
                }
            }
        }
        let contribution = Contribution::from_view(&view, recent_payments, interest_by_month);
        Some((contribution, view))
    }

    /// What a debt in the state `view` contributes, with its payments and interest in the windows.
    fn from_view(
        view: &DebtView,
        recent_payments: BTreeMap<NaiveDate, Decimal>,
        interest_by_month: BTreeMap<String, Decimal>,
    ) -> Contribution {
        Contribution {
            debt_id: view.debt_id.clone(),
            current_balance: view.fields.current_balance,
            principal: view.fields.principal,
            interest_rate: view.fields.interest_rate,
            payment_frequency: view.fields.payment_frequency,
            status: view.fields.status,
            total_paid: view.fields.total_paid,
            recent_payments,
            interest_by_month,
            rate_schedule: view.fields.rate_schedule.clone(),
        }
    }

    /// The yearly rate in force on `day`: the rate schedule's step then, else `interest_rate`.
    pub fn rate_on(&self, day: NaiveDate) -> Decimal {
        RateStep::in_force(&self.rate_schedule, day).map_or(self.interest_rate, |step| step.rate)
    }

    /// The contribution's read item of a debt with this history.
    pub fn read_item(history: &[EventEnvelope]) -> Option<ReadItem> {
        let (first, rest) = history.split_first()?;
        Some(
            rest.iter()
                .fold(ContributionFold::start(first)?, ContributionFold::apply)
                .read_item(),
        )
    }

    /// Reads a stored contribution; one that does not read is [`StoreError::Corrupt`].
    pub fn from_read_item(item: ReadItem) -> Result<Self, StoreError> {
        let ReadItem {
            key, attributes, ..
        } = item;
        serde_json::from_value(serde_json::Value::Object(attributes)).map_err(|e| {
            StoreError::Corrupt {
                pk: key.pk,
                sk: key.sk,
                reason: format!("contribution: {e}"),
            }
        })
    }
}

/// Open debts and their balance for one payment frequency.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrequencyTotals {
    pub open_debts: u64,
    pub total_current_balance: Decimal,
}

/// A user's portfolio, as `GET /users/{username}/summary` serves it. Amounts are decimal strings with two
/// places; the rate has four. Sums are exact; the two derived figures are rounded once, half away from zero.
/// Paid-off debts count in `total_principal` and the payment figures, not in `open_debts` or
/// `by_payment_frequency`; deleted debts count nowhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortfolioSummary {
    pub username: String,
    pub open_debts: u64,
    /// Of the open debts, those whose last due date passed with less than its minimum paid in its cycle
    /// (counted from the debts' read items by the summary's reader, on its day).
    pub overdue_debts: u64,
    pub total_current_balance: Decimal,
    pub total_principal: Decimal,
    /// Σ(balance × rate) / Σ balance; `null` when nothing is owed.
    pub weighted_average_interest_rate: Option<Decimal>,
    /// Σ(balance × rate / 100 / 12): simple interest for one month at today's balances.
    pub estimated_monthly_interest: Decimal,
    /// Keyed by payment frequency; frequencies without an open debt are left out.
    pub by_payment_frequency: BTreeMap<String, FrequencyTotals>,
    /// Every payment recorded on the debts counted here.
    pub total_paid: Decimal,
    /// Payments whose `paid_on` is one of the 30 days ending with the summary's day (UTC).
    pub paid_last_30_days: Decimal,
    /// Interest charged on the debts counted here in each of the 12 months ending with the summary's (oldest
    /// first, months without interest at 0.00): charges of kind `interest` by `charged_on`, and the interest
    /// statements booked, by `closing_date`.
    pub interest_by_month: Vec<MonthlyInterest>,
}

/// One month's interest in a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthlyInterest {
    /// `YYYY-MM`.
    pub month: String,
    pub interest: Decimal,
}

impl PortfolioSummary {
    /// The figures of a user's debts' contributions on `day` (UTC; it places the 30-day payment window).
    pub fn from_contributions<'a>(
        username: &str,
        contributions: impl IntoIterator<Item = &'a Contribution>,
        day: NaiveDate,
    ) -> Self {
        let since = window_start(day);
        let mut total_paid = Decimal::ZERO;
        let mut paid_recently = Decimal::ZERO;
        let mut open_debts = 0;
        let mut balance = Decimal::ZERO;
        let mut principal = Decimal::ZERO;
        let mut balance_times_rate = Decimal::ZERO;
        let mut by_frequency: BTreeMap<String, FrequencyTotals> = BTreeMap::new();
        let mut interest = interest_months(day);
        for c in contributions {
            for (month, amount) in &c.interest_by_month {
                if let Some(sum) = interest.get_mut(month) {
                    *sum += amount;
                }
            }
            total_paid += c.total_paid;
            paid_recently += c
                .recent_payments
                .range(since..=day)
                .map(|(_, amount)| *amount)
                .sum::<Decimal>();
            principal += c.principal;
            if c.status == DebtStatus::PaidOff {
                continue;
            }
            open_debts += 1;
            balance += c.current_balance;
            balance_times_rate += c.current_balance * c.rate_on(day);
            let totals = by_frequency
                .entry(c.payment_frequency.as_str().to_owned())
                .or_default();
            totals.open_debts += 1;
            totals.total_current_balance += c.current_balance;
        }
        for totals in by_frequency.values_mut() {
            totals.total_current_balance = money(totals.total_current_balance);
        }
        PortfolioSummary {
            username: username.to_owned(),
            open_debts,
            overdue_debts: 0,
            total_current_balance: money(balance),
            total_principal: money(principal),
            weighted_average_interest_rate: (!balance.is_zero())
                .then(|| rounded(balance_times_rate / balance, 4)),
            estimated_monthly_interest: money(balance_times_rate / Decimal::from(1200)),
            by_payment_frequency: by_frequency,
            total_paid: money(total_paid),
            paid_last_30_days: money(paid_recently),
            interest_by_month: interest
                .into_iter()
                .map(|(month, interest)| MonthlyInterest {
                    month,
                    interest: money(interest),
                })
                .collect(),
        }
    }
}

fn rounded(value: Decimal, places: u32) -> Decimal {
    let mut value = value.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(places);
    value
}

/// An amount with exactly two places ("0.00", not "0").
fn money(value: Decimal) -> Decimal {
    rounded(value, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn contribution(
        balance: &str,
        principal: &str,
        rate: &str,
        f: PaymentFrequency,
    ) -> Contribution {
        Contribution {
            debt_id: "d".into(),
            current_balance: Decimal::from_str(balance).unwrap(),
            principal: Decimal::from_str(principal).unwrap(),
            interest_rate: Decimal::from_str(rate).unwrap(),
            payment_frequency: f,
            status: DebtStatus::Open,
            total_paid: Decimal::ZERO,
            recent_payments: BTreeMap::new(),
            interest_by_month: BTreeMap::new(),
            rate_schedule: Vec::new(),
        }
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn paid_off_debts_are_not_open_and_payments_count_in_a_30_day_window() {
        let mut paid_off = contribution("0.00", "100.00", "7", PaymentFrequency::Monthly);
        paid_off.status = DebtStatus::PaidOff;
        paid_off.total_paid = Decimal::from_str("100.00").unwrap();
        paid_off.recent_payments = BTreeMap::from([
            (day("2026-02-08"), Decimal::from_str("60.00").unwrap()),
            (day("2026-02-09"), Decimal::from_str("40.00").unwrap()),
        ]);
        let mut open = contribution("50.00", "80.00", "5", PaymentFrequency::Monthly);
        open.total_paid = Decimal::from_str("30.00").unwrap();
        open.recent_payments =
            BTreeMap::from([(day("2026-03-10"), Decimal::from_str("30.00").unwrap())]);
        let debts = [paid_off, open];
        // 2026-03-10 minus 29 days is 2026-02-09: the 40.00 is in, the 60.00 a day too old.
        let summary = PortfolioSummary::from_contributions("alice", &debts, day("2026-03-10"));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["open_debts"], 1);
        assert_eq!(json["by_payment_frequency"]["monthly"]["open_debts"], 1);
        assert_eq!(json["total_principal"], "180.00");
        assert_eq!(json["total_current_balance"], "50.00");
        assert_eq!(json["total_paid"], "130.00");
        assert_eq!(json["paid_last_30_days"], "70.00");
        let later = PortfolioSummary::from_contributions("alice", &debts, day("2026-03-11"));
        assert_eq!(later.paid_last_30_days.to_string(), "30.00");
    }

    #[test]
    fn figures_are_exact_sums_rounded_once() {
        let debts = [
            contribution("1000.00", "1200.00", "5", PaymentFrequency::Monthly),
            contribution("333.33", "500.00", "19.99", PaymentFrequency::Monthly),
            contribution("0.01", "10.00", "0.0001", PaymentFrequency::Weekly),
        ];
        let summary = PortfolioSummary::from_contributions("alice", &debts, day("2026-03-10"));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["open_debts"], 3);
        assert_eq!(json["total_current_balance"], "1333.34");
        assert_eq!(json["total_principal"], "1710.00");
        // (1000*5 + 333.33*19.99 + 0.01*0.0001) / 1333.34 = 11663.2667... / 1333.34 = 8.7473...
        assert_eq!(json["weighted_average_interest_rate"], "8.7474");
        // 11663.266701 / 1200 = 9.7193889...
        assert_eq!(json["estimated_monthly_interest"], "9.72");
        assert_eq!(json["by_payment_frequency"]["monthly"]["open_debts"], 2);
        assert_eq!(
            json["by_payment_frequency"]["monthly"]["total_current_balance"],
            "1333.33"
        );
        assert_eq!(
            json["by_payment_frequency"]["weekly"]["total_current_balance"],
            "0.01"
        );
        assert!(json["by_payment_frequency"].get("annually").is_none());
    }

    #[test]
    fn nothing_owed_has_no_average_rate() {
        let summary = PortfolioSummary::from_contributions("bob", &[], day("2026-03-10"));
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(json["open_debts"], 0);
        assert_eq!(json["total_current_balance"], "0.00");
        assert_eq!(
            json["weighted_average_interest_rate"],
            serde_json::Value::Null
        );
        assert_eq!(json["estimated_monthly_interest"], "0.00");
        let paid_off = [contribution(
            "0.00",
            "100.00",
            "7",
            PaymentFrequency::Annually,
        )];
        let json = serde_json::to_value(PortfolioSummary::from_contributions(
            "bob",
            &paid_off,
            day("2026-03-10"),
        ))
        .unwrap();
        assert_eq!(json["open_debts"], 1);
        assert_eq!(
            json["weighted_average_interest_rate"],
            serde_json::Value::Null
        );
    }

    #[test]
    fn the_summary_shows_twelve_months_of_interest_and_weighs_by_the_rate_in_force() {
        let mut card = contribution("1000.00", "1000.00", "24", PaymentFrequency::Monthly);
        card.interest_by_month = BTreeMap::from([
            ("2025-03".to_owned(), Decimal::from_str("9.00").unwrap()),
            ("2025-04".to_owned(), Decimal::from_str("10.00").unwrap()),
            ("2026-03".to_owned(), Decimal::from_str("20.50").unwrap()),
        ]);
        // A promotion at 0 % through 2026-03-31: the rate in force on the summary's day.
        card.rate_schedule = vec![RateStep {
            rate: Decimal::ZERO,
            effective_on: day("2026-01-01"),
            ends_on: Some(day("2026-03-31")),
            kind: events::RateKind::Promotional,
        }];
        let mut loan = contribution("1000.00", "1000.00", "6", PaymentFrequency::Monthly);
        loan.interest_by_month =
            BTreeMap::from([("2026-03".to_owned(), Decimal::from_str("5.00").unwrap())]);
        let summary = PortfolioSummary::from_contributions(
            "alice",
            &[card.clone(), loan.clone()],
            day("2026-03-10"),
        );
        let months: Vec<(&str, String)> = summary
            .interest_by_month
            .iter()
            .map(|m| (m.month.as_str(), m.interest.to_string()))
            .collect();
        assert_eq!(months.len(), 12);
        assert_eq!(
            months[0],
            ("2025-04", "10.00".to_owned()),
            "twelve months ending with March 2026"
        );
        assert_eq!(months[11], ("2026-03", "25.50".to_owned()));
        assert!(months[1..11].iter().all(|(_, interest)| interest == "0.00"));
        assert_eq!(
            summary.weighted_average_interest_rate.unwrap().to_string(),
            "3.0000",
            "(0 + 6) / 2"
        );
        let after = PortfolioSummary::from_contributions("alice", &[card, loan], day("2026-04-01"));
        assert_eq!(
            after.weighted_average_interest_rate.unwrap().to_string(),
            "15.0000",
            "(24 + 6) / 2"
        );
    }
}
