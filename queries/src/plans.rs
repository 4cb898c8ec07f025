//! `GET /users/{username}/plan`: the payoff plan the caller adopted (its `PlanAdopted` event, read from their
//! log), the debt-free month it promised, and where today's debts stand against it: this month's planned
//! total against the actual one, and the debt-free month the same plan gives from today's balances.

use chrono::{NaiveDate, Utc};
use domain::adopted_plan::{first_of_month, AdoptedPlan};
use domain::plan::{BudgetChanges, PlanDebt, Strategy};
use events::{MonthAmount, PlanStrategy};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use rust_decimal::Decimal;
use serde_json::{json, Value};
use store::{AggregateRef, EventLog, ReadModel};

use crate::planning::{open_plan_debts, PlanRequest, YearMonth};
use crate::{own_username, owners_zone, QueryDeps};

/// The plan `owner` adopted last, read from their log as stored (a plan has no personal field, so nothing
/// is opened); `None` when they never adopted one.
pub async fn adopted_plan(
    engine_events: &dyn EventLog,
    owner: &str,
) -> Result<Option<AdoptedPlan>, Problem> {
    Ok(adopted_plans(engine_events, owner).await?.pop())
}

/// Every plan `owner` adopted, oldest first. A user's log holds their settings and plans: a few events.
pub async fn adopted_plans(
    engine_events: &dyn EventLog,
    owner: &str,
) -> Result<Vec<AdoptedPlan>, Problem> {
    let history = engine_events
        .load_events(&AggregateRef::user(owner), 0)
        .await?;
    Ok(AdoptedPlan::all(&history))
}

/// The adopted plan's parameters carried to a plan starting with `start`: the budget in force by then (the
/// last budget change before it, else the monthly budget), the later changes and extras, and for a custom
/// order the adopted order's debts still open, then any newer ones by id.
fn carried_forward(adopted: &AdoptedPlan, start: YearMonth, debts: &[PlanDebt]) -> PlanRequest {
    let plan = &adopted.plan;
    let month_of = |entry: &MonthAmount| first_of_month(&entry.month).map(YearMonth::of);
    let mut budget = plan.monthly_budget;
    let mut changes = BudgetChanges::default();
    // By month, whatever order they were given in: the last change before `start` is the budget in force.
    let mut dated: Vec<(YearMonth, Decimal)> = plan
        .budget_changes
        .iter()
        .filter_map(|entry| Some((month_of(entry)?, entry.amount)))
        .collect();
    dated.sort_by_key(|&(month, _)| month);
    for (month, amount) in dated {
        if month < start {
            budget = amount;
        } else {
            changes
                .changes
                .extend(start.months_until(month).map(|index| (index, amount)));
        }
    }
    for entry in &plan.extra {
        if let Some(index) = month_of(entry).and_then(|month| start.months_until(month)) {
            changes.extras.push((index, entry.amount));
        }
    }
    let strategy = match plan.strategy {
        PlanStrategy::Avalanche => Strategy::Avalanche,
        PlanStrategy::Snowball => Strategy::Snowball,
        PlanStrategy::Custom => {
            let open = |id: &String| debts.iter().any(|d| &d.debt_id == id);
            let mut order: Vec<String> = plan.order.iter().filter(|id| open(id)).cloned().collect();
            let mut newer: Vec<String> = debts
                .iter()
                .map(|d| d.debt_id.clone())
                .filter(|id| !plan.order.contains(id))
                .collect();
            newer.sort();
            order.extend(newer);
            Strategy::Custom(order)
        }
    };
    PlanRequest {
        strategy,
        budget,
        changes,
        start,
    }
}

/// Today's plan when it does not end, and why.
fn not_debt_free(why_not: String) -> Value {
    json!({"debt_free": false, "debt_free_on": null, "months": null, "why_not": why_not})
}

/// A refused plan's reason in one line: each field's message, else the problem's detail.
fn why(problem: &Problem) -> String {
    if problem.errors.is_empty() {
        return problem.detail.clone();
    }
    let reasons: Vec<String> = problem
        .errors
        .iter()
        .map(|e| format!("{} {}", e.field, e.message))
        .collect();
    reasons.join("; ")
}

/// How the adopted plan reads today (`today` the owner's date): its parameters, the promised curve and
/// debt-free month, and this month's actual total against it with the debt-free month today's balances give.
pub async fn plan_view(
    read_model: &dyn ReadModel,
    owner: &str,
    adopted: &AdoptedPlan,
    today: NaiveDate,
) -> Result<Value, Problem> {
    let debts = open_plan_debts(read_model, owner, YearMonth::after(today)).await;
    Ok(plan_view_over(adopted, today, &debts))
}

/// [`plan_view`] over the owner's open debts as a plan starting next month covers them (or why they
/// cannot be planned), already read.
pub fn plan_view_over(
    adopted: &AdoptedPlan,
    today: NaiveDate,
    debts: &Result<Vec<PlanDebt>, Problem>,
) -> Value {
    let start = YearMonth::after(today);
    let total: Decimal = debts
        .as_ref()
        .map(|debts| debts.iter().map(|d| d.balance).sum())
        .unwrap_or_default();
    let outcome = debts
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|debts| carried_forward(adopted, start, debts).simulate(debts));
    let now = match outcome {
        Ok(plan) if plan.debt_free => json!({
            "debt_free": true,
            "debt_free_on": (plan.months > 0).then(|| start.nth(plan.months)),
            "months": plan.months,
            "why_not": null,
        }),
        Ok(_) => not_debt_free("the plan's budget no longer pays today's debts off".into()),
        Err(problem) => not_debt_free(why(&problem)),
    };
    let plan = &adopted.plan;
    let begin = YearMonth::of(adopted.start());
    let planned: Vec<Value> = plan
        .planned_totals
        .iter()
        .zip(0..)
        .map(|(total, n)| json!({"month": begin.plus(n).label(), "total": total}))
        .collect();
    let ahead = adopted.ahead_by(today, total);
    let mut today_view = json!({
        "month": YearMonth::of(today).label(),
        "total": domain::plan::cents(total),
        "planned_total": adopted.planned_total(today).map(domain::plan::cents),
        "ahead_by": ahead.map(|a| json!({"amount": domain::plan::cents(a.amount), "months": a.months})),
    });
    if let (Some(target), Some(from)) = (today_view.as_object_mut(), now.as_object()) {
        target.extend(from.clone());
    }
    json!({
        "adopted_at": adopted.adopted_at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        "strategy": plan.strategy,
        "monthly_budget": plan.monthly_budget,
        "order": plan.order,
        "budget_changes": plan.budget_changes,
        "extra": plan.extra,
        "start": plan.start,
        "starting_total": plan.starting_total,
        "total_interest": plan.total_interest,
        "debt_free_on": YearMonth::of(adopted.debt_free_on()).label(),
        "planned": planned,
        "today": today_view,
    })
}

/// `GET /users/{username}/plan`: the plan you adopted last and where you stand against it; 404 when you
/// never adopted one.
pub async fn get_plan(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-plan", request, |request, _meta| async move {
        let me = own_username(deps, &request).await?;
        let adopted = adopted_plan(deps.engine_events.as_ref(), me.as_str())
            .await?
            .ok_or_else(|| {
                Problem::not_found("no plan adopted yet (PUT /users/{username}/plan)")
            })?;
        let today = owners_zone(deps, me.as_str()).await?.date_at(Utc::now());
        Ok(Reply::ok(
            plan_view(deps.read_model.as_ref(), me.as_str(), &adopted, today).await?,
        ))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use events::{EventEnvelope, EventPayload, PlanAdopted};

    fn amount(month: &str, cents: i64) -> MonthAmount {
        MonthAmount {
            month: month.into(),
            amount: Decimal::new(cents, 2),
        }
    }

    #[test]
    fn a_plan_carried_forward_keeps_the_latest_budget_change_by_month() {
        let envelope = EventEnvelope::new(
            "ada",
            2,
            EventPayload::PlanAdopted(PlanAdopted {
                strategy: PlanStrategy::Avalanche,
                monthly_budget: Decimal::new(50_000, 2),
                order: Vec::new(),
                // Given out of order: March's change is the later one.
                budget_changes: vec![
                    amount("2026-03", 70_000),
                    amount("2026-02", 60_000),
                    amount("2026-07", 90_000),
                ],
                extra: vec![amount("2026-02", 10_000), amount("2026-06", -5_000)],
                start: "2026-01".into(),
                starting_total: Decimal::new(100_000, 2),
                planned_totals: vec![Decimal::ZERO],
                total_interest: Decimal::ZERO,
            }),
            Utc.with_ymd_and_hms(2025, 12, 10, 9, 0, 0).unwrap(),
            "ada",
            uuid::Uuid::nil(),
        );
        let adopted = AdoptedPlan::from_envelope(&envelope).unwrap();
        let start = YearMonth::parse_field("start", "2026-05").unwrap();
        let carried = carried_forward(&adopted, start, &[]);
        assert_eq!(carried.budget, Decimal::new(70_000, 2));
        assert_eq!(carried.changes.changes, vec![(3, Decimal::new(90_000, 2))]);
        assert_eq!(carried.changes.extras, vec![(2, Decimal::new(-5_000, 2))]);
    }
}
