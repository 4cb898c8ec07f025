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

/// The second worked example's debt, built the way the API builds it: its creation, rate steps, payments
/// and statement go through the Debt decider (dated, on the example's `today`), so the statement's figures
/// are the decider's.
fn terms_example_debt(
    input: &Value,
    today: chrono::NaiveDate,
) -> (domain::DebtRecord, Option<Value>) {
    use domain::{Debt, DebtCommand, Decider};
    let day = |v: &Value| domain::Day::parse("day", v.as_str().unwrap()).unwrap();
    let money = |v: &Value| domain::Money::parse("amount", dec(v)).unwrap();
    let alice = domain::Username::parse("alice").unwrap();
    let mut state = Debt::fold([]);
    let mut run = |command: DebtCommand, state: &mut domain::DebtAggregate| {
        let events = Debt::decide(&command, state).unwrap();
        *state = events.iter().fold(state.clone(), Debt::evolve);
        events
    };
    let method = events::InterestMethod::parse(input["interest_method"].as_str().unwrap()).unwrap();
    let create = DebtCommand::Create {
        owner: alice.clone(),
        debt: domain::NewDebt {
            debt_name: domain::DebtName::parse(input["debt_id"].as_str().unwrap()).unwrap(),
            principal: money(&input["balance"]),
            interest_rate: domain::InterestRate::parse(dec(&input["interest_rate"])).unwrap(),
            start_date: domain::StartDate::parse(input["start_date"].as_str().unwrap()).unwrap(),
            payment_frequency: PaymentFrequency::parse(
                input["payment_frequency"].as_str().unwrap(),
            )
            .unwrap(),
            current_balance: money(&input["balance"]),
            creditor: None,
            minimum_payment: Some(money(&input["minimum_payment"])),
            terms: domain::NewTerms {
                interest_method: Some(method),
                ..domain::NewTerms::default()
            },
        },
    };
    run(create, &mut state);
    for step in input["rates"].as_array().into_iter().flatten() {
        let step = domain::NewRate {
            rate: domain::InterestRate::parse(dec(&step["rate"])).unwrap(),
            effective_on: day(&step["effective_on"]),
            ends_on: step.get("ends_on").map(day),
            kind: events::RateKind::parse(step["kind"].as_str().unwrap()).unwrap(),
        };
        run(
            DebtCommand::ChangeRate {
                actor: alice.clone(),
                step,
            },
            &mut state,
        );
    }
    let pay = |entry: &Value| DebtCommand::RecordPayment {
        actor: alice.clone(),
        payment: domain::Payment {
            amount: money(&entry[1]),
            paid_on: day(&entry[0]),
            note: None,
        },
        today,
    };
    let payments: Vec<&Value> = input["payments"].as_array().into_iter().flatten().collect();
    let mut stated = None;
    if let Some(statement) = input.get("statement") {
        let closing = statement["closing_date"].as_str().unwrap();
        for entry in payments
            .iter()
            .filter(|p| p[0].as_str().unwrap() <= closing)
        {
            run(pay(entry), &mut state);
        }
        let events = run(
            DebtCommand::RecordStatement {
                actor: alice.clone(),
                statement: domain::NewStatement {
                    closing_date: day(&statement["closing_date"]),
                    statement_balance: money(&statement["statement_balance"]),
                    minimum_due: money(&statement["minimum_due"]),
                    due_date: None,
                    interest_charged: statement.get("interest_charged").map(money),
                    fees_charged: statement.get("fees_charged").map(money),
                },
                today,
            },
            &mut state,
        );
        let events::EventPayload::StatementRecorded(recorded) = &events[0] else {
            panic!("a statement");
        };
        stated = Some(json!({
            "expected_balance": recorded.expected_balance.to_string(),
            "difference": recorded.difference.to_string(),
            "model_interest": recorded.model_interest.to_string(),
            "due_date": recorded.due_date,
            "booked": recorded.booked,
        }));
        for entry in payments.iter().filter(|p| p[0].as_str().unwrap() > closing) {
            run(pay(entry), &mut state);
        }
    } else {
        for entry in payments {
            run(pay(entry), &mut state);
        }
    }
    let domain::DebtState::Open(record) = state.state else {
        panic!("open");
    };
    (record, stated)
}

/// `docs/planning.md`'s second worked example: a card on a 0 % promotion that ends in the plan's fourth month
/// and whose statement differs from the records, a car loan and a student loan (daily rule).
#[test]
fn the_terms_example_is_what_the_decider_and_the_planner_compute() {
    let input = block("terms-example-input");
    let today =
        chrono::NaiveDate::parse_from_str(input["today"].as_str().unwrap(), "%Y-%m-%d").unwrap();
    let start = chrono::NaiveDate::parse_from_str(
        &format!("{}-01", input["start"].as_str().unwrap()),
        "%Y-%m-%d",
    )
    .unwrap();
    let mut statements = serde_json::Map::new();
    let mut balances = serde_json::Map::new();
    let mut rates = serde_json::Map::new();
    let debts: Vec<PlanDebt> = input["debts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let (record, stated) = terms_example_debt(d, today);
            let id = d["debt_id"].as_str().unwrap().to_owned();
            if let Some(stated) = stated {
                statements.insert(id.clone(), stated);
            }
            balances.insert(id.clone(), json!(record.current_balance.to_string()));
            let (interest_rate, rate_steps) = plan::rates_by_month(&record, start);
            let by_month: Vec<Value> = std::iter::once((1, interest_rate))
                .chain(rate_steps.iter().map(|s| (s.from_month, s.interest_rate)))
                .map(|(month, rate)| json!([month, rate.normalize().to_string()]))
                .collect();
            rates.insert(id.clone(), Value::Array(by_month));
            PlanDebt {
                debt_id: id,
                debt_name: record.debt_name.clone(),
                balance: record.current_balance,
                interest_rate,
                monthly_minimum: plan::monthly_minimum(
                    record.minimum_payment.unwrap(),
                    record.payment_frequency,
                ),
                rate_steps,
                interest_method: record.interest_method,
            }
        })
        .collect();
    assert_eq!(
        Value::Object(statements),
        block("terms-example-statement"),
        "the statement"
    );
    assert_eq!(
        Value::Object(balances),
        block("terms-example-balances"),
        "today's balances"
    );
    assert_eq!(
        Value::Object(rates),
        block("terms-example-rates"),
        "the rates by month"
    );
    let budget = dec(&input["monthly_budget"]);
    let avalanche = plan::simulate_strategy(
        &debts,
        &Strategy::Avalanche,
        Some(budget),
        &plan::BudgetChanges::default(),
        Some(plan::RowWindow::ALL),
    )
    .unwrap();
    let months: Vec<Value> = avalanche
        .rows
        .iter()
        .filter(|r| (3..=5).contains(&r.month))
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
        Value::Array(months),
        block("terms-example-months"),
        "months 3 to 5"
    );
    assert_eq!(outcome(&avalanche), block("terms-example-plan"), "the plan");
}
