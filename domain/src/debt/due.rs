//! Due dates and overdue: where a debt's next payment is due and whether the last due date passed unmet,
//! worked out on a day (the owner's local date) from its terms, its last statement and its recent payments.
//! Nothing here is stored: "today" moves while the debt does not.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, Months, NaiveDate};
use rust_decimal::Decimal;

use super::{DebtRecord, DebtStatus};

/// How far back a debt keeps its payments by day (`DebtRecord::payments_by_day`), before its latest one: a
/// cycle whose due date has passed on a day closed at most 90 (the longest `due_days`) + 62 days before it,
/// and no day a debt is read on is before its latest payment.
pub const PAYMENT_DAYS_KEPT: u64 = 160;

/// One statement cycle: it closes on `closing_date` and the least due by `due_on` is `minimum_due` (unknown
/// when the debt has no minimum and no statement said one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle {
    pub closing_date: NaiveDate,
    pub due_on: NaiveDate,
    pub minimum_due: Option<Decimal>,
}

/// The due date a reader is shown: the next one, and whether the last one passed unmet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueState {
    pub next: Option<Cycle>,
    /// The last cycle whose due date has passed with less than its minimum paid in it.
    pub missed: Option<Cycle>,
}

impl DebtRecord {
    /// The cycles around `day`: the last statement's (its own due date and minimum), then one per month
    /// closing on `statement_day` after it (and after the start), due `due_days` later, each with the
    /// monthly minimum; from the month of `day - due_days - 2 months` to two months after `day`.
    pub fn cycles_around(&self, day: NaiveDate) -> Vec<Cycle> {
        let after = self
            .last_closing()
            .map_or(self.start_date, |closing| closing.max(self.start_date));
        let mut cycles: Vec<Cycle> = self
            .last_statement
            .iter()
            .map(|s| Cycle {
                closing_date: s.closing_date,
                due_on: s.due_date,
                minimum_due: Some(s.minimum_due),
            })
            .collect();
        let minimum = self
            .minimum_payment
            .map(|m| crate::plan::monthly_minimum(m, self.payment_frequency));
        let first_month = day
            .checked_sub_days(Days::new(u64::from(self.due_days)))
            .and_then(|d| d.checked_sub_months(Months::new(2)))
            .unwrap_or(day);
        let closings = (0..6).filter_map(|n| {
            let month = first_month.checked_add_months(Months::new(n))?;
            NaiveDate::from_ymd_opt(month.year(), month.month(), u32::from(self.statement_day))
        });
        for closing_date in closings.filter(|closing| *closing > after) {
            let Some(due_on) = closing_date.checked_add_days(Days::new(u64::from(self.due_days)))
            else {
                continue;
            };
            cycles.push(Cycle {
                closing_date,
                due_on,
                minimum_due: minimum,
            });
        }
        cycles
    }

    /// The debt's due dates on `day` (its owner's local date): the earliest due on or after it, and the latest
    /// due before it when less than its minimum was paid in its cycle (after the closing, through the due
    /// date). Only a cycle closing on or after `tracked_from` (the day the debt was recorded) or a statement's
    /// can be missed: payments before the debt was recorded are not in its events, so an older cycle says
    /// nothing. A paid-off debt, or one that owes nothing, has neither.
    pub fn due_state(&self, day: NaiveDate, tracked_from: NaiveDate) -> DueState {
        if self.status == DebtStatus::PaidOff || self.current_balance <= Decimal::ZERO {
            return DueState {
                next: None,
                missed: None,
            };
        }
        let cycles = self.cycles_around(day);
        let next = cycles
            .iter()
            .filter(|c| c.due_on >= day)
            .min_by_key(|c| c.due_on)
            .cloned();
        let stated = self.last_closing();
        let missed = cycles
            .iter()
            .filter(|c| c.due_on < day)
            .max_by_key(|c| c.due_on)
            .filter(|c| c.closing_date >= tracked_from || Some(c.closing_date) == stated)
            .filter(|c| {
                c.minimum_due
                    .is_some_and(|minimum| self.paid_between(c.closing_date, c.due_on) < minimum)
            })
            .cloned();
        DueState { next, missed }
    }

    /// The cycles due from `from` through `until`, by due date: the last statement's, then one a month on
    /// `statement_day` after it, as [`Self::cycles_around`] counts them. None for a debt that owes nothing.
    /// At most one a month: a calendar's year of them is bounded.
    pub fn due_dates(&self, from: NaiveDate, until: NaiveDate) -> Vec<Cycle> {
        if self.status == DebtStatus::PaidOff || self.current_balance <= Decimal::ZERO {
            return Vec::new();
        }
        let after = self
            .last_closing()
            .map_or(self.start_date, |closing| closing.max(self.start_date));
        let minimum = self
            .minimum_payment
            .map(|m| crate::plan::monthly_minimum(m, self.payment_frequency));
        let first_month = from
            .checked_sub_days(Days::new(u64::from(self.due_days)))
            .unwrap_or(from);
        let stated = self.last_statement.iter().map(|s| Cycle {
            closing_date: s.closing_date,
            due_on: s.due_date,
            minimum_due: Some(s.minimum_due),
        });
        let monthly = (0..)
            .map_while(|n| first_month.checked_add_months(Months::new(n)))
            .take_while(|month| month.with_day(1).is_some_and(|first| first <= until))
            .filter_map(|month| {
                let closing_date = NaiveDate::from_ymd_opt(
                    month.year(),
                    month.month(),
                    u32::from(self.statement_day),
                )?;
                let due_on = closing_date.checked_add_days(Days::new(u64::from(self.due_days)))?;
                Some(Cycle {
                    closing_date,
                    due_on,
                    minimum_due: minimum,
                })
            })
            .filter(|cycle| cycle.closing_date > after);
        let mut cycles: Vec<Cycle> = stated
            .chain(monthly)
            .filter(|cycle| (from..=until).contains(&cycle.due_on))
            .collect();
        cycles.sort_by_key(|cycle| cycle.due_on);
        cycles
    }

    /// What was paid with `paid_on` after `after` and through `through`.
    pub(crate) fn paid_between(&self, after: NaiveDate, through: NaiveDate) -> Decimal {
        // An empty span (a cycle that has not closed yet) paid nothing; `range` would panic on it.
        let Some(first) = after.succ_opt().filter(|first| *first <= through) else {
            return super::zero_cents();
        };
        self.payments_by_day
            .range(first..=through)
            .fold(super::zero_cents(), |sum, (_, amount)| sum + amount)
    }
}

/// `payments` with one more payment, and without the days more than [`PAYMENT_DAYS_KEPT`] before the
/// latest.
pub(crate) fn with_payment(
    mut payments: BTreeMap<NaiveDate, Decimal>,
    paid_on: NaiveDate,
    amount: Decimal,
) -> BTreeMap<NaiveDate, Decimal> {
    *payments.entry(paid_on).or_default() += amount;
    let latest = *payments.keys().next_back().expect("one was just added");
    let keep_from = latest
        .checked_sub_days(Days::new(PAYMENT_DAYS_KEPT))
        .unwrap_or(NaiveDate::MIN);
    payments.split_off(&keep_from)
}
