//! `docs/planning.md`'s worked example, recomputed: its debts and budget go through `domain::plan` for each
//! strategy and for paying only the minimums, and every figure the page states must come out. A change to
//! the rules that moves a cent fails here until the page says so.

use std::str::FromStr;

use domain::plan::{self, PlanDebt, Strategy};
use events::PaymentFrequency;
use rust_decimal::Decimal;
use serde_json::{json, Value};

const PAGE: &str = include_str!("../../../docs/planning.md");

/// The JSON block after `<!-- name -->` on the page.
fn block(name: &str) -> Value {
    let marker = format!("<!-- {name} -->");
    let after = PAGE
        .split_once(&marker)
        .unwrap_or_else(|| panic!("no {marker}"))
        .1;
    let body = after
        .split_once("```json\n")
        .unwrap()
        .1
        .split_once("\n```")
        .unwrap()
        .0;
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn dec(value: &Value) -> Decimal {
    Decimal::from_str(value.as_str().unwrap()).unwrap()
}

fn outcome(plan: &plan::Plan) -> Value {
    if !plan.debt_free {
        return json!({"debt_free": false, "months": null, "total_interest": null});
    }
    json!({
        "months": plan.months,
        "total_interest": plan.total_interest.to_string(),
        "total_paid": plan.total_paid.to_string(),
        "debts": plan.debts.iter().map(|d| json!({
            "debt_id": d.debt_id, "order": d.order, "paid_off_month": d.paid_off_month,
            "interest_paid": d.interest_paid.to_string(), "total_paid": d.total_paid.to_string(),
        })).collect::<Vec<_>>(),
    })
}

/// The example's debts as a plan sees them (rule 2 converts each minimum to a month).
fn example_debts(input: &Value) -> Vec<PlanDebt> {
    input["debts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| PlanDebt {
            debt_id: d["debt_id"].as_str().unwrap().into(),
            debt_name: d["debt_name"].as_str().unwrap().into(),
            balance: dec(&d["current_balance"]),
            interest_rate: dec(&d["interest_rate"]),
            monthly_minimum: plan::monthly_minimum(
                dec(&d["minimum_payment"]),
                PaymentFrequency::parse(d["payment_frequency"].as_str().unwrap()).unwrap(),
            ),
            rate_steps: Vec::new(),
            interest_method: events::InterestMethod::Monthly,
        })
        .collect()
}

#[test]
fn the_worked_example_is_what_the_planner_computes() {
    let input = block("worked-example-input");
    let debts = example_debts(&input);
    let budget = dec(&input["monthly_budget"]);
    let custom: Vec<String> = input["custom_order"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    let run = |strategy: Strategy, budget: Option<Decimal>, rows: bool| {
        let order = plan::order(&debts, &strategy).unwrap();
        plan::simulate(&debts, &order, budget, rows.then_some(plan::RowWindow::ALL)).unwrap()
    };
    let minimums: Value = debts
        .iter()
        .map(|d| (d.debt_id.clone(), json!(d.monthly_minimum.to_string())))
        .collect::<serde_json::Map<_, _>>()
        .into();
    assert_eq!(
        minimums,
        block("worked-example-minimums"),
        "monthly minimums"
    );
    let avalanche = run(Strategy::Avalanche, Some(budget), true);
    let first_months: Vec<Value> = avalanche
        .rows
        .iter()
        .filter(|r| r.month <= 2)
        .map(|r| {
            json!([
                r.month,
                r.debt_id,
                r.interest.to_string(),
                r.payment.to_string(),
                r.balance.to_string()
            ])
        })
        .collect();
    assert_eq!(
        Value::Array(first_months),
        block("worked-example-first-months")
    );
    let computed = json!({
        "avalanche": outcome(&avalanche),
        "snowball": outcome(&run(Strategy::Snowball, Some(budget), false)),
        "custom": outcome(&run(Strategy::Custom(custom), Some(budget), false)),
        "minimum_only": outcome(&run(Strategy::Avalanche, None, false)),
    });
    assert_eq!(computed, block("worked-example-plans"), "the plans");
}
