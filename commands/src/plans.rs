//! `PUT /users/{username}/plan`: adopts a payoff plan. The plan is simulated over the caller's open debts as
//! the read model holds them, from next month, and its promise (the total balance at each month's end until
//! debt-free) goes into a `PlanAdopted` event on the user's log with its parameters, so that later changes
//! to the debts never rewrite what was promised. Adopting again supersedes it; the log keeps both.

use std::collections::HashMap;

use chrono::Utc;
use domain::adopted_plan::AdoptedPlan;
use domain::plan::{cents, Plan, PlanDebt, Strategy};
use domain::UserCommand;
use events::{MonthAmount, PlanAdopted, PlanStrategy};
use http_api::body::{decimal, json_object, text, Digits};
use http_api::problem::FieldError;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use rust_decimal::Decimal;
use serde_json::Value;

use queries::planning::{open_plan_debts, PlanRequest, YearMonth};
use queries::plans::plan_view_over;

use crate::settings::{decide_on_user, own_user};
use crate::users::UserDeps;

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

/// `order`: a JSON array of debt ids, as the text the payoff plan's `?order=` takes.
fn order_text(value: &Value) -> Result<String, String> {
    let refused = || "must be an array of debt ids".to_owned();
    let ids: Vec<&str> = value
        .as_array()
        .ok_or_else(refused)?
        .iter()
        .map(|id| {
            id.as_str()
                .filter(|id| !id.contains(','))
                .ok_or_else(refused)
        })
        .collect::<Result<_, _>>()?;
    Ok(ids.join(","))
}

/// `extra` or `budget_changes`: a JSON array of `{"month": "YYYY-MM", "amount": ...}`, as the text the
/// payoff plan's query takes (`YYYY-MM:AMOUNT,...`); the amount a string or a number.
fn month_amounts_text(value: &Value) -> Result<String, String> {
    let refused =
        || "must be an array of {\"month\": \"YYYY-MM\", \"amount\": \"0.00\"}".to_owned();
    let entries = value.as_array().ok_or_else(refused)?;
    let mut parts = Vec::with_capacity(entries.len());
    for entry in entries {
        let entry = entry
            .as_object()
            .filter(|e| e.len() == 2)
            .ok_or_else(refused)?;
        let month = entry
            .get("month")
            .and_then(Value::as_str)
            .ok_or_else(refused)?;
        let amount = match entry.get("amount") {
            Some(Value::String(amount)) => amount.clone(),
            Some(Value::Number(amount)) => amount.to_string(),
            _ => return Err(refused()),
        };
        if [month, amount.as_str()]
            .iter()
            .any(|t| t.contains([',', ':']))
        {
            return Err(refused());
        }
        parts.push(format!("{month}:{amount}"));
    }
    Ok(parts.join(","))
}

/// The body's fields as the text of the payoff plan's query parameters of the same names.
fn plan_parameters(request: &Request) -> Result<HashMap<&'static str, String>, Problem> {
    let mut fields = json_object(request)?;
    let mut found = HashMap::new();
    let strategy = fields.optional("strategy", |v| text(v).map(str::to_owned));
    let budget = fields.required("monthly_budget", |v| {
        decimal(v, Digits::MONEY).map(|d| d.to_string())
    });
    let frequency = fields.optional("budget_frequency", |v| text(v).map(str::to_owned));
    let order = fields.optional("order", order_text);
    let extra = fields.optional("extra", month_amounts_text);
    let changes = fields.optional("budget_changes", month_amounts_text);
    let accepted = fields.finish()?;
    for (name, value) in [
        ("strategy", strategy),
        ("monthly_budget", Some(budget.take(&accepted))),
        ("budget_frequency", frequency),
        ("order", order),
        ("extra", extra),
        ("budget_changes", changes),
    ] {
        if let Some(value) = value {
            found.insert(name, value);
        }
    }
    Ok(found)
}

/// The event a plan over `debts` adopts.
fn adopted(asked: &PlanRequest, debts: &[PlanDebt], plan: &Plan) -> PlanAdopted {
    let month = |index: u32, amount: Decimal| MonthAmount {
        month: asked.start.nth(index),
        amount: cents(amount),
    };
    PlanAdopted {
        strategy: match asked.strategy {
            Strategy::Avalanche => PlanStrategy::Avalanche,
            Strategy::Snowball => PlanStrategy::Snowball,
            Strategy::Custom(_) => PlanStrategy::Custom,
        },
        monthly_budget: cents(asked.budget),
        order: plan.debts.iter().map(|d| d.debt_id.clone()).collect(),
        budget_changes: asked
            .changes
            .changes
            .iter()
            .map(|&(index, amount)| month(index, amount))
            .collect(),
        extra: asked
            .changes
            .extras
            .iter()
            .map(|&(index, amount)| month(index, amount))
            .collect(),
        start: asked.start.label(),
        starting_total: cents(debts.iter().map(|d| d.balance).sum()),
        planned_totals: plan.month_totals.clone(),
        total_interest: plan.total_interest,
    }
}

/// `PUT /users/{username}/plan` with `{strategy?, monthly_budget, budget_frequency?, order?, extra?,
/// budget_changes?}` (the payoff plan's parameters, the lists as JSON arrays): your own plan only; 200 with
/// the plan as `GET` shows it. A plan that never pays your debts off, or covers none, is refused (422).
pub async fn adopt_plan(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("adopt-plan", request, |request, meta| async move {
        let me = own_user(&request)?;
        let parameters = plan_parameters(&request)?;
        let zone = read_model::notices::notice_settings(deps.read_model.as_ref(), me.as_str())
            .await?
            .map_or_else(domain::TimeZoneName::utc, |settings| settings.zone);
        let today = zone.date_at(Utc::now());
        let start = YearMonth::after(today);
        let asked = PlanRequest::parse(&|name| parameters.get(name).cloned(), start)?;
        let read = open_plan_debts(deps.read_model.as_ref(), me.as_str(), start).await;
        let debts = read.as_ref().map_err(Clone::clone)?;
        if debts.is_empty() {
            return Err(invalid(
                "monthly_budget",
                "there is nothing to plan: you have no open debt with a balance",
            ));
        }
        let plan = asked.simulate(debts)?;
        if !plan.debt_free {
            return Err(invalid(
                "monthly_budget",
                match &plan.never_falls {
                    Some(never) => format!(
                        "this plan never pays your debts off: from {} the interest on {} outruns what it is paid",
                        start.nth(never.month),
                        never.debt_id
                    ),
                    None => "this plan does not pay your debts off within 100 years".to_owned(),
                },
            ));
        }
        let event = adopted(&asked, debts, &plan);
        let history = decide_on_user(deps, &meta, &me, UserCommand::AdoptPlan(event), &|_, a| a).await?;
        let adopted = AdoptedPlan::all(&history)
            .pop()
            .ok_or_else(|| Problem::internal("an adopted plan is missing from the log"))?;
        tracing::info!(username = me.as_str(), months = plan.months, "plan adopted");
        // Over the debts the plan was made of: nothing is read again.
        Ok(Reply::ok(plan_view_over(&adopted, today, &read)))
    })
    .await
}
