//! A debt's progress month by month, for `GET /users/{u}/progress` (issue 33): for each month of a range,
//! the balance at the month's end by effective date, and what was paid, charged as interest and charged as
//! fees in it (each movement on its own date: a payment's `paid_on`, a charge's `charged_on`, a statement's
//! booked amounts on its `closing_date`), all from one fold of the debt's events. A deleted debt counts in the
//! months that end before the day its deletion was recorded, and in none after.

use chrono::{Datelike, Months, NaiveDate};
use domain::{ChargeKind, Debt, DebtState, Decider};
use events::{BookedKind, EventEnvelope, EventPayload};
use rust_decimal::Decimal;

/// One month of one debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthProgress {
    /// The month's first day.
    pub month: NaiveDate,
    /// The balance at the month's end by effective date (zero once the debt is deleted).
    pub balance: Decimal,
    pub paid: Decimal,
    pub interest: Decimal,
    pub fees: Decimal,
}

/// The first day of `day`'s month.
pub fn month_of(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The last day of the month that begins on `first`.
fn month_end(first: NaiveDate) -> NaiveDate {
    first
        .checked_add_months(Months::new(1))
        .and_then(|next| next.pred_opt())
        .unwrap_or(first)
}

/// The money an event moves, by kind and its own date: `(date, paid, interest, fees)`.
fn moved(event: &EventEnvelope) -> Option<(NaiveDate, Decimal, Decimal, Decimal)> {
    let zero = Decimal::ZERO;
    match &event.payload {
        EventPayload::PaymentRecorded(payment) => {
            Some((payment.paid_on, payment.amount, zero, zero))
        }
        EventPayload::ChargeAdded(charge) => match charge.kind {
            ChargeKind::Interest => Some((charge.charged_on, zero, charge.amount, zero)),
            ChargeKind::Fee => Some((charge.charged_on, zero, zero, charge.amount)),
            _ => None,
        },
        EventPayload::StatementRecorded(statement) => {
            let booked = |kind: BookedKind| -> Decimal {
                statement
                    .booked
                    .iter()
                    .filter(|b| b.kind == kind)
                    .map(|b| b.amount)
                    .sum()
            };
            Some((
                statement.closing_date,
                zero,
                booked(BookedKind::Interest),
                booked(BookedKind::Fee),
            ))
        }
        _ => None,
    }
}

/// The day the debt started (its `start_date` as last recorded); `None` for a history that makes no debt.
pub fn started_on(history: &[EventEnvelope]) -> Option<NaiveDate> {
    match Debt::fold(history.iter().map(|e| &e.payload)).state {
        DebtState::Open(record) | DebtState::Deleted(record) => Some(record.start_date),
        DebtState::NotCreated => None,
    }
}

/// The debt's `months` months from the month of `from`, oldest first; empty for a history that makes no
/// debt. Bounded by the months asked for and the events: one fold, then one pass over the movements.
pub fn debt_progress(
    history: &[EventEnvelope],
    from: NaiveDate,
    months: u32,
) -> Vec<MonthProgress> {
    let aggregate = Debt::fold(history.iter().map(|e| &e.payload));
    let (record, deleted_on) = match &aggregate.state {
        DebtState::Open(record) => (record, None),
        DebtState::Deleted(record) => (
            record,
            history
                .iter()
                .rev()
                .find(|e| matches!(e.payload, EventPayload::DebtDeleted(_)))
                .map(|e| e.occurred_at.date_naive()),
        ),
        DebtState::NotCreated => return Vec::new(),
    };
    let first = month_of(from);
    let mut rows: Vec<MonthProgress> = (0..months)
        .filter_map(|n| first.checked_add_months(Months::new(n)))
        .map(|month| {
            let end = month_end(month);
            let live = deleted_on.is_none_or(|deleted| end < deleted);
            MonthProgress {
                month,
                balance: if live {
                    aggregate.dated.on(record.start_date, end)
                } else {
                    Decimal::ZERO
                },
                paid: Decimal::ZERO,
                interest: Decimal::ZERO,
                fees: Decimal::ZERO,
            }
        })
        .collect();
    for (day, paid, interest, fees) in history.iter().filter_map(moved) {
        let month = month_of(day);
        if let Some(row) = rows.iter_mut().find(|row| row.month == month) {
            row.paid += paid;
            row.interest += interest;
            row.fees += fees;
        }
    }
    rows
}

/// The months of a user's debts together: each month with every debt's row and their totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortfolioMonth {
    pub month: NaiveDate,
    pub total_balance: Decimal,
    pub paid: Decimal,
    pub interest: Decimal,
    pub fees: Decimal,
    /// `(debt_id, its month)`, for the debts that existed in the month (a balance or a movement).
    pub debts: Vec<(String, MonthProgress)>,
}

/// More debt rows (one debt in one month) than a portfolio's answer may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("more than {limit} debt rows")]
pub struct TooManyRows {
    pub limit: usize,
}

impl MonthProgress {
    /// Whether the debt had nothing in the month: no balance and no movement.
    fn is_empty(&self) -> bool {
        self.balance.is_zero()
            && self.paid.is_zero()
            && self.interest.is_zero()
            && self.fees.is_zero()
    }
}

/// The portfolio's `months` months from the month of `from`, from each debt's history (`(id, history)`).
/// Each debt's empty months are dropped as it is folded, and the fold stops once more than `max_rows` debt
/// rows are kept: what is held at once is bounded by the answer's own bound, not by debts x months.
pub fn portfolio_progress(
    histories: &[(String, Vec<EventEnvelope>)],
    from: NaiveDate,
    months: u32,
    max_rows: usize,
) -> Result<Vec<PortfolioMonth>, TooManyRows> {
    let first = month_of(from);
    let mut portfolio: Vec<PortfolioMonth> = (0..months)
        .filter_map(|n| first.checked_add_months(Months::new(n)))
        .map(|month| PortfolioMonth {
            month,
            total_balance: Decimal::ZERO,
            paid: Decimal::ZERO,
            interest: Decimal::ZERO,
            fees: Decimal::ZERO,
            debts: Vec::new(),
        })
        .collect();
    let mut kept = 0usize;
    for (id, history) in histories {
        for (index, row) in debt_progress(history, from, months).into_iter().enumerate() {
            if row.is_empty() {
                continue;
            }
            kept += 1;
            if kept > max_rows {
                return Err(TooManyRows { limit: max_rows });
            }
            let Some(month) = portfolio.get_mut(index) else {
                continue;
            };
            // Amounts are bounded by the domain's limits (at most 10^12 each), far inside a Decimal.
            month.total_balance += row.balance;
            month.paid += row.paid;
            month.interest += row.interest;
            month.fees += row.fees;
            month.debts.push((id.clone(), row));
        }
    }
    Ok(portfolio)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use events::{ChargeAdded, DebtCreated, DebtDeleted, PaymentFrequency, PaymentRecorded};
    use std::str::FromStr;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// `payload` as version `version` of debt `d-1`, recorded on `recorded` at noon.
    fn event(version: u64, recorded: &str, payload: EventPayload) -> EventEnvelope {
        let at = day(recorded).and_hms_opt(12, 0, 0).unwrap();
        EventEnvelope::new(
            "d-1",
            version,
            payload,
            Utc.from_utc_datetime(&at),
            "ada",
            uuid::Uuid::nil(),
        )
    }

    fn history() -> Vec<EventEnvelope> {
        vec![
            event(
                1,
                "2026-01-05",
                EventPayload::DebtCreated(DebtCreated {
                    owner: "ada".into(),
                    debt_name: "Card".into(),
                    principal: dec("1000.00"),
                    interest_rate: dec("20"),
                    start_date: day("2026-01-01"),
                    payment_frequency: PaymentFrequency::Monthly,
                    current_balance: dec("1000.00"),
                    creditor: None,
                    minimum_payment: None,
                    terms: Default::default(),
                }),
            ),
            // Recorded in March, dated in February: February's payment, by effective date.
            event(
                2,
                "2026-03-02",
                EventPayload::PaymentRecorded(PaymentRecorded {
                    amount: dec("100.00"),
                    paid_on: day("2026-02-20"),
                    note: None,
                }),
            ),
            event(
                3,
                "2026-03-10",
                EventPayload::ChargeAdded(ChargeAdded {
                    amount: dec("16.50"),
                    charged_on: day("2026-03-01"),
                    kind: events::ChargeKind::Interest,
                    note: None,
                }),
            ),
            event(
                4,
                "2026-03-10",
                EventPayload::ChargeAdded(ChargeAdded {
                    amount: dec("25.00"),
                    charged_on: day("2026-03-09"),
                    kind: events::ChargeKind::Fee,
                    note: None,
                }),
            ),
        ]
    }

    #[test]
    fn each_month_ends_at_its_balance_by_effective_date_with_its_own_movements() {
        let rows = debt_progress(&history(), day("2025-12-15"), 4);
        let shown: Vec<(String, String, String, String, String)> = rows
            .iter()
            .map(|r| {
                (
                    r.month.to_string(),
                    r.balance.to_string(),
                    r.paid.to_string(),
                    r.interest.to_string(),
                    r.fees.to_string(),
                )
            })
            .collect();
        let row = |m: &str, b: &str, p: &str, i: &str, f: &str| {
            (
                m.to_owned(),
                b.to_owned(),
                p.to_owned(),
                i.to_owned(),
                f.to_owned(),
            )
        };
        assert_eq!(
            shown,
            [
                row("2025-12-01", "0", "0", "0", "0"),
                row("2026-01-01", "1000.00", "0", "0", "0"),
                row("2026-02-01", "900.00", "100.00", "0", "0"),
                row("2026-03-01", "941.50", "0", "16.50", "25.00"),
            ],
            "before its start a debt owes nothing"
        );
    }

    #[test]
    fn a_deleted_debt_counts_until_the_month_it_was_deleted() {
        let mut history = history();
        history.push(event(
            5,
            "2026-03-20",
            EventPayload::DebtDeleted(DebtDeleted { reason: None }),
        ));
        let rows = debt_progress(&history, day("2026-02-01"), 3);
        let balances: Vec<String> = rows.iter().map(|r| r.balance.to_string()).collect();
        assert_eq!(balances, ["900.00", "0", "0"]);
        assert_eq!(
            rows[1].fees,
            dec("25.00"),
            "its movements still count in their month"
        );
        assert!(debt_progress(&[], day("2026-02-01"), 3).is_empty());
    }

    #[test]
    fn the_portfolio_month_is_the_sum_of_its_debts() {
        let mut other = history();
        for event in &mut other {
            event.aggregate_id = "d-2".into();
        }
        let both = [("d-1".to_owned(), history()), ("d-2".to_owned(), other)];
        let months = portfolio_progress(&both, day("2025-12-01"), 4, 100).unwrap();
        assert_eq!(months.len(), 4);
        assert!(months[0].debts.is_empty(), "before either started");
        assert_eq!(months[3].total_balance, dec("1883.00"));
        assert_eq!(
            (months[2].paid, months[3].interest, months[3].fees),
            (dec("200.00"), dec("33.00"), dec("50.00"))
        );
        assert_eq!(months[3].debts.len(), 2);
        // Six rows in all (two debts from January to March): a bound of five stops the fold.
        assert_eq!(
            portfolio_progress(&both, day("2025-12-01"), 4, 5).unwrap_err(),
            TooManyRows { limit: 5 }
        );
        assert!(portfolio_progress(&both, day("2025-12-01"), 4, 6).is_ok());
    }
}
