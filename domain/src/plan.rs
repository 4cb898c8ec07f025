//! Payoff plans and amortization schedules: pure functions of balances, rates, monthly minimums and a
//! monthly budget, with exact `Decimal` arithmetic. The rules are written in `docs/planning.md`, so that any
//! client can reproduce a plan to the cent:
//!
//! 1. A debt's monthly minimum is its `minimum_payment` per `payment_frequency` converted to a month (weekly
//!    x 52 / 12, biweekly x 26 / 12, monthly x 1, quarterly / 3, annually / 12), rounded to the cent half away
//!    from zero. Its monthly rate is the yearly rate in force on the month's last day (its rate schedule,
//!    else `interest_rate`) / 100 / 12.
//! 2. Each month, in order: (a) every open debt accrues interest, its balance x its monthly rate rounded to the
//!    cent half away from zero; (b) every open debt is paid its monthly minimum, or its balance if less; (c) the
//!    rest of the budget goes to the open debts in strategy order, each paid the lesser of what is left and its
//!    balance; (d) a debt at zero is paid off that month.
//! 3. The plan stops when nothing is owed, or after [`MAX_MONTHS`], or in the first month in which a debt's
//!    interest is at least the most it can be paid in a month (the whole budget; without a budget, its own
//!    minimum): from then on its balance never falls, so the plan never ends ([`NeverFalls`]).
//!
//! The arithmetic is in whole cents (`i128`), every step checked: an amount past what a `Decimal` holds is
//! [`PlanError::OutOfRange`], never a panic or a wrapped number. Rule 3's early stop is also what keeps the
//! amounts small: a balance only grows while its interest is below the budget.

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use std::cmp::Reverse;

use events::{InterestMethod, PaymentFrequency};

/// The longest plan: 100 years.
pub const MAX_MONTHS: u32 = 1_200;

/// Rounds to the cent, half away from zero: the one rounding rule of every plan figure.
pub fn cents(value: Decimal) -> Decimal {
    let mut value = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    value.rescale(2);
    value
}

/// A minimum payment per `frequency` as a monthly amount (rule 1).
pub fn monthly_minimum(minimum_payment: Decimal, frequency: PaymentFrequency) -> Decimal {
    let (times, per) = match frequency {
        PaymentFrequency::Weekly => (52, 12),
        PaymentFrequency::Biweekly => (26, 12),
        PaymentFrequency::Monthly => (1, 1),
        PaymentFrequency::Quarterly => (1, 3),
        PaymentFrequency::Annually => (1, 12),
    };
    cents(minimum_payment * Decimal::from(times) / Decimal::from(per))
}

/// A yearly percentage as a monthly rate: `interest_rate / 100 / 12`.
pub fn monthly_rate(interest_rate: Decimal) -> Decimal {
    interest_rate / Decimal::from(1_200)
}

/// One month's interest on `balance` (rule 2a), computed exactly: `balance x rate / 1200` is a fraction of
/// whole numbers (cents, and the rate's ten-thousandths), so a half cent is found exactly and goes up. (A
/// decimal `rate / 1200` first would round 1/1200 to 28 digits and turn 6.00 at 1 %, exactly 0.005, into
/// 0.0049999…)
pub fn interest(balance: Decimal, interest_rate: Decimal) -> Decimal {
    let cents = interest_cents(to_cents(balance), rate_e4(interest_rate));
    cents
        .and_then(|c| from_cents(c).ok())
        .expect("a Decimal balance times a rate of at most 4 places over 1200 is a Decimal")
}

/// Interest by the average daily balance (`interest_method: daily`): the sum over the days of each day's
/// closing balance x that day's yearly rate / 36500, rounded once, to the cent half away from zero. The days
/// come as runs `(balance, rate, days)` of days alike, so a long stretch at one balance and rate is one
/// product. Exact like [`interest`]: the sum is kept as whole cents x ten-thousandths of a percent, divided
/// once. `None` past `i128` (not reached: a balance below a trillion over 110,000 days at 100 % is far
/// inside).
pub fn daily_interest(runs: impl IntoIterator<Item = (Decimal, Decimal, u32)>) -> Option<Decimal> {
    const PER: i128 = 36_500 * 10_000;
    let mut exact: i128 = 0;
    for (balance, rate, days) in runs {
        let run = to_cents(balance)
            .checked_mul(rate_e4(rate))?
            .checked_mul(i128::from(days))?;
        exact = exact.checked_add(run)?;
    }
    from_cents(round_half_away(exact, PER)).ok()
}

/// `exact / per` to the nearest whole number, a half away from zero.
fn round_half_away(exact: i128, per: i128) -> i128 {
    let (whole, rest) = (exact / per, exact % per);
    // |rest| < per, so doubling it cannot overflow.
    if 2 * rest.abs() >= per {
        whole + exact.signum()
    } else {
        whole
    }
}

/// An amount in whole cents (rounded to the cent first).
fn to_cents(amount: Decimal) -> i128 {
    cents(amount).mantissa()
}

fn from_cents(amount: i128) -> Result<Decimal, PlanError> {
    Decimal::try_from_i128_with_scale(amount, 2).map_err(|_| PlanError::OutOfRange)
}

/// `a + b`, or [`PlanError::OutOfRange`].
fn add(a: i128, b: i128) -> Result<i128, PlanError> {
    a.checked_add(b).ok_or(PlanError::OutOfRange)
}

/// A yearly percentage in ten-thousandths (4.5 % is 45,000): rates have at most 4 decimal places.
fn rate_e4(interest_rate: Decimal) -> i128 {
    let mut rate = interest_rate;
    rate.rescale(4);
    rate.mantissa()
}

/// `balance_cents x rate_e4 / (1200 x 10,000)`, rounded to the cent half away from zero; `None` past `i128`.
fn interest_cents(balance_cents: i128, rate_e4: i128) -> Option<i128> {
    const PER: i128 = 1_200 * 10_000;
    Some(round_half_away(balance_cents.checked_mul(rate_e4)?, PER))
}

/// The days of a plan's month for a debt whose lender uses the average daily balance: 365 / 12 to four
/// places. No real cycle has it (they have 28-31 days), and a plan does not know when within a month money
/// moves, so a `daily` debt's month in a plan is an approximation; a `monthly` one is exact to the cent.
pub const DAYS_PER_PLAN_MONTH: Decimal = Decimal::from_parts(304_167, 0, 0, false, 4);

/// One month's interest in cents under `method` (rule 2a): `monthly`, balance x rate / 1200; `daily`,
/// balance x rate / 36500 x [`DAYS_PER_PLAN_MONTH`]; each exact, rounded once to the cent half away from
/// zero. `None` past `i128`.
fn month_interest_cents(
    balance_cents: i128,
    rate_e4: i128,
    method: InterestMethod,
) -> Option<i128> {
    match method {
        InterestMethod::Monthly => interest_cents(balance_cents, rate_e4),
        InterestMethod::Daily => {
            const PER: i128 = 36_500 * 10_000 * 10_000;
            let exact = balance_cents
                .checked_mul(rate_e4)?
                .checked_mul(DAYS_PER_PLAN_MONTH.mantissa())?;
            Some(round_half_away(exact, PER))
        }
    }
}

/// One month's interest on `balance` at `interest_rate` under `method`, as a plan accrues it.
pub fn month_interest(balance: Decimal, interest_rate: Decimal, method: InterestMethod) -> Decimal {
    month_interest_cents(to_cents(balance), rate_e4(interest_rate), method)
        .and_then(|c| from_cents(c).ok())
        .expect("a Decimal balance times a rate of at most 4 places over 1200 is a Decimal")
}

/// A debt as a plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDebt {
    pub debt_id: String,
    pub debt_name: String,
    pub balance: Decimal,
    /// Yearly, in percent: the rate of the plan's first month.
    pub interest_rate: Decimal,
    pub monthly_minimum: Decimal,
    /// Where the rate changes later in the plan (the debt's rate schedule, by month): empty when it does not.
    pub rate_steps: Vec<RateFrom>,
    /// How its lender works out interest: `daily` is approximated (see [`DAYS_PER_PLAN_MONTH`]).
    pub interest_method: InterestMethod,
}

/// From the plan's month `from_month` (1-based) on, a debt's yearly rate is `interest_rate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateFrom {
    pub from_month: u32,
    pub interest_rate: Decimal,
}

/// Which month of a plan that starts with the month of `start` holds `day` (1-based), when one of its
/// [`MAX_MONTHS`] does.
pub fn plan_month(start: NaiveDate, day: NaiveDate) -> Option<u32> {
    let months = (day.year() - start.year()) * 12 + day.month0() as i32 - start.month0() as i32 + 1;
    u32::try_from(months)
        .ok()
        .filter(|m| (1..=MAX_MONTHS).contains(m))
}

/// A debt's rates over a plan that starts with the month of `start` (its first day): the first month's,
/// and where they change later (rule 1: a month's rate is the rate in force on its last day, so a promotion
/// ending mid-month is over for that month). Only the months holding a step's first day or the day after its
/// end can change the rate, so this looks at those alone: at most two per step, whatever the plan's length.
pub fn rates_by_month(record: &crate::DebtRecord, start: NaiveDate) -> (Decimal, Vec<RateFrom>) {
    let last_day = |month: u32| {
        start
            .checked_add_months(Months::new(month))
            .and_then(|next| next.pred_opt())
    };
    // The first month's rate is taken above; only later months can change it.
    let month_of = |day: NaiveDate| plan_month(start, day).filter(|&m| m >= 2);
    let first = last_day(1).map_or(record.interest_rate, |day| record.rate_on(day));
    let mut candidates: Vec<u32> = record
        .rate_schedule
        .iter()
        .flat_map(|step| {
            [
                Some(step.effective_on),
                step.ends_on.and_then(|end| end.succ_opt()),
            ]
        })
        .flatten()
        .filter_map(month_of)
        .collect();
    candidates.sort_unstable();
    candidates.dedup();
    let mut steps = Vec::new();
    let mut current = first;
    for month in candidates {
        let Some(day) = last_day(month) else { break };
        let rate = record.rate_on(day);
        if rate != current {
            steps.push(RateFrom {
                from_month: month,
                interest_rate: rate,
            });
            current = rate;
        }
    }
    (first, steps)
}

/// In which order extra money goes to the debts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    /// Highest rate first; ties by smaller balance, then by `debt_id`.
    Avalanche,
    /// Smallest balance first; ties by higher rate, then by `debt_id`.
    Snowball,
    /// The caller's order of `debt_id`s: every debt of the plan exactly once.
    Custom(Vec<String>),
}

impl Strategy {
    pub fn name(&self) -> &'static str {
        match self {
            Strategy::Avalanche => "avalanche",
            Strategy::Snowball => "snowball",
            Strategy::Custom(_) => "custom",
        }
    }
}

/// Why no plan can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("monthly_budget is less than the sum of the monthly minimums, {minimums}")]
    BudgetBelowMinimums { minimums: Decimal },
    #[error("order must name every open debt exactly once")]
    OrderMismatch {
        missing: Vec<String>,
        unknown: Vec<String>,
        repeated: Vec<String>,
    },
    /// An amount of the plan passed what a `Decimal` holds (rule 3's early stop keeps every plan of amounts
    /// the API accepts below it; this is the checked arithmetic's answer should one not be).
    #[error("the plan's amounts are too large to compute")]
    OutOfRange,
}

/// Positions into `debts`, in the strategy's order (rule 3), fixed at the start.
pub fn order(debts: &[PlanDebt], strategy: &Strategy) -> Result<Vec<usize>, PlanError> {
    let mut positions: Vec<usize> = (0..debts.len()).collect();
    // Each strategy's key, the debt id last so that equal debts keep one order.
    let debt = |i: usize| &debts[i];
    match strategy {
        Strategy::Avalanche => positions.sort_by_key(|&i| {
            (
                Reverse(debt(i).interest_rate),
                debt(i).balance,
                &debt(i).debt_id,
            )
        }),
        Strategy::Snowball => positions.sort_by_key(|&i| {
            (
                debt(i).balance,
                Reverse(debt(i).interest_rate),
                &debt(i).debt_id,
            )
        }),
        Strategy::Custom(ids) => return custom_order(debts, ids),
    }
    Ok(positions)
}

fn custom_order(debts: &[PlanDebt], ids: &[String]) -> Result<Vec<usize>, PlanError> {
    use std::collections::{HashMap, HashSet};
    // Hash lookups: the order is as long as the caller makes it (the handler bounds it too).
    let positions: HashMap<&str, usize> = debts
        .iter()
        .enumerate()
        .map(|(i, d)| (d.debt_id.as_str(), i))
        .collect();
    let (mut seen, mut reported) = (HashSet::new(), HashSet::new());
    let (mut unknown, mut repeated) = (Vec::new(), Vec::new());
    let mut placed = Vec::with_capacity(debts.len());
    for id in ids {
        match positions.get(id.as_str()) {
            Some(&i) if seen.insert(i) => placed.push(i),
            // Each id reported once, however often it is repeated.
            _ if !reported.insert(id.as_str()) => {}
            None => unknown.push(id.clone()),
            Some(_) => repeated.push(id.clone()),
        }
    }
    let missing: Vec<String> = debts
        .iter()
        .enumerate()
        .filter(|(i, _)| !seen.contains(i))
        .map(|(_, d)| d.debt_id.clone())
        .collect();
    if !(unknown.is_empty() && repeated.is_empty() && missing.is_empty()) {
        return Err(PlanError::OrderMismatch {
            missing,
            unknown,
            repeated,
        });
    }
    Ok(placed)
}

/// One debt in one month of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based.
    pub month: u32,
    pub debt_id: String,
    pub interest: Decimal,
    pub payment: Decimal,
    /// After the month's interest and payment.
    pub balance: Decimal,
}

/// What a plan did to one debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtOutcome {
    pub debt_id: String,
    pub debt_name: String,
    /// 1-based position in the strategy's order.
    pub order: u32,
    /// 1-based; `None` when the plan ended with something still owed.
    pub paid_off_month: Option<u32>,
    pub interest_paid: Decimal,
    pub total_paid: Decimal,
}

/// Why a plan never ends: from `month` on, debt `debt_id`'s interest is at least the most it can be paid in a
/// month, so its balance never falls (rule 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeverFalls {
    pub debt_id: String,
    /// 1-based.
    pub month: u32,
}

/// Which rows of a plan to keep: whole months from `from_month` (1-based) while they fit in `max_rows` (at
/// least one month, so a page always moves on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowWindow {
    pub from_month: u32,
    pub max_rows: usize,
}

impl RowWindow {
    /// Every row (a one-debt schedule: at most [`MAX_MONTHS`] rows).
    pub const ALL: RowWindow = RowWindow {
        from_month: 1,
        max_rows: usize::MAX,
    };
}

/// A simulated plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Months until nothing is owed, or the month the plan stopped ([`MAX_MONTHS`], or [`NeverFalls::month`]).
    pub months: u32,
    pub debt_free: bool,
    /// Set when the plan stopped because a debt's balance can never fall.
    pub never_falls: Option<NeverFalls>,
    pub total_interest: Decimal,
    pub total_paid: Decimal,
    /// In strategy order.
    pub debts: Vec<DebtOutcome>,
    /// The window's months, each month's debts in strategy order (none without a window).
    pub rows: Vec<Row>,
    /// The first month after the window's rows, when the plan goes on past them.
    pub next_month: Option<u32>,
    /// The total balance at the end of each month, month 1 first (what an adopted plan promises).
    pub month_totals: Vec<Decimal>,
}

/// The plan with `budget` a month, extra money in `order` (rule 2); `budget: None` pays each debt only its
/// own minimum (no rollover). Refuses a budget below the sum of the monthly minimums.
pub fn simulate(
    debts: &[PlanDebt],
    order: &[usize],
    budget: Option<Decimal>,
    rows: Option<RowWindow>,
) -> Result<Plan, PlanError> {
    run_plan(
        debts,
        order.to_vec(),
        false,
        budget,
        &BudgetChanges::default(),
        rows,
        MAX_MONTHS,
    )
}

/// How a plan's monthly budget moves (rule 7): from a month on (`changes`), and once in a month (`extras`,
/// negative to pay less that month, never below the minimums). Months are the plan's, 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetChanges {
    pub changes: Vec<(u32, Decimal)>,
    pub extras: Vec<(u32, Decimal)>,
}

/// Whether a constant `budget` under `strategy` leaves nothing owed by the end of the plan's month `months`.
pub fn debt_free_by(
    debts: &[PlanDebt],
    strategy: &Strategy,
    budget: Decimal,
    months: u32,
) -> Result<bool, PlanError> {
    let order = order(debts, strategy)?;
    let resort = matches!(strategy, Strategy::Avalanche);
    let plan = run_plan(
        debts,
        order,
        resort,
        Some(budget),
        &BudgetChanges::default(),
        None,
        months,
    )?;
    Ok(plan.debt_free)
}

/// The least constant monthly budget, in cents, that leaves nothing owed by the end of the plan's month
/// `months` under `strategy` (rule 10): a search over whole cents between the sum of the minimums and what
/// pays every debt off in the first month, each step one simulation of at most `months` months. A larger
/// budget never leaves more owed, so the answer pays off in time and one cent less does not (or it is the
/// minimums themselves).
pub fn required_budget(
    debts: &[PlanDebt],
    strategy: &Strategy,
    months: u32,
) -> Result<Decimal, PlanError> {
    let minimums = debts
        .iter()
        .try_fold(0, |sum, d| add(sum, to_cents(d.monthly_minimum)))?;
    // Everything owed after the first month's interest: that budget clears every debt in month 1.
    let mut high = debts.iter().try_fold(0, |sum, d| {
        let balance = to_cents(d.balance);
        let interest = month_interest_cents(balance, rate_e4(d.interest_rate), d.interest_method)
            .ok_or(PlanError::OutOfRange)?;
        add(sum, add(balance, interest)?)
    })?;
    high = high.max(minimums);
    let mut low = minimums;
    let ok = |cents: i128| -> Result<bool, PlanError> {
        debt_free_by(debts, strategy, from_cents(cents)?, months)
    };
    if ok(low)? {
        return from_cents(low);
    }
    // Invariant: `low` does not pay off in time, `high` does.
    while high - low > 1 {
        let middle = low + (high - low) / 2;
        if ok(middle)? {
            high = middle;
        } else {
            low = middle;
        }
    }
    from_cents(high)
}

/// The plan of `strategy` (its order by rule 4); avalanche sorts again by the rates in force whenever a
/// debt's rate changes (its rate schedule), snowball and a custom order keep theirs. The budget moves as
/// `changes` say.
pub fn simulate_strategy(
    debts: &[PlanDebt],
    strategy: &Strategy,
    budget: Option<Decimal>,
    changes: &BudgetChanges,
    rows: Option<RowWindow>,
) -> Result<Plan, PlanError> {
    let order = order(debts, strategy)?;
    let resort = matches!(strategy, Strategy::Avalanche);
    run_plan(debts, order, resort, budget, changes, rows, MAX_MONTHS)
}

/// The plan in `order` (sorted again by rate when `resort` and a rate changes), for at most `months` months.
fn run_plan(
    debts: &[PlanDebt],
    order: Vec<usize>,
    resort: bool,
    budget: Option<Decimal>,
    changes: &BudgetChanges,
    rows: Option<RowWindow>,
    months: u32,
) -> Result<Plan, PlanError> {
    // Whole cents throughout (integers: exact, and fast), decimals with two places again at the end.
    let minimums = debts
        .iter()
        .try_fold(0, |sum, d| add(sum, to_cents(d.monthly_minimum)))?;
    let budget = budget.map(to_cents);
    let below = || -> Result<PlanError, PlanError> {
        Ok(PlanError::BudgetBelowMinimums {
            minimums: from_cents(minimums)?,
        })
    };
    if budget.is_some_and(|b| b < minimums) {
        return Err(below()?);
    }
    let mut steps: Vec<(u32, i128)> = changes
        .changes
        .iter()
        .map(|&(month, amount)| (month, to_cents(amount)))
        .collect();
    if budget.is_some() && steps.iter().any(|&(_, b)| b < minimums) {
        return Err(below()?);
    }
    steps.sort_by_key(|&(month, _)| month);
    let mut run = Run::new(debts, order, resort, rows);
    let mut month = 0;
    let mut monthly = budget;
    while month < months.min(MAX_MONTHS) && run.owes() && run.never_falls.is_none() {
        month += 1;
        if let Some(base) = monthly.as_mut() {
            if let Some(&(_, changed)) = steps.iter().rev().find(|&&(from, _)| from == month) {
                *base = changed;
            }
        }
        let this_month = match monthly {
            Some(base) => {
                let extra = changes
                    .extras
                    .iter()
                    .filter(|&&(m, _)| m == month)
                    .try_fold(0, |sum, &(_, amount)| add(sum, to_cents(amount)))?;
                Some(add(base, extra)?.max(minimums))
            }
            None => None,
        };
        run.month(month, this_month)?;
    }
    run.into_plan(month)
}

/// A plan being simulated, in whole cents: balances, and what each debt was charged and paid so far.
struct Run<'a> {
    debts: &'a [PlanDebt],
    /// The strategy's order at the start (what the answer reports) and now (avalanche may sort again).
    first_order: Vec<usize>,
    order: Vec<usize>,
    /// Whether to sort by rate again when a rate changes (avalanche).
    resort: bool,
    rates: Vec<i128>,
    /// Per debt, how many of its `rate_steps` have taken effect.
    steps_taken: Vec<usize>,
    minimums: Vec<i128>,
    balances: Vec<i128>,
    /// Per debt: (paid off in month, interest, paid).
    outcomes: Vec<(Option<u32>, i128, i128)>,
    never_falls: Option<NeverFalls>,
    window: Option<RowWindow>,
    rows: Vec<Row>,
    next_month: Option<u32>,
    month_totals: Vec<Decimal>,
}

impl<'a> Run<'a> {
    fn new(
        debts: &'a [PlanDebt],
        order: Vec<usize>,
        resort: bool,
        window: Option<RowWindow>,
    ) -> Self {
        Run {
            debts,
            first_order: order.clone(),
            order,
            resort,
            rates: debts.iter().map(|d| rate_e4(d.interest_rate)).collect(),
            steps_taken: vec![0; debts.len()],
            minimums: debts.iter().map(|d| to_cents(d.monthly_minimum)).collect(),
            balances: debts.iter().map(|d| to_cents(d.balance)).collect(),
            outcomes: vec![(None, 0, 0); debts.len()],
            never_falls: None,
            window,
            rows: Vec::new(),
            next_month: None,
            month_totals: Vec::new(),
        }
    }

    fn owes(&self) -> bool {
        self.balances.iter().any(|b| *b > 0)
    }

    /// One month: interest, minimums, then the rest of the budget in order (rule 2, a to d); notes a debt
    /// whose interest the most it can be paid does not cover (rule 3).
    fn month(&mut self, month: u32, budget: Option<i128>) -> Result<(), PlanError> {
        self.rates_of(month);
        let count = self.debts.len();
        let (mut paid, mut accrued) = (vec![0i128; count], vec![0i128; count]);
        let open: Vec<(usize, usize)> = self
            .order
            .iter()
            .copied()
            .enumerate()
            .filter(|&(_, i)| self.balances[i] > 0)
            .collect();
        for &(_, i) in &open {
            accrued[i] = month_interest_cents(
                self.balances[i],
                self.rates[i],
                self.debts[i].interest_method,
            )
            .ok_or(PlanError::OutOfRange)?;
            let most = budget.unwrap_or(self.minimums[i]);
            if accrued[i] >= most && self.never_falls.is_none() {
                self.never_falls = Some(NeverFalls {
                    debt_id: self.debts[i].debt_id.clone(),
                    month,
                });
            }
            self.balances[i] = add(self.balances[i], accrued[i])?;
            paid[i] = self.minimums[i].min(self.balances[i]);
            self.balances[i] -= paid[i];
        }
        if let Some(budget) = budget {
            // Minimums are paid only while owed, and together they are at most the budget (checked above).
            let mut left = budget - paid.iter().sum::<i128>();
            for &(_, i) in &open {
                let extra = left.min(self.balances[i]);
                paid[i] += extra;
                self.balances[i] -= extra;
                left -= extra;
            }
        }
        for &(_, i) in &open {
            let outcome = &mut self.outcomes[i];
            outcome.1 = add(outcome.1, accrued[i])?;
            outcome.2 = add(outcome.2, paid[i])?;
            if self.balances[i] == 0 {
                outcome.0 = Some(month);
            }
        }
        let total = self.balances.iter().try_fold(0, |sum, b| add(sum, *b))?;
        self.month_totals.push(from_cents(total)?);
        self.keep_rows(month, &open, &accrued, &paid)
    }

    /// Takes the rate steps that start with `month`; avalanche then sorts by the rates in force (ties by
    /// the smaller balance now, then by debt id, as at the start).
    fn rates_of(&mut self, month: u32) {
        let mut changed = false;
        for (i, debt) in self.debts.iter().enumerate() {
            while let Some(step) = debt.rate_steps.get(self.steps_taken[i]) {
                if step.from_month > month {
                    break;
                }
                self.rates[i] = rate_e4(step.interest_rate);
                self.steps_taken[i] += 1;
                changed = true;
            }
        }
        if changed && self.resort {
            let (rates, balances, debts) = (&self.rates, &self.balances, self.debts);
            self.order
                .sort_by_key(|&i| (Reverse(rates[i]), balances[i], &debts[i].debt_id));
        }
    }

    /// The month's rows, when the window takes them: whole months, while they fit.
    fn keep_rows(
        &mut self,
        month: u32,
        open: &[(usize, usize)],
        accrued: &[i128],
        paid: &[i128],
    ) -> Result<(), PlanError> {
        let Some(window) = self.window else {
            return Ok(());
        };
        if month < window.from_month || self.next_month.is_some() {
            return Ok(());
        }
        if !self.rows.is_empty() && self.rows.len() + open.len() > window.max_rows {
            self.next_month = Some(month);
            return Ok(());
        }
        for &(_, i) in open {
            self.rows.push(Row {
                month,
                debt_id: self.debts[i].debt_id.clone(),
                interest: from_cents(accrued[i])?,
                payment: from_cents(paid[i])?,
                balance: from_cents(self.balances[i])?,
            });
        }
        Ok(())
    }

    fn into_plan(self, months: u32) -> Result<Plan, PlanError> {
        let mut debts = Vec::with_capacity(self.first_order.len());
        for (&i, rank) in self.first_order.iter().zip(1..) {
            let (paid_off_month, interest, paid) = self.outcomes[i];
            debts.push(DebtOutcome {
                debt_id: self.debts[i].debt_id.clone(),
                debt_name: self.debts[i].debt_name.clone(),
                order: rank,
                paid_off_month,
                interest_paid: from_cents(interest)?,
                total_paid: from_cents(paid)?,
            });
        }
        let total = |pick: fn(&(Option<u32>, i128, i128)) -> i128| {
            self.outcomes
                .iter()
                .try_fold(0, |sum, o| add(sum, pick(o)))
                .and_then(from_cents)
        };
        Ok(Plan {
            months,
            debt_free: self.balances.iter().all(|b| *b == 0),
            total_interest: total(|o| o.1)?,
            total_paid: total(|o| o.2)?,
            never_falls: self.never_falls,
            debts,
            rows: self.rows,
            next_month: self.next_month,
            month_totals: self.month_totals,
        })
    }
}

/// The level monthly payment that clears `balance` in `months` months at `interest_rate`:
/// `A = r·B / (1 − (1 + r)^−n)`, rounded up to the cent (`B / n` when the rate is 0).
pub fn level_payment(balance: Decimal, interest_rate: Decimal, months: u32) -> Decimal {
    let n = Decimal::from(months);
    let r = monthly_rate(interest_rate);
    let exact = if r.is_zero() {
        balance / n
    } else {
        let mut growth = Decimal::ONE;
        for _ in 0..months {
            growth *= Decimal::ONE + r;
        }
        // r·B / (1 − g⁻¹) = r·B·g / (g − 1), with g = (1 + r)^n.
        r * balance * growth / (growth - Decimal::ONE)
    };
    let mut up = exact.round_dp_with_strategy(2, RoundingStrategy::AwayFromZero);
    up.rescale(2);
    up
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, proptest, ProptestConfig};
    use proptest::strategy::Strategy as Generator;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn debt(id: &str, balance: &str, rate: &str, minimum: &str) -> PlanDebt {
        PlanDebt {
            debt_id: id.into(),
            debt_name: format!("Debt {id}"),
            balance: dec(balance),
            interest_rate: dec(rate),
            monthly_minimum: dec(minimum),
            rate_steps: Vec::new(),
            interest_method: InterestMethod::Monthly,
        }
    }

    fn plan(debts: &[PlanDebt], strategy: Strategy, budget: &str) -> Plan {
        let order = order(debts, &strategy).unwrap();
        simulate(debts, &order, Some(dec(budget)), Some(RowWindow::ALL)).unwrap()
    }

    /// A record at 4.5 % with `steps` (rate, first day, last day, kind) of its rate schedule.
    fn scheduled(steps: &[(&str, &str, Option<&str>, events::RateKind)]) -> crate::DebtRecord {
        let day = |d: &str| NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap();
        let mut record = crate::DebtView::from_history(&[events::EventEnvelope::new(
            "d",
            1,
            events::EventPayload::DebtCreated(events::DebtCreated {
                owner: "alice".into(),
                debt_name: "Card".into(),
                principal: dec("1000"),
                interest_rate: dec("4.5"),
                start_date: day("2025-01-01"),
                payment_frequency: PaymentFrequency::Monthly,
                current_balance: dec("1000"),
                creditor: None,
                minimum_payment: None,
                terms: Default::default(),
            }),
            chrono::Utc::now(),
            "alice",
            uuid::Uuid::nil(),
        )])
        .unwrap()
        .fields;
        record.rate_schedule = steps
            .iter()
            .map(|&(rate, from, to, kind)| crate::RateStep {
                rate: dec(rate),
                effective_on: day(from),
                ends_on: to.map(day),
                kind,
            })
            .collect();
        record
    }

    /// Issue 31: a month's rate is the rate in force on its last day, so a promotion through the end of
    /// March is March's rate, one that ends on the 15th is not; the rate before the promotion comes back.
    #[test]
    fn a_plan_takes_each_months_rate_from_the_schedule() {
        use events::RateKind::{Promotional, Standard};
        let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let through_march = scheduled(&[
            ("19.99", "2025-02-01", None, Standard),
            ("0", "2026-11-20", Some("2027-03-31"), Promotional),
        ]);
        let (first, steps) = rates_by_month(&through_march, start);
        assert_eq!(first, dec("0"));
        assert_eq!(
            steps,
            [RateFrom {
                from_month: 5,
                interest_rate: dec("19.99")
            }]
        );
        let mid_march = scheduled(&[("0", "2026-12-01", Some("2027-03-15"), Promotional)]);
        let (first, steps) = rates_by_month(&mid_march, start);
        assert_eq!(first, dec("0"));
        assert_eq!(steps[0].from_month, 4, "March is at 4.5 again");
        assert_eq!(steps[0].interest_rate, dec("4.5"));
        let (first, steps) = rates_by_month(&scheduled(&[]), start);
        assert_eq!((first, steps.len()), (dec("4.5"), 0));
    }

    /// Avalanche sorts again when a rate changes: the 0 % card waits behind the 10 % loan until its promotion
    /// ends at 25 %, then takes the extra money; snowball keeps its order.
    #[test]
    fn avalanche_follows_the_rates_in_force_and_snowball_keeps_its_order() {
        let mut card = debt("card", "3000", "0", "30");
        card.rate_steps = vec![RateFrom {
            from_month: 3,
            interest_rate: dec("25"),
        }];
        let loan = debt("loan", "3000", "10", "30");
        let debts = [card, loan];
        let extra_to = |plan: &Plan, month: u32| -> Vec<String> {
            plan.rows
                .iter()
                .filter(|r| r.month == month && r.payment > dec("30"))
                .map(|r| r.debt_id.clone())
                .collect()
        };
        let plan_of = |strategy: Strategy| {
            let changes = BudgetChanges::default();
            simulate_strategy(
                &debts,
                &strategy,
                Some(dec("560")),
                &changes,
                Some(RowWindow::ALL),
            )
            .unwrap()
        };
        let avalanche = plan_of(Strategy::Avalanche);
        assert_eq!(extra_to(&avalanche, 1), ["loan"]);
        assert_eq!(extra_to(&avalanche, 2), ["loan"]);
        assert_eq!(extra_to(&avalanche, 3), ["card"], "25 % from month 3");
        let card_month_3 = avalanche
            .rows
            .iter()
            .find(|r| r.month == 3 && r.debt_id == "card");
        // Two months of 30.00 minimums on 3,000 at 0 %, then 2,940 x 25 / 1200.
        assert_eq!(card_month_3.unwrap().interest, dec("61.25"));
        let snowball = plan_of(Strategy::Snowball);
        assert_eq!(extra_to(&snowball, 3), extra_to(&snowball, 1));
        assert_eq!(
            avalanche.debts[0].debt_id, "loan",
            "the order reported is the first month's"
        );
    }

    /// Rule 8: a budget change holds from its month on, an extra adds to its month only, a negative extra
    /// never takes a month below the minimums, and a change below them is refused.
    #[test]
    fn the_budget_moves_from_a_month_on_and_once_in_a_month() {
        let debts = [debt("a", "1000", "0", "50")];
        let run = |changes: Vec<(u32, &str)>, extras: Vec<(u32, &str)>| {
            let changes = BudgetChanges {
                changes: changes.into_iter().map(|(m, a)| (m, dec(a))).collect(),
                extras: extras.into_iter().map(|(m, a)| (m, dec(a))).collect(),
            };
            simulate_strategy(
                &debts,
                &Strategy::Avalanche,
                Some(dec("100")),
                &changes,
                Some(RowWindow::ALL),
            )
        };
        let paid = |plan: &Plan| -> Vec<String> {
            plan.rows.iter().map(|r| r.payment.to_string()).collect()
        };
        let moved = run(vec![(3, "200")], vec![(2, "150"), (4, "-120")]).unwrap();
        assert_eq!(
            paid(&moved)[..5],
            ["100.00", "250.00", "200.00", "80.00", "200.00"]
        );
        assert_eq!(
            paid(&moved)[3],
            "80.00",
            "200 - 120, above the 50.00 minimum"
        );
        let floor = run(vec![], vec![(1, "-90")]).unwrap();
        assert_eq!(paid(&floor)[0], "50.00", "never below the minimums");
        assert!(matches!(
            run(vec![(2, "40")], vec![]),
            Err(PlanError::BudgetBelowMinimums { .. })
        ));
    }

    #[test]
    fn minimums_convert_per_frequency_to_the_cent() {
        let m = |f| monthly_minimum(dec("100"), f).to_string();
        assert_eq!(m(PaymentFrequency::Weekly), "433.33");
        assert_eq!(m(PaymentFrequency::Biweekly), "216.67");
        assert_eq!(m(PaymentFrequency::Monthly), "100.00");
        assert_eq!(m(PaymentFrequency::Quarterly), "33.33");
        assert_eq!(m(PaymentFrequency::Annually), "8.33");
        // 0.05 x 26 / 12 = 0.108333: half away from zero at the cent.
        assert_eq!(
            monthly_minimum(dec("0.05"), PaymentFrequency::Biweekly).to_string(),
            "0.11"
        );
        assert_eq!(interest(dec("1000"), dec("18")).to_string(), "15.00");
        // The daily rule over a plan's 30.4167-day month: 1,000,000 x 20 / 36500 x 30.4167 = 16,666.6849…
        // against the monthly rule's 16,666.6666…
        let daily = month_interest(dec("1000000"), dec("20"), InterestMethod::Daily);
        assert_eq!(daily.to_string(), "16666.68");
        let monthly = month_interest(dec("1000000"), dec("20"), InterestMethod::Monthly);
        assert_eq!(monthly.to_string(), "16666.67");
        assert_eq!(
            month_interest(dec("1234.56"), dec("19.99"), InterestMethod::Daily).to_string(),
            "20.57"
        );
        assert_eq!(interest(dec("0.30"), dec("10")).to_string(), "0.00");
        assert_eq!(
            interest(dec("0.60"), dec("10")).to_string(),
            "0.01",
            "0.005 rounds away"
        );
        // 6.00 x 1 / 1200 is exactly 0.005: half a cent, away from zero, whatever 1/1200's decimal expansion.
        assert_eq!(interest(dec("6.00"), dec("1")).to_string(), "0.01");
        assert_eq!(interest(dec("3.00"), dec("2")).to_string(), "0.01");
        assert_eq!(interest(dec("18.00"), dec("0.3333")).to_string(), "0.00");
    }

    #[test]
    fn strategies_order_by_rate_or_balance_with_ties_broken() {
        let debts = [
            debt("c", "500", "20", "10"),
            debt("a", "500", "20", "10"),
            debt("b", "100", "5", "10"),
            debt("d", "100", "25", "10"),
        ];
        let ids = |s: Strategy| -> Vec<&str> {
            order(&debts, &s)
                .unwrap()
                .iter()
                .map(|&i| debts[i].debt_id.as_str())
                .collect()
        };
        assert_eq!(ids(Strategy::Avalanche), ["d", "a", "c", "b"]);
        assert_eq!(ids(Strategy::Snowball), ["d", "b", "a", "c"]);
        let custom = Strategy::Custom(vec!["b".into(), "a".into(), "d".into(), "c".into()]);
        assert_eq!(ids(custom), ["b", "a", "d", "c"]);
        let wrong = Strategy::Custom(vec!["a".into(), "a".into(), "x".into(), "b".into()]);
        assert_eq!(
            order(&debts, &wrong),
            Err(PlanError::OrderMismatch {
                missing: vec!["c".into(), "d".into()],
                unknown: vec!["x".into()],
                repeated: vec!["a".into()],
            })
        );
    }

    #[test]
    fn the_rollover_pays_the_next_debt_once_one_is_paid_off() {
        let debts = [
            debt("small", "100", "0", "50"),
            debt("big", "1000", "0", "50"),
        ];
        let plan = plan(&debts, Strategy::Snowball, "200");
        // Month 1: minimums 50 + 50, the extra 100 to the smallest: it is paid off.
        assert_eq!(plan.rows[0].payment.to_string(), "100.00");
        assert_eq!(plan.debts[0].paid_off_month, Some(1));
        // From month 2 all 200 go to the big one: 1000 - 100 = 900, then 200 a month.
        assert_eq!(plan.rows[2].payment.to_string(), "200.00");
        assert_eq!(plan.months, 6);
        assert_eq!(plan.debts[1].paid_off_month, Some(6));
        assert!(plan.debt_free);
    }

    #[test]
    fn the_budget_must_cover_the_minimums() {
        let debts = [debt("a", "100", "5", "30.50"), debt("b", "100", "5", "20")];
        assert_eq!(
            simulate(&debts, &[0, 1], Some(dec("50.49")), None),
            Err(PlanError::BudgetBelowMinimums {
                minimums: dec("50.50")
            })
        );
        assert!(simulate(&debts, &[0, 1], Some(dec("50.50")), None).is_ok());
    }

    #[test]
    fn a_minimum_that_only_covers_the_interest_never_pays_off() {
        // 10,000 at 24 % accrues exactly 200.00 a month: a minimum of 200 never moves the balance.
        let debts = [debt("a", "10000", "24", "200")];
        let plan = simulate(&debts, &[0], None, None).unwrap();
        assert!(!plan.debt_free);
        assert_eq!(plan.months, 1);
        assert_eq!(plan.never_falls.map(|n| n.debt_id), Some("a".into()));
        assert_eq!(plan.debts[0].paid_off_month, None);
    }

    #[test]
    fn a_balance_that_falls_too_slowly_stops_after_max_months() {
        let debts = [debt("a", "1000000", "0", "1.00")];
        let plan = simulate(&debts, &[0], None, None).unwrap();
        assert!(!plan.debt_free);
        assert_eq!(plan.months, MAX_MONTHS);
        assert_eq!(plan.never_falls, None);
    }

    #[test]
    fn a_row_window_keeps_whole_months_and_names_the_next() {
        let debts = [debt("a", "1000", "0", "100"), debt("b", "1000", "0", "100")];
        let window = RowWindow {
            from_month: 3,
            max_rows: 5,
        };
        let plan = simulate(&debts, &[0, 1], None, Some(window)).unwrap();
        assert_eq!(plan.months, 10);
        let months: Vec<u32> = plan.rows.iter().map(|r| r.month).collect();
        assert_eq!(months, [3, 3, 4, 4], "two whole months fit in 5 rows");
        assert_eq!(plan.next_month, Some(5));
        let last = RowWindow {
            from_month: 9,
            max_rows: 5,
        };
        let plan = simulate(&debts, &[0, 1], None, Some(last)).unwrap();
        assert_eq!(plan.rows.len(), 4);
        assert_eq!(plan.next_month, None);
        let wide = RowWindow {
            from_month: 1,
            max_rows: 1,
        };
        let plan = simulate(&debts, &[0, 1], None, Some(wide)).unwrap();
        assert_eq!(
            plan.rows.len(),
            2,
            "a month wider than the window is kept whole"
        );
        assert_eq!(plan.next_month, Some(2));
    }

    #[test]
    fn a_debt_that_grows_faster_than_it_can_be_paid_ends_as_never() {
        // 2,000 at 100 % accrues 166.67 in the first month: a minimum of 1.00 (or a budget of 100) never
        // catches up, and 1,200 months of growth would pass every integer type.
        let debts = [
            debt("a", "2000", "100", "1.00"),
            debt("b", "500", "0", "10"),
        ];
        for budget in [None, Some(dec("100"))] {
            let plan = simulate(&debts, &[0, 1], budget, Some(RowWindow::ALL)).unwrap();
            assert!(!plan.debt_free);
            assert_eq!(
                plan.never_falls,
                Some(NeverFalls {
                    debt_id: "a".into(),
                    month: 1
                }),
                "{budget:?}"
            );
            assert_eq!(plan.months, 1, "nothing after the month it is known");
            assert_eq!(plan.debts[0].paid_off_month, None);
        }
        // The largest inputs the API accepts do not overflow either.
        let max = debt("m", "999999999999.99", "100", "0.01");
        let plan = simulate(std::slice::from_ref(&max), &[0], None, None).unwrap();
        assert!(plan.never_falls.is_some());
        let plan = simulate(std::slice::from_ref(&max), &[0], Some(dec("1.00")), None).unwrap();
        assert!(plan.never_falls.is_some());
        let plan = simulate(&[max], &[0], Some(dec("999999999999.99")), None).unwrap();
        assert!(plan.debt_free, "a budget above the interest pays it off");
        assert_eq!(plan.months, 2);
    }

    #[test]
    fn a_level_payment_clears_a_debt_in_36_months() {
        let a = level_payment(dec("10000"), dec("6"), 36);
        // The textbook figure: 304.22 a month.
        assert_eq!(a.to_string(), "304.22");
        let one = [debt("a", "10000", "6", &a.to_string())];
        let plan = simulate(&one, &[0], Some(a), None).unwrap();
        assert_eq!(plan.months, 36);
        assert_eq!(
            level_payment(dec("1000"), dec("0"), 36).to_string(),
            "27.78",
            "B / 36, rounded up"
        );
    }

    fn arb_debt(id: usize) -> impl Generator<Value = PlanDebt> {
        (1_000i64..5_000_000, 0i64..300_000, 1i64..50_000).prop_map(
            move |(balance, rate, minimum)| PlanDebt {
                debt_id: format!("d{id}"),
                debt_name: format!("Debt {id}"),
                balance: Decimal::new(balance, 2),
                interest_rate: Decimal::new(rate, 4),
                monthly_minimum: Decimal::new(minimum, 2),
                rate_steps: Vec::new(),
                interest_method: InterestMethod::Monthly,
            },
        )
    }

    fn arb_debts() -> impl Generator<Value = Vec<PlanDebt>> {
        (1usize..6).prop_flat_map(|n| (0..n).map(arb_debt).collect::<Vec<_>>())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn plans_add_up_to_the_cent_and_stay_within_the_budget(debts in arb_debts(), extra in 0i64..200_000, avalanche in any::<bool>()) {
            let minimums: Decimal = debts.iter().map(|d| d.monthly_minimum).sum();
            let budget = minimums + Decimal::new(extra, 2);
            let strategy = if avalanche { Strategy::Avalanche } else { Strategy::Snowball };
            let order = order(&debts, &strategy).unwrap();
            let plan = simulate(&debts, &order, Some(budget), Some(RowWindow::ALL)).unwrap();
            let start: Decimal = debts.iter().map(|d| d.balance).sum();
            let owed: Decimal = plan.rows.iter().filter(|r| r.month == plan.months).map(|r| r.balance).sum();
            prop_assert_eq!(plan.total_paid, start + plan.total_interest - owed);
            if plan.debt_free {
                prop_assert_eq!(plan.total_paid, start + plan.total_interest);
            }
            for month in 1..=plan.months {
                let rows = plan.rows.iter().filter(|r| r.month == month);
                let paid: Decimal = rows.clone().map(|r| r.payment).sum();
                prop_assert!(paid <= budget, "month {} paid {} of {}", month, paid, budget);
                prop_assert!(rows.clone().all(|r| r.balance >= Decimal::ZERO));
            }
        }

        #[test]
        fn any_valid_input_gets_a_plan_that_adds_up(
            debts in proptest::collection::vec((1i64..=99_999_999_999_999, 0i64..=1_000_000, 1i64..=99_999_999_999_999), 1..5),
            extra in 0i64..=99_999_999_999_999, with_budget in any::<bool>(), avalanche in any::<bool>(),
        ) {
            // The whole range the API accepts: balances and minimums from a cent to Money::MAX, rates 0-100 %.
            let debts: Vec<PlanDebt> = debts.into_iter().enumerate().map(|(i, (balance, rate, minimum))| PlanDebt {
                debt_id: format!("d{i}"),
                debt_name: format!("Debt {i}"),
                balance: Decimal::new(balance, 2),
                interest_rate: Decimal::new(rate, 4),
                monthly_minimum: Decimal::new(minimum, 2),
                rate_steps: Vec::new(),
                interest_method: InterestMethod::Monthly,
            }).collect();
            let minimums: Decimal = debts.iter().map(|d| d.monthly_minimum).sum();
            let budget = with_budget.then(|| minimums + Decimal::new(extra, 2));
            let strategy = if avalanche { Strategy::Avalanche } else { Strategy::Snowball };
            let order = order(&debts, &strategy).unwrap();
            let plan = simulate(&debts, &order, budget, Some(RowWindow { from_month: 1, max_rows: 50 })).unwrap();
            prop_assert!(plan.months <= MAX_MONTHS);
            prop_assert!(plan.debt_free || plan.months == MAX_MONTHS || plan.never_falls.is_some());
            if plan.debt_free {
                let start: Decimal = debts.iter().map(|d| d.balance).sum();
                prop_assert_eq!(plan.total_paid, start + plan.total_interest);
            }
            prop_assert!(plan.rows.len() <= 50.max(debts.len()));
        }

        #[test]
        fn a_one_debt_plan_takes_the_closed_form_number_of_months(
            balance in 10_000i64..5_000_000, rate in 1i64..300_000, share in 2u32..60,
        ) {
            // A payment well above the first month's interest, so the closed form is defined.
            let b = Decimal::new(balance, 2);
            let r = Decimal::new(rate, 4);
            let a = cents(b / Decimal::from(share) + interest(b, r));
            let one = [PlanDebt { debt_id: "d".into(), debt_name: "D".into(), balance: b, interest_rate: r, monthly_minimum: a, rate_steps: Vec::new(), interest_method: InterestMethod::Monthly }];
            let plan = simulate(&one, &[0], Some(a), None).unwrap();
            let (b, r, a) = (b.to_string().parse::<f64>().unwrap(), r.to_string().parse::<f64>().unwrap() / 1200.0, a.to_string().parse::<f64>().unwrap());
            let n = -(1.0 - r * b / a).ln() / (1.0 + r).ln();
            // Interest rounded to the cent each month moves the real count by far less than a month; only a
            // count within a hair of a whole number may land on either side.
            let near_whole = (n - n.round()).abs() < 0.02;
            prop_assert!(plan.months == n.ceil() as u32 || (near_whole && plan.months.abs_diff(n.round() as u32) <= 1),
                "n = {}, simulated {}", n, plan.months);
        }

        #[test]
        fn without_interest_avalanche_and_snowball_pay_the_same(debts in arb_debts(), extra in 0i64..200_000) {
            let debts: Vec<PlanDebt> = debts.into_iter().map(|d| PlanDebt { interest_rate: Decimal::ZERO, ..d }).collect();
            let budget = debts.iter().map(|d| d.monthly_minimum).sum::<Decimal>() + Decimal::new(extra, 2);
            let total = |s: Strategy| {
                let order = order(&debts, &s).unwrap();
                simulate(&debts, &order, Some(budget), None).unwrap()
            };
            let (a, s) = (total(Strategy::Avalanche), total(Strategy::Snowball));
            prop_assert_eq!(a.total_paid, s.total_paid);
            prop_assert_eq!(a.total_interest, Decimal::ZERO);
            prop_assert_eq!(a.months, s.months);
        }

        /// Issue 31's `target=`: the required budget pays off by the target month, and one cent less does not
        /// (unless it is the minimums, which no budget may go below).
        #[test]
        fn the_required_budget_pays_off_in_time_and_a_cent_less_does_not(
            debts in arb_debts(), months in 1u32..48, avalanche in any::<bool>(),
        ) {
            let strategy = if avalanche { Strategy::Avalanche } else { Strategy::Snowball };
            let required = required_budget(&debts, &strategy, months).unwrap();
            prop_assert!(debt_free_by(&debts, &strategy, required, months).unwrap());
            let minimums: Decimal = debts.iter().map(|d| d.monthly_minimum).sum();
            if required > minimums {
                let less = required - Decimal::new(1, 2);
                prop_assert!(!debt_free_by(&debts, &strategy, less, months).unwrap(), "{} also pays off", less);
            }
        }
    }
}
