//! A debt's balance by effective date: each movement placed on the day it happened (a payment's `paid_on`, a
//! charge's `charged_on`, a statement's `closing_date`, a correction's `balance_on`), so the balance on a day
//! is the opening balance plus everything that moved on or before it, as recorded so far.

use chrono::{Days, NaiveDate};
use events::{DebtChanges, EventPayload};
use rust_decimal::Decimal;

use super::DebtRecord;

/// The dated movements of one debt, folded from its events beside its record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatedBalance {
    /// The balance the debt was recorded with, held from its start date; corrections written before they
    /// carried a date count here too.
    opening: Decimal,
    /// The net movement of each day that had one, by day.
    days: Vec<(NaiveDate, Decimal)>,
}

impl DatedBalance {
    /// The balance on `day` of a debt that started on `start_date`: nothing before it.
    pub fn on(&self, start_date: NaiveDate, day: NaiveDate) -> Decimal {
        if day < start_date {
            return Decimal::ZERO;
        }
        let through = self.days.partition_point(|(d, _)| *d <= day);
        self.days[..through]
            .iter()
            .fold(self.opening, |balance, (_, moved)| balance + moved)
    }

    /// The balance at the end of each day from `first` through `last`, in order.
    pub fn each_day(
        &self,
        start_date: NaiveDate,
        first: NaiveDate,
        last: NaiveDate,
    ) -> impl Iterator<Item = (NaiveDate, Decimal)> + '_ {
        let mut balance = self.on(start_date, first.pred_opt().unwrap_or(first));
        let mut next = self.days.partition_point(|(d, _)| *d < first);
        first
            .iter_days()
            .take_while(move |day| *day <= last)
            .map(move |day| {
                if day == start_date {
                    balance += self.opening;
                }
                while let Some((_, amount)) = self.days.get(next).filter(|(d, _)| *d == day) {
                    balance += amount;
                    next += 1;
                }
                (
                    day,
                    if day < start_date {
                        Decimal::ZERO
                    } else {
                        balance
                    },
                )
            })
    }

    fn add(&mut self, day: NaiveDate, amount: Decimal) {
        let at = self.days.partition_point(|(d, _)| *d < day);
        match self.days.get_mut(at) {
            Some((d, moved)) if *d == day => *moved += amount,
            _ => self.days.insert(at, (day, amount)),
        }
    }

    /// These movements after `event` on a debt whose record, before it, is `before` (`None` before its
    /// creation).
    pub fn after(mut self, before: Option<&DebtRecord>, event: &EventPayload) -> Self {
        match (before, event) {
            (None, EventPayload::DebtCreated(created)) => self.opening = created.current_balance,
            (Some(debt), EventPayload::DebtUpdated(update)) => self.correct(debt, &update.changes),
            (Some(_), EventPayload::PaymentRecorded(payment)) => {
                self.add(payment.paid_on, -payment.amount);
            }
            (Some(_), EventPayload::ChargeAdded(charge)) => {
                self.add(charge.charged_on, charge.amount);
            }
            (Some(_), EventPayload::StatementRecorded(statement)) => {
                self.add(statement.closing_date, statement.difference);
            }
            _ => {}
        }
        self
    }

    /// A corrected `current_balance` moves the balance by its difference from the balance before, on the
    /// day it holds from.
    fn correct(&mut self, debt: &DebtRecord, changes: &DebtChanges) {
        let Some(corrected) = changes.current_balance else {
            return;
        };
        let moved = corrected - debt.current_balance;
        match changes.balance_on {
            Some(day) => self.add(day, moved),
            None => self.opening += moved,
        }
    }
}

/// The first day of the statement cycle that closes on `closing_date`: the day after the month before's
/// closing, but not before the debt started nor on or before the last statement's closing.
pub fn cycle_start(
    closing_date: NaiveDate,
    start_date: NaiveDate,
    last_closing: Option<NaiveDate>,
) -> NaiveDate {
    let month_before = closing_date
        .checked_sub_months(chrono::Months::new(1))
        .and_then(|d| d.checked_add_days(Days::new(1)))
        .unwrap_or(closing_date);
    let after_last = last_closing
        .and_then(|d| d.succ_opt())
        .unwrap_or(start_date);
    month_before.max(start_date).max(after_last)
}
