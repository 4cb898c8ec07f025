//! `GET /users/{username}/progress?from=YYYY-MM&to=YYYY-MM`: the caller's debts month by month, each month's
//! end balance by effective date and what was paid, charged as interest and charged as fees in it, per debt
//! and in total, deleted debts included for the months they lived; against the adopted plan in force in each
//! month, its planned total and how far ahead of it the month ended. Folded from the events (one pass over
//! each debt's), like every read of the past; nothing here reads a read item.

use chrono::Utc;
use domain::adopted_plan::{in_force, AdoptedPlan};
use domain::plan::cents;
use http_api::context::query_param;
use http_api::problem::FieldError;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use read_model::progress::{portfolio_progress, started_on, PortfolioMonth};
use serde_json::{json, Value};

use crate::as_of::{ledger_histories, Which};
use crate::planning::YearMonth;
use crate::plans::adopted_plans;
use crate::{own_username, owners_zone, QueryDeps};

/// The most months one answer covers: ten years. Without `from`, the answer starts at most this far back.
pub const MAX_PROGRESS_MONTHS: u32 = 120;

/// The most debt rows (one debt in one month) one answer carries: about 110 bytes each, some 2.6 MB.
pub const MAX_PROGRESS_ROWS: usize = 24_000;

fn invalid(field: &str, message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError::new(field, message)])
}

/// One month of the answer, with the plan in force then (if any).
fn month_answer(month: &PortfolioMonth, plans: &[AdoptedPlan]) -> Value {
    let plan = in_force(plans, month.month);
    let debts: Vec<Value> = month
        .debts
        .iter()
        .map(|(debt_id, row)| {
            json!({"debt_id": debt_id, "balance": cents(row.balance), "paid": cents(row.paid),
                   "interest": cents(row.interest), "fees": cents(row.fees)})
        })
        .collect();
    let ahead = plan.and_then(|plan| plan.ahead_by(month.month, month.total_balance));
    json!({
        "month": YearMonth::of(month.month).label(),
        "total_balance": cents(month.total_balance),
        "paid": cents(month.paid),
        "interest": cents(month.interest),
        "fees": cents(month.fees),
        "planned_total": plan.and_then(|plan| plan.planned_total(month.month)).map(cents),
        "ahead_by": ahead.map(|a| json!({"amount": cents(a.amount), "months": a.months})),
        "debts": debts,
    })
}

/// `?from=` (when given) and `?to=` (default this month): months, `to` not after this month, `from` not after
/// `to`.
fn range(
    request: &Request,
    this_month: YearMonth,
) -> Result<(Option<YearMonth>, YearMonth), Problem> {
    let from = query_param(request, "from")
        .map(|raw| YearMonth::parse_field("from", &raw))
        .transpose()?;
    let to = match query_param(request, "to") {
        Some(raw) => YearMonth::parse_field("to", &raw)?,
        None => this_month,
    };
    if to > this_month {
        return Err(invalid(
            "to",
            format!("must not be after this month, {}", this_month.label()),
        ));
    }
    if from.is_some_and(|from| from > to) {
        return Err(invalid("from", "must not be after to"));
    }
    Ok((from, to))
}

/// `GET /users/{username}/progress`: your months from `from` (default: the month your first debt started,
/// at most [`MAX_PROGRESS_MONTHS`] back) to `to` (default and latest: this month, in your time zone).
pub async fn get_progress(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-progress", request, |request, _meta| async move {
        let me = own_username(deps, &request).await?;
        let now = Utc::now();
        let this_month = YearMonth::of(owners_zone(deps, me.as_str()).await?.date_at(now));
        let (from, to) = range(&request, this_month)?;
        // The histories as the engine holds them: progress needs amounts and dates, never a name.
        let histories =
            ledger_histories(deps, &deps.engine_events, me.as_str(), now, Which::Ever).await?;
        let from = match from {
            Some(from) => from,
            None => {
                let first = histories
                    .iter()
                    .filter_map(|h| started_on(h))
                    .min()
                    .map_or(to, YearMonth::of)
                    .min(to);
                first.max(to.minus(MAX_PROGRESS_MONTHS - 1))
            }
        };
        let months = from
            .months_until(to)
            .filter(|months| *months <= MAX_PROGRESS_MONTHS)
            .ok_or_else(|| {
                invalid(
                    "from",
                    format!("the range covers at most {MAX_PROGRESS_MONTHS} months"),
                )
            })?;
        let named: Vec<(String, Vec<events::EventEnvelope>)> = histories
            .into_iter()
            .filter_map(|h| Some((h.first()?.aggregate_id.clone(), h)))
            .collect();
        let progress = portfolio_progress(&named, from.first_day(), months, MAX_PROGRESS_ROWS)
            .map_err(|_| {
                invalid(
                    "from",
                    format!(
                        "these months hold more than the {MAX_PROGRESS_ROWS} debt rows one answer \
                         carries: ask for fewer months"
                    ),
                )
            })?;
        let plans = adopted_plans(deps.engine_events.as_ref(), me.as_str()).await?;
        let answer: Vec<Value> = progress.iter().map(|m| month_answer(m, &plans)).collect();
        Ok(Reply::ok(json!({
            "from": from.label(),
            "to": to.label(),
            "plan_adopted": !plans.is_empty(),
            "months": answer,
        })))
    })
    .await
}
