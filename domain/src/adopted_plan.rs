//! An adopted payoff plan read back from its `PlanAdopted` event: the total balance it promised for any
//! month, and how far ahead of (or behind) that promise a month's actual total sits, in money and in months.
//!
//! The promise is a curve: index 0 is the month the plan was adopted in (its `starting_total`), index `k`
//! the end of the plan's month `k` (`planned_totals[k - 1]`), zero after its last month.

use chrono::{DateTime, Datelike, Months, NaiveDate, Utc};
use events::{EventEnvelope, EventPayload, PlanAdopted};
use rust_decimal::Decimal;

/// A plan as adopted, with when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptedPlan {
    pub adopted_at: DateTime<Utc>,
    pub plan: PlanAdopted,
    /// The first day of the plan's first month.
    start: NaiveDate,
}

/// How far a month's actual total is ahead of the plan's curve: `amount` is the planned total less the
/// actual one (positive: less is owed than planned), `months` how many months earlier than planned the
/// curve is at that total (positive: ahead; negative: behind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ahead {
    pub amount: Decimal,
    pub months: i64,
}

/// The first day of a `YYYY-MM` month.
pub fn first_of_month(month: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d").ok()
}

/// How many months `later` comes after `earlier` (negative when before), by calendar month.
fn months_between(earlier: NaiveDate, later: NaiveDate) -> i64 {
    i64::from(later.year() - earlier.year()) * 12 + i64::from(later.month0())
        - i64::from(earlier.month0())
}

impl AdoptedPlan {
    /// The plan a `PlanAdopted` envelope records; `None` for any other event (or an unreadable `start`).
    pub fn from_envelope(envelope: &EventEnvelope) -> Option<Self> {
        let EventPayload::PlanAdopted(plan) = &envelope.payload else {
            return None;
        };
        Some(AdoptedPlan {
            adopted_at: envelope.occurred_at,
            start: first_of_month(&plan.start)?,
            plan: plan.clone(),
        })
    }

    /// Every plan a user's history adopted, oldest first.
    pub fn all(history: &[EventEnvelope]) -> Vec<Self> {
        history.iter().filter_map(Self::from_envelope).collect()
    }

    /// The first day of the plan's first month.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The first day of the month the plan promised to be debt-free in (its last month).
    pub fn debt_free_on(&self) -> NaiveDate {
        let months = u32::try_from(self.plan.planned_totals.len().saturating_sub(1)).unwrap_or(0);
        self.start
            .checked_add_months(Months::new(months))
            .unwrap_or(self.start)
    }

    /// Where `month` (any day of it) falls on the curve: 0 for the adoption month, `None` before it.
    fn index(&self, month: NaiveDate) -> Option<i64> {
        let index = months_between(self.start, month) + 1;
        (index >= 0).then_some(index)
    }

    /// The curve at `index` (0 the starting total, zero after the last month).
    fn curve(&self, index: i64) -> Decimal {
        match usize::try_from(index) {
            Ok(0) => self.plan.starting_total,
            Ok(k) => self
                .plan
                .planned_totals
                .get(k - 1)
                .copied()
                .unwrap_or(Decimal::ZERO),
            Err(_) => self.plan.starting_total,
        }
    }

    /// The total the plan promised at the end of `month`; `None` for a month before its adoption.
    pub fn planned_total(&self, month: NaiveDate) -> Option<Decimal> {
        self.index(month).map(|index| self.curve(index))
    }

    /// How far `actual` at the end of `month` is ahead of the promise; `None` before the adoption. The months
    /// are found on the curve: the first of its months whose planned total is at most `actual`, less `month`'s
    /// own place (a total above the starting one is behind by at least every month since the adoption).
    pub fn ahead_by(&self, month: NaiveDate, actual: Decimal) -> Option<Ahead> {
        let index = self.index(month)?;
        let last = i64::try_from(self.plan.planned_totals.len()).unwrap_or(i64::MAX);
        let reached = (0..=last)
            .find(|&k| self.curve(k) <= actual)
            .unwrap_or(last);
        Some(Ahead {
            amount: self.curve(index) - actual,
            months: reached - index,
        })
    }
}

/// The plan in force in `month`: the last of `plans` (oldest first) adopted in that month or before it.
pub fn in_force(plans: &[AdoptedPlan], month: NaiveDate) -> Option<&AdoptedPlan> {
    plans.iter().rev().find(|plan| plan.index(month).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use events::PlanStrategy;

    fn dec(cents: i64) -> Decimal {
        Decimal::new(cents, 2)
    }

    fn day(y: i32, m: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, 15).unwrap()
    }

    /// Adopted in May 2026 at 1,000.00: 800, 600, 400, 200, 0 at the ends of June to October.
    fn plan(adopted: &str, start: &str) -> AdoptedPlan {
        let envelope = EventEnvelope::new(
            "ada",
            2,
            EventPayload::PlanAdopted(PlanAdopted {
                strategy: PlanStrategy::Avalanche,
                monthly_budget: dec(20_000),
                order: vec!["d-1".into()],
                budget_changes: Vec::new(),
                extra: Vec::new(),
                start: start.into(),
                starting_total: dec(100_000),
                planned_totals: [80_000, 60_000, 40_000, 20_000, 0].map(dec).to_vec(),
                total_interest: dec(0),
            }),
            Utc.from_utc_datetime(
                &NaiveDate::parse_from_str(adopted, "%Y-%m-%d")
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
            ),
            "ada",
            uuid::Uuid::nil(),
        );
        AdoptedPlan::from_envelope(&envelope).unwrap()
    }

    #[test]
    fn the_curve_starts_at_the_adoption_month_and_ends_at_zero() {
        let plan = plan("2026-05-20", "2026-06");
        assert_eq!(plan.planned_total(day(2026, 4)), None, "before adoption");
        assert_eq!(plan.planned_total(day(2026, 5)), Some(dec(100_000)));
        assert_eq!(plan.planned_total(day(2026, 6)), Some(dec(80_000)));
        assert_eq!(plan.planned_total(day(2026, 10)), Some(dec(0)));
        assert_eq!(plan.planned_total(day(2027, 3)), Some(dec(0)), "after");
        assert_eq!(
            plan.debt_free_on(),
            NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
        );
    }

    #[test]
    fn ahead_and_behind_in_money_and_in_months() {
        let plan = plan("2026-05-20", "2026-06");
        let on_plan = plan.ahead_by(day(2026, 7), dec(60_000)).unwrap();
        assert_eq!((on_plan.amount, on_plan.months), (dec(0), 0));
        // In July the plan expected 600; 400 is where it expected to be in August.
        let ahead = plan.ahead_by(day(2026, 7), dec(40_000)).unwrap();
        assert_eq!((ahead.amount, ahead.months), (dec(20_000), 1));
        // 700 in August: the plan was at or below it from July on, so a month behind.
        let behind = plan.ahead_by(day(2026, 8), dec(70_000)).unwrap();
        assert_eq!((behind.amount, behind.months), (dec(-30_000), -1));
        // Above the starting total: behind by every month since the adoption.
        let worse = plan.ahead_by(day(2026, 9), dec(120_000)).unwrap();
        assert_eq!(worse.months, -4);
        let paid = plan.ahead_by(day(2026, 7), dec(0)).unwrap();
        assert_eq!(paid.months, 3, "debt-free in July, planned for October");
        assert!(plan.ahead_by(day(2026, 4), dec(0)).is_none());
    }

    #[test]
    fn a_later_adoption_supersedes_from_its_own_month() {
        let plans = [plan("2026-05-20", "2026-06"), plan("2026-08-02", "2026-09")];
        assert!(in_force(&plans, day(2026, 4)).is_none());
        assert_eq!(
            in_force(&plans, day(2026, 7)).unwrap().start(),
            plans[0].start()
        );
        assert_eq!(
            in_force(&plans, day(2026, 8)).unwrap().start(),
            plans[1].start()
        );
        assert_eq!(
            in_force(&plans, day(2027, 1)).unwrap().start(),
            plans[1].start()
        );
    }
}
