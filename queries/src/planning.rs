//! `GET /users/{username}/payoff-plan` and `GET /debts/{debt_id}/schedule`: payoff plans and amortization
//! schedules computed from the read model by `domain::plan` (the rules are in `docs/planning.md`). Read-only:
//! they write nothing. `Accept: text/csv` answers the month-by-month rows as CSV.

use chrono::{Datelike, Months, NaiveDate, Utc};
use domain::plan::{
    self, BudgetChanges, NeverFalls, Plan, PlanDebt, PlanError, RowWindow, Strategy, MAX_MONTHS,
};
use domain::{DebtStatus, DebtView, Money};
use http_api::body::{decimal, Digits};
use http_api::context::{debt_id, header, query_param};
use http_api::problem::FieldError;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::{json, Value};
use store::keys;

use crate::listing::debts_at;
use crate::{live_view, own_username, QueryDeps};

/// The most schedule rows one answer carries (about 130 bytes each in JSON: some 330 KB); whole months, so
/// a page of a 1,000-debt plan still moves on by at least one month. `from_month` asks for the next page.
pub const SCHEDULE_ROWS_PER_PAGE: usize = 2_500;

/// The most ids `?order=` may name: as many as a user may have open debts.
const MAX_ORDER_IDS: usize = domain::limits::MAX_LIVE_DEBTS_PER_USER as usize;

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

/// A month, as plans name them: `YYYY-MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct YearMonth(NaiveDate);

impl YearMonth {
    /// `?start=YYYY-MM` (years 1900-2200), or the month after today's (UTC).
    pub fn parse(raw: Option<String>) -> Result<Self, Problem> {
        match raw {
            Some(raw) => Self::parse_field("start", &raw),
            None => Ok(Self::after(Utc::now().date_naive())),
        }
    }

    /// The month after `day`'s.
    pub fn after(day: NaiveDate) -> Self {
        YearMonth(Self::of(day).0 + Months::new(1))
    }

    /// `day`'s month.
    pub fn of(day: NaiveDate) -> Self {
        YearMonth(day.with_day0(0).expect("a month has a first day"))
    }

    /// The month's first day.
    pub fn first_day(self) -> NaiveDate {
        self.0
    }

    /// The month `months` later.
    pub fn plus(self, months: u32) -> Self {
        YearMonth(self.0 + Months::new(months))
    }

    /// The month `months` earlier.
    pub fn minus(self, months: u32) -> Self {
        YearMonth(self.0 - Months::new(months))
    }

    /// `YYYY-MM`.
    pub fn label(self) -> String {
        self.0.format("%Y-%m").to_string()
    }

    /// `raw` as the month `field` names, `YYYY-MM` with a year of 1900-2200.
    pub fn parse_field(field: &str, raw: &str) -> Result<Self, Problem> {
        let refused = || invalid(field, "must be a month, YYYY-MM, from 1900-01 to 2200-12");
        let b = raw.as_bytes();
        if b.len() != 7
            || b[4] != b'-'
            || !b
                .iter()
                .enumerate()
                .all(|(i, c)| i == 4 || c.is_ascii_digit())
        {
            return Err(refused());
        }
        let first =
            NaiveDate::parse_from_str(&format!("{raw}-01"), "%Y-%m-%d").map_err(|_| refused())?;
        if !(1900..=2200).contains(&first.year()) {
            return Err(refused());
        }
        Ok(YearMonth(first))
    }

    /// Which month of a plan starting with this one `other` is (1-based), when it is one of its months.
    pub fn months_until(self, other: YearMonth) -> Option<u32> {
        plan::plan_month(self.0, other.0)
    }

    /// The plan's `month` (1-based) as `YYYY-MM`.
    pub fn nth(self, month: u32) -> String {
        (self.0 + Months::new(month.saturating_sub(1)))
            .format("%Y-%m")
            .to_string()
    }

    /// Every month of a plan's rows as `YYYY-MM`, indexed by the 1-based month (formatted once each).
    pub fn labels(self, plan: &Plan) -> Vec<String> {
        (0..=plan.months).map(|m| self.nth(m.max(1))).collect()
    }
}

/// A positive amount in a query parameter, by the body's textual rule for money.
fn amount(field: &str, raw: Option<String>) -> Result<Option<Decimal>, Problem> {
    let Some(raw) = raw else { return Ok(None) };
    let value = decimal(&Value::String(raw), Digits::MONEY).map_err(|e| invalid(field, e))?;
    let money = Money::parse_positive("amount", value).map_err(|e| invalid(field, e.message))?;
    Ok(Some(money.amount()))
}

/// Whether the client asked for CSV (`Accept: text/csv`).
fn wants_csv(request: &Request) -> bool {
    header(request, "accept")
        .is_some_and(|accept| accept.split(',').any(|t| t.trim().starts_with("text/csv")))
}

/// The debts a plan covers: open, with a balance above zero, each with its monthly minimum; a 422 names the
/// ones without a `minimum_payment`.
pub fn plan_debts(debts: Vec<DebtView>, start: YearMonth) -> Result<Vec<PlanDebt>, Problem> {
    let covered: Vec<DebtView> = debts
        .into_iter()
        .filter(|d| d.fields.status == DebtStatus::Open && d.fields.current_balance > Decimal::ZERO)
        .collect();
    let without: Vec<String> = covered
        .iter()
        .filter(|d| d.fields.minimum_payment.is_none())
        // Ids only: a problem's detail is logged, and a debt's name is the user's own text.
        .map(|d| d.debt_id.clone())
        .collect();
    if !without.is_empty() {
        return Err(invalid(
            "minimum_payment",
            format!(
                "every debt in a plan needs one; set it on: {}",
                without.join(", ")
            ),
        ));
    }
    Ok(covered
        .into_iter()
        .map(|d| {
            let (interest_rate, rate_steps) = plan::rates_by_month(&d.fields, start.0);
            PlanDebt {
                monthly_minimum: plan::monthly_minimum(
                    d.fields.minimum_payment.expect("checked above"),
                    d.fields.payment_frequency,
                ),
                debt_id: d.debt_id,
                debt_name: d.fields.debt_name,
                balance: d.fields.current_balance,
                interest_rate,
                rate_steps,
                interest_method: d.fields.interest_method,
            }
        })
        .collect())
}

fn plan_problem(error: PlanError) -> Problem {
    match error {
        PlanError::OutOfRange => invalid(
            "monthly_budget",
            "the plan's amounts pass what can be computed exactly",
        ),
        PlanError::BudgetBelowMinimums { minimums } => invalid(
            "monthly_budget",
            format!("must be at least the sum of the monthly minimums, {minimums}"),
        ),
        PlanError::OrderMismatch {
            missing,
            unknown,
            repeated,
        } => {
            let mut parts = Vec::new();
            for (what, ids) in [
                ("missing", missing),
                ("unknown", unknown),
                ("repeated", repeated),
            ] {
                if !ids.is_empty() {
                    parts.push(format!("{what}: {}", ids.join(", ")));
                }
            }
            invalid(
                "order",
                format!(
                    "must name every open debt exactly once ({})",
                    parts.join("; ")
                ),
            )
        }
    }
}

/// The strategy asked for: `strategy` (default avalanche) and, for custom, `order`.
fn strategy(param: &impl Fn(&str) -> Option<String>) -> Result<Strategy, Problem> {
    let order = param("order");
    let strategy = match param("strategy").as_deref() {
        None | Some("avalanche") => Strategy::Avalanche,
        Some("snowball") => Strategy::Snowball,
        Some("custom") => {
            let order = order
                .as_deref()
                .ok_or_else(|| invalid("order", "is required with strategy=custom"))?;
            // Counted before anything is collected: the check after it is linear, but the list need not be.
            let ids: Vec<String> = order
                .split(',')
                .take(MAX_ORDER_IDS + 1)
                .map(|id| id.trim().to_owned())
                .collect();
            if ids.len() > MAX_ORDER_IDS {
                return Err(invalid(
                    "order",
                    format!("names at most {MAX_ORDER_IDS} debts, as many as you may have"),
                ));
            }
            return Ok(Strategy::Custom(ids));
        }
        Some(_) => return Err(invalid("strategy", "must be avalanche, snowball or custom")),
    };
    if order.is_some() {
        return Err(invalid("order", "is only for strategy=custom"));
    }
    Ok(strategy)
}

/// Whether a plan ends, and its `months`, `debt_free_on` and `total_interest`: each `null` when it does not
/// end (one JSON type per field, so a client generated from the document parses every answer);
/// `balances` is the total at each month's end, the plan's first month first, for charting it (as far as
/// it went when it does not end).
fn headline(plan: &Plan, start: YearMonth) -> Value {
    if !plan.debt_free {
        return json!({
            "debt_free": false, "months": null, "debt_free_on": null, "total_interest": null,
            "balances": plan.month_totals,
        });
    }
    json!({
        "debt_free": true,
        "months": plan.months,
        "debt_free_on": (plan.months > 0).then(|| start.nth(plan.months)),
        "total_interest": plan.total_interest,
        "balances": plan.month_totals,
    })
}

fn simulate(
    debts: &[PlanDebt],
    strategy: &Strategy,
    budget: Option<Decimal>,
    changes: &BudgetChanges,
    rows: Option<RowWindow>,
) -> Result<Plan, Problem> {
    plan::simulate_strategy(debts, strategy, budget, changes, rows).map_err(plan_problem)
}

/// The most entries `?budget_changes=` or `?extra=` may hold: ten years of months.
const MAX_BUDGET_ENTRIES: usize = 120;

/// `?budget_changes=` or `?extra=`: `YYYY-MM:AMOUNT[,...]`, each month within the plan (from `start`, at most
/// its 1,200 months), as the plan's 1-based month; `signed` lets an amount be negative (`-50.00`).
fn month_amounts(
    field: &str,
    raw: Option<String>,
    start: YearMonth,
    signed: bool,
) -> Result<Vec<(u32, Decimal)>, Problem> {
    let Some(raw) = raw else {
        return Ok(Vec::new());
    };
    let entries: Vec<&str> = raw.split(',').collect();
    if entries.len() > MAX_BUDGET_ENTRIES {
        return Err(invalid(
            field,
            format!("names at most {MAX_BUDGET_ENTRIES} months"),
        ));
    }
    let mut amounts = Vec::with_capacity(entries.len());
    for entry in entries {
        let malformed = || invalid(field, "must be YYYY-MM:AMOUNT, comma-separated");
        let (month, amount) = entry.split_once(':').ok_or_else(malformed)?;
        let month = YearMonth::parse(Some(month.to_owned())).map_err(|_| malformed())?;
        let index = start.months_until(month).ok_or_else(|| {
            invalid(
                field,
                format!("names a month outside the plan ({} on)", start.nth(1)),
            )
        })?;
        let (negative, digits) = match amount.strip_prefix('-') {
            Some(rest) if signed => (true, rest),
            _ => (false, amount),
        };
        let positive = self::amount(field, Some(digits.to_owned()))?.ok_or_else(malformed)?;
        amounts.push((index, if negative { -positive } else { positive }));
    }
    Ok(amounts)
}

/// `?budget_frequency=`: how often the budget (and each budget change) is paid, as a month: weekly x 52 / 12,
/// biweekly x 26 / 12, semimonthly x 2, monthly x 1, rounded to the cent half away from zero, as minimums are.
fn monthly_budget(amount: Decimal, frequency: Option<&str>) -> Result<Decimal, Problem> {
    Ok(match frequency {
        None | Some("monthly") => amount,
        Some("weekly") => plan::monthly_minimum(amount, events::PaymentFrequency::Weekly),
        Some("biweekly") => plan::monthly_minimum(amount, events::PaymentFrequency::Biweekly),
        Some("semimonthly") => plan::cents(amount * Decimal::TWO),
        Some(_) => {
            return Err(invalid(
                "budget_frequency",
                "must be weekly, biweekly, semimonthly or monthly",
            ))
        }
    })
}

/// The month's budget and how it moves, from `monthly_budget` (given), `budget_frequency`, `budget_changes`
/// and `extra` (rule 8 of docs/planning.md).
fn budget_of(
    param: &impl Fn(&str) -> Option<String>,
    given: Decimal,
    start: YearMonth,
) -> Result<(Decimal, BudgetChanges), Problem> {
    let frequency = param("budget_frequency");
    let budget = monthly_budget(given, frequency.as_deref())?;
    let mut changes = BudgetChanges {
        changes: month_amounts("budget_changes", param("budget_changes"), start, false)?,
        extras: month_amounts("extra", param("extra"), start, true)?,
    };
    for change in &mut changes.changes {
        change.1 = monthly_budget(change.1, frequency.as_deref())?;
    }
    Ok((budget, changes))
}

/// `?target=YYYY-MM`: the least constant monthly budget (no changes, no extras) that leaves nothing owed by
/// the end of that month under `strategy` (rule 10 of docs/planning.md); the month must be one of the plan's.
fn required_for_target(
    request: &Request,
    debts: &[PlanDebt],
    strategy: &Strategy,
    start: YearMonth,
) -> Result<Option<Decimal>, Problem> {
    let Some(raw) = query_param(request, "target") else {
        return Ok(None);
    };
    let refused = || {
        invalid(
            "target",
            format!(
                "must be a month of the plan, YYYY-MM, from {} on",
                start.nth(1)
            ),
        )
    };
    let month = YearMonth::parse(Some(raw)).map_err(|_| refused())?;
    let months = start.months_until(month).ok_or_else(refused)?;
    plan::required_budget(debts, strategy, months)
        .map(Some)
        .map_err(plan_problem)
}

/// The plan's figures against avalanche, snowball and paying only the minimums.
fn comparison(
    debts: &[PlanDebt],
    budget: Decimal,
    changes: &BudgetChanges,
    chosen: &Plan,
    start: YearMonth,
) -> Result<Value, Problem> {
    let avalanche = simulate(debts, &Strategy::Avalanche, Some(budget), changes, None)?;
    let snowball = simulate(debts, &Strategy::Snowball, Some(budget), changes, None)?;
    let minimum_only = simulate(debts, &Strategy::Avalanche, None, changes, None)?;
    let saved = minimum_only.debt_free && chosen.debt_free;
    Ok(json!({
        "avalanche": headline(&avalanche, start),
        "snowball": headline(&snowball, start),
        "minimum_only": headline(&minimum_only, start),
        "interest_saved_vs_minimum_only": saved.then(|| minimum_only.total_interest - chosen.total_interest),
        "months_saved_vs_minimum_only": saved.then(|| i64::from(minimum_only.months) - i64::from(chosen.months)),
    }))
}

/// One row of a plan's schedule, serialised straight into the answer.
#[derive(Serialize)]
struct ScheduleRow<'a> {
    month: u32,
    on: &'a str,
    debt_id: &'a str,
    interest: Decimal,
    payment: Decimal,
    balance: Decimal,
}

fn schedule_rows<'a>(plan: &'a Plan, on: &'a [String]) -> Vec<ScheduleRow<'a>> {
    plan.rows
        .iter()
        .map(|r| ScheduleRow {
            month: r.month,
            on: &on[r.month as usize],
            debt_id: &r.debt_id,
            interest: r.interest,
            payment: r.payment,
            balance: r.balance,
        })
        .collect()
}

/// A CSV table: `header`, then one line per row of `plan`, its month's label among `cells`' values.
fn csv_of(
    plan: &Plan,
    start: YearMonth,
    header: &str,
    cells: impl Fn(&domain::plan::Row, &str) -> [String; 6],
) -> String {
    let on = start.labels(plan);
    let mut csv = format!("{header}\n");
    for row in &plan.rows {
        csv.push_str(&cells(row, &on[row.month as usize]).join(","));
        csv.push('\n');
    }
    csv
}

fn plan_csv(plan: &Plan, start: YearMonth) -> String {
    csv_of(
        plan,
        start,
        "month,on,debt_id,interest,payment,balance",
        |r, on| {
            [
                r.month.to_string(),
                on.to_owned(),
                r.debt_id.clone(),
                r.interest.to_string(),
                r.payment.to_string(),
                r.balance.to_string(),
            ]
        },
    )
}

/// The answer of `GET /users/{username}/payoff-plan` (docs/openapi.json's `PayoffPlan`).
#[derive(Serialize)]
struct PlanAnswer<'a> {
    strategy: &'static str,
    monthly_budget: Decimal,
    start: String,
    months: u32,
    debt_free: bool,
    debt_free_on: Option<String>,
    total_interest: Decimal,
    total_paid: Decimal,
    never_falls: Option<Value>,
    debts: Vec<Value>,
    compare: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule: Option<Vec<ScheduleRow<'a>>>,
    /// With the schedule: the `from_month` of its next page, `null` on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    schedule_next_month: Option<Option<u32>>,
    /// With `?target=`: the least constant monthly budget that is debt-free by the end of that month.
    #[serde(skip_serializing_if = "Option::is_none")]
    required_monthly_budget: Option<Decimal>,
    assumptions: Value,
}

/// What a level-payment schedule assumed, stated in its answer.
fn schedule_assumptions(rate: Decimal) -> Value {
    json!({
        "interest_method": "monthly",
        "rate": rate.normalize(),
        "notes": [
            "A level-payment schedule: the debt's interest_rate by the monthly rule (balance x rate / 1200 a month, exact to the cent), the same payment every month.",
            "The debt's rate schedule and interest_method are followed by payoff plans, not here.",
        ],
    })
}

/// What a plan assumed, stated in its answer: each debt's interest method and the yearly rates it used by
/// month (the rate in force on each month's last day), the days of a month for the daily rule, and what a
/// plan cannot know.
fn assumptions(debts: &[PlanDebt], start: YearMonth) -> Value {
    let per_debt: Vec<Value> = debts
        .iter()
        .map(|d| {
            let rates = std::iter::once((1, d.interest_rate))
                .chain(d.rate_steps.iter().map(|s| (s.from_month, s.interest_rate)))
                .map(|(month, rate)| json!({"from": start.nth(month), "rate": rate.normalize()}))
                .collect::<Vec<_>>();
            json!({"debt_id": d.debt_id, "interest_method": d.interest_method, "rates": rates})
        })
        .collect();
    json!({
        "debts": per_debt,
        "days_per_month_for_daily": plan::DAYS_PER_PLAN_MONTH,
        "notes": [
            "Balances are today's records; no new charges or fees are assumed.",
            "Each month: interest, then every minimum, then the rest of the budget in strategy order.",
            "A month's rate is the rate in force on its last day (the debt's rate schedule, else its interest_rate).",
            "Monthly-rule interest is exact to the cent; daily-rule interest is approximated as balance x rate / 36500 x 30.4167 days, since a plan knows neither the days of a lender's cycle nor when money moves within it.",
        ],
    })
}

/// Why a plan never ends, for its answer: the debt, and the month (and its `YYYY-MM`) from which its
/// interest outruns what it can be paid.
fn never_falls(never: Option<&NeverFalls>, start: YearMonth) -> Option<Value> {
    never.map(|n| json!({"debt_id": n.debt_id, "month": n.month, "on": start.nth(n.month)}))
}

/// `?from_month=`: the schedule page's first month, 1 to [`MAX_MONTHS`] (default 1).
fn schedule_window(request: &Request) -> Result<RowWindow, Problem> {
    let from_month = match query_param(request, "from_month") {
        None => 1,
        Some(raw) => raw
            .parse::<u32>()
            .ok()
            .filter(|m| (1..=MAX_MONTHS).contains(m) && raw.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| {
                invalid(
                    "from_month",
                    format!("must be a month of the plan, 1 to {MAX_MONTHS}"),
                )
            })?,
    };
    Ok(RowWindow {
        from_month,
        max_rows: SCHEDULE_ROWS_PER_PAGE,
    })
}

/// The request's own path and query with `from_month` set to `month`: the next page's link.
fn next_page(request: &Request, month: u32) -> String {
    let uri = request.uri();
    let mut query: Vec<&str> = uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty() && pair.split('=').next() != Some("from_month"))
        .collect();
    let from = format!("from_month={month}");
    query.push(&from);
    format!("{}?{}", uri.path(), query.join("&"))
}

/// What a plan is asked to do, by a payoff plan's query or an adoption's body (the same names and forms):
/// `strategy` and `order`, `monthly_budget` (required) with `budget_frequency`, `budget_changes`, `extra`.
pub struct PlanRequest {
    pub strategy: Strategy,
    /// A month's budget, by `budget_frequency`.
    pub budget: Decimal,
    pub changes: BudgetChanges,
    pub start: YearMonth,
}

impl PlanRequest {
    /// The request for a plan starting with `start`, each parameter read by `param` as its text.
    pub fn parse(
        param: &impl Fn(&str) -> Option<String>,
        start: YearMonth,
    ) -> Result<Self, Problem> {
        let given = amount("monthly_budget", param("monthly_budget"))?
            .ok_or_else(|| invalid("monthly_budget", "is required: what you can pay each month"))?;
        let strategy = strategy(param)?;
        let (budget, changes) = budget_of(param, given, start)?;
        Ok(PlanRequest {
            strategy,
            budget,
            changes,
            start,
        })
    }

    /// The plan over `debts` (each `plan_debts` made), without a schedule.
    pub fn simulate(&self, debts: &[PlanDebt]) -> Result<Plan, Problem> {
        simulate(
            debts,
            &self.strategy,
            Some(self.budget),
            &self.changes,
            None,
        )
    }
}

/// The debts a plan starting with `start` covers: `owner`'s open debts as the read model holds them.
pub async fn open_plan_debts(
    read_model: &dyn store::ReadModel,
    owner: &str,
    start: YearMonth,
) -> Result<Vec<PlanDebt>, Problem> {
    plan_debts(crate::listing::all_debts(read_model, owner).await?, start)
}

/// `GET /users/{username}/payoff-plan`: how the caller's open debts are paid off with `monthly_budget` a
/// month, in the strategy's order, compared with the other strategies and with paying only the minimums.
pub async fn get_payoff_plan(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-payoff-plan", request, |request, _meta| async move {
        let me = own_username(deps, &request).await?;
        let start = YearMonth::parse(query_param(&request, "start"))?;
        let asked = PlanRequest::parse(&|name| query_param(&request, name), start)?;
        let include_schedule = match query_param(&request, "include").as_deref() {
            None => false,
            Some("schedule") => true,
            Some(_) => return Err(invalid("include", "must be schedule")),
        };
        let csv = wants_csv(&request);
        // Checked whether or not a schedule is asked for: a malformed parameter is refused, not ignored.
        let window = schedule_window(&request)?;
        let window = (include_schedule || csv).then_some(window);
        // `?as_of=T`: the plan the debts as recorded at T would have made (how a payment changed it).
        let as_of = crate::as_of::parse(query_param(&request, "as_of"), Utc::now())?;
        let PlanRequest { strategy, budget, changes, .. } = asked;
        let debts = plan_debts(debts_at(deps, me.as_str(), as_of).await?, start)?;
        let plan = simulate(&debts, &strategy, Some(budget), &changes, window)?;
        if csv {
            let reply = Reply::text("text/csv", plan_csv(&plan, start));
            return Ok(match plan.next_month {
                Some(month) => reply.with_next_link(next_page(&request, month)),
                None => reply,
            });
        }
        let compare = comparison(&debts, budget, &changes, &plan, start)?;
        let required_monthly_budget = required_for_target(&request, &debts, &strategy, start)?;
        let per_debt: Vec<Value> = plan
            .debts
            .iter()
            .map(|d| {
                json!({"debt_id": d.debt_id, "debt_name": d.debt_name, "order": d.order,
                       "paid_off_month": d.paid_off_month, "paid_off_on": d.paid_off_month.map(|m| start.nth(m)),
                       "interest_paid": d.interest_paid, "total_paid": d.total_paid})
            })
            .collect();
        let labels = start.labels(&plan);
        let answer = PlanAnswer {
            strategy: strategy.name(),
            monthly_budget: plan::cents(budget),
            start: start.nth(1),
            months: plan.months,
            debt_free: plan.debt_free,
            debt_free_on: (plan.debt_free && plan.months > 0).then(|| start.nth(plan.months)),
            total_interest: plan.total_interest,
            total_paid: plan.total_paid,
            never_falls: never_falls(plan.never_falls.as_ref(), start),
            debts: per_debt,
            compare,
            schedule: include_schedule.then(|| schedule_rows(&plan, &labels)),
            schedule_next_month: include_schedule.then_some(plan.next_month),
            required_monthly_budget,
            assumptions: assumptions(&debts, start),
        };
        // With `?as_of=`, beside `data` as on every read of the past: the instant whose debts were planned.
        Ok(Reply::ok(&answer).with_optional_member("as_of", as_of.map(crate::as_of::stated)))
    })
    .await
}

/// A one-debt plan's rows as an amortization table: what each payment paid of interest and of principal.
fn amortization_rows(plan: &Plan, start: YearMonth) -> Vec<Value> {
    let on = start.labels(plan);
    plan.rows
        .iter()
        .map(|r| {
            json!({"month": r.month, "on": on[r.month as usize], "payment": r.payment, "interest": r.interest,
                   "principal": r.payment - r.interest, "balance": r.balance})
        })
        .collect()
}

fn amortization_csv(plan: &Plan, start: YearMonth) -> String {
    let header = "month,on,payment,interest,principal,balance";
    csv_of(plan, start, header, |r, on| {
        let principal = r.payment - r.interest;
        let amounts = [r.payment, r.interest, principal, r.balance].map(|a| a.to_string());
        let [payment, interest, principal, balance] = amounts;
        [
            r.month.to_string(),
            on.to_owned(),
            payment,
            interest,
            principal,
            balance,
        ]
    })
}

/// `GET /debts/{debt_id}/schedule`: the amortization of one of your debts at `payment` a month (default its
/// monthly minimum), and the level payment that clears it in 36 months.
pub async fn get_debt_schedule(
    request: Request,
    deps: &QueryDeps,
) -> Result<Response<Body>, Error> {
    serve("get-debt-schedule", request, |request, _meta| async move {
        let me = crate::signed_in(deps, &request).await?;
        let debt_id = debt_id(&request)?;
        let (debt, _version) =
            live_view::<DebtView>(deps.read_model.as_ref(), &keys::debt_read_key(me.as_str(), &debt_id))
                .await?
                .ok_or_else(|| Problem::not_found("no such debt"))?;
        let start = YearMonth::parse(query_param(&request, "start"))?;
        let minimum = debt
            .fields
            .minimum_payment
            .map(|m| plan::monthly_minimum(m, debt.fields.payment_frequency));
        let payment = amount("payment", query_param(&request, "payment"))?
            .or(minimum)
            .ok_or_else(|| invalid("payment", "is required: the debt has no minimum_payment to default to"))?;
        let balance = if debt.fields.status == DebtStatus::Open { debt.fields.current_balance } else { Decimal::ZERO };
        let rate = debt.fields.interest_rate;
        let first_interest = plan::interest(balance, rate);
        if balance > Decimal::ZERO && payment <= first_interest {
            return Err(invalid(
                "payment",
                format!(
                    "{} does not cover the first month's interest, {first_interest}: the balance would never fall",
                    plan::cents(payment)
                ),
            ));
        }
        let one = [PlanDebt {
            debt_id: debt.debt_id.clone(),
            debt_name: debt.fields.debt_name.clone(),
            balance,
            interest_rate: rate,
            monthly_minimum: payment,
            // One debt's level-payment schedule is at its own interest_rate (docs/planning.md).
            rate_steps: Vec::new(),
            interest_method: events::InterestMethod::Monthly,
        }];
        // One debt whose payment covers its interest: at most MAX_MONTHS rows, every one in the answer.
        let plan = plan::simulate(&one, &[0], Some(payment), Some(RowWindow::ALL)).map_err(plan_problem)?;
        if wants_csv(&request) {
            return Ok(Reply::text("text/csv", amortization_csv(&plan, start)));
        }
        let rows = amortization_rows(&plan, start);
        Ok(Reply::ok(json!({
            "debt_id": debt.debt_id,
            "payment": plan::cents(payment),
            "start": start.nth(1),
            "months": plan.months,
            "paid_off_on": (plan.debt_free && plan.months > 0).then(|| start.nth(plan.months)),
            "total_interest": plan.total_interest,
            "payment_for_36_months": (balance > Decimal::ZERO).then(|| plan::level_payment(balance, rate, 36)),
            "rows": rows,
            "assumptions": schedule_assumptions(rate),
        })))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::plan::MAX_MONTHS;

    #[test]
    fn months_are_year_and_month() {
        let start = YearMonth::parse(Some("2026-11".into())).unwrap();
        assert_eq!(start.nth(1), "2026-11");
        assert_eq!(start.nth(3), "2027-01");
        assert_eq!(start.nth(MAX_MONTHS), "2126-10");
        for bad in [
            "2026-13",
            "2026-1",
            "1899-12",
            "2201-01",
            "26-11",
            "2026/11",
            "2026-11-01",
        ] {
            assert_eq!(
                YearMonth::parse(Some(bad.into())).unwrap_err().status,
                422,
                "{bad}"
            );
        }
        assert!(YearMonth::parse(None).is_ok());
    }
}
