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

/// The portfolio's `months` months from the month of `from`, from each debt's history (`(id, history)`).
pub fn portfolio_progress(
    histories: &[(String, Vec<EventEnvelope>)],
    from: NaiveDate,
    months: u32,
) -> Vec<PortfolioMonth> {
    let per_debt: Vec<(&String, Vec<MonthProgress>)> = histories
        .iter()
        .map(|(id, history)| (id, debt_progress(history, from, months)))
        .collect();
    let first = month_of(from);
    (0..months)
        .filter_map(|n| first.checked_add_months(Months::new(n)))
        .enumerate()
        .map(|(index, month)| {
            let debts: Vec<(String, MonthProgress)> = per_debt
                .iter()
                .filter_map(|(id, rows)| rows.get(index).map(|row| ((*id).clone(), row.clone())))
                .filter(|(_, row)| {
                    !(row.balance.is_zero()
                        && row.paid.is_zero()
                        && row.interest.is_zero()
                        && row.fees.is_zero())
                })
                .collect();
            let sum = |field: fn(&MonthProgress) -> Decimal| -> Decimal {
                debts.iter().map(|(_, row)| field(row)).sum()
            };
            PortfolioMonth {
                month,
                total_balance: sum(|r| r.balance),
                paid: sum(|r| r.paid),
                interest: sum(|r| r.interest),
                fees: sum(|r| r.fees),
                debts,
            }
        })
        .collect()
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
        let months = portfolio_progress(&both, day("2025-12-01"), 4);
        assert_eq!(months.len(), 4);
        assert!(months[0].debts.is_empty(), "before either started");
        assert_eq!(months[3].total_balance, dec("1883.00"));
        assert_eq!(
            (months[2].paid, months[3].interest, months[3].fees),
            (dec("200.00"), dec("33.00"), dec("50.00"))
        );
        assert_eq!(months[3].debts.len(), 2);
    }
}
