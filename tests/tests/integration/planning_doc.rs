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

/// The plan's rows of `months`, each `[month, debt, interest, payment, balance after]` as the page writes them.
fn months(plan: &plan::Plan, months: std::ops::RangeInclusive<u32>) -> Value {
    plan.rows
        .iter()
        .filter(|r| months.contains(&r.month))
        .map(|r| {
            json!([
                r.month,
                r.debt_id,
                r.interest.to_string(),
                r.payment.to_string(),
                r.balance.to_string()
            ])
        })
        .collect()
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
    assert_eq!(
        months(&avalanche, 1..=2),
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

fn example_day(v: &Value) -> domain::Day {
    domain::Day::parse("day", v.as_str().unwrap()).unwrap()
}

fn example_money(v: &Value) -> domain::Money {
    domain::Money::parse("amount", dec(v)).unwrap()
}

fn example_owner() -> domain::Username {
    domain::Username::parse("alice").unwrap()
}

/// The example debt's creation, as `POST /debts` would parse it.
fn example_creation(input: &Value) -> domain::DebtCommand {
    let text = |field: &str| input[field].as_str().unwrap();
    domain::DebtCommand::Create {
        owner: example_owner(),
        debt: domain::NewDebt {
            debt_name: domain::DebtName::parse(text("debt_id")).unwrap(),
            principal: example_money(&input["balance"]),
            interest_rate: domain::InterestRate::parse(dec(&input["interest_rate"])).unwrap(),
            start_date: domain::StartDate::parse(text("start_date")).unwrap(),
            payment_frequency: PaymentFrequency::parse(text("payment_frequency")).unwrap(),
            current_balance: example_money(&input["balance"]),
            creditor: None,
            minimum_payment: Some(example_money(&input["minimum_payment"])),
            terms: domain::NewTerms {
                interest_method: Some(
                    events::InterestMethod::parse(text("interest_method")).unwrap(),
                ),
                ..domain::NewTerms::default()
            },
        },
    }
}

/// The example debt's commands in the order they are recorded: its creation, its rate steps, the payments
/// dated up to its statement's closing, the statement, then the later payments.
fn example_commands(input: &Value, today: chrono::NaiveDate) -> Vec<domain::DebtCommand> {
    use domain::DebtCommand;
    let mut commands = vec![example_creation(input)];
    for step in input["rates"].as_array().into_iter().flatten() {
        let step = domain::NewRate {
            rate: domain::InterestRate::parse(dec(&step["rate"])).unwrap(),
            effective_on: example_day(&step["effective_on"]),
            ends_on: step.get("ends_on").map(example_day),
            kind: events::RateKind::parse(step["kind"].as_str().unwrap()).unwrap(),
        };
        commands.push(DebtCommand::ChangeRate {
            actor: example_owner(),
            step,
        });
    }
    let closing = input
        .get("statement")
        .map(|s| s["closing_date"].as_str().unwrap());
    let payments: Vec<&Value> = input["payments"].as_array().into_iter().flatten().collect();
    let pay = |entry: &&Value| DebtCommand::RecordPayment {
        actor: example_owner(),
        payment: domain::Payment {
            amount: example_money(&entry[1]),
            paid_on: example_day(&entry[0]),
            note: None,
        },
        today,
    };
    let (before, after): (Vec<&Value>, Vec<&Value>) = payments
        .into_iter()
        .partition(|p| closing.is_none_or(|c| p[0].as_str().unwrap() <= c));
    commands.extend(before.iter().map(pay));
    if let Some(statement) = input.get("statement") {
        commands.push(DebtCommand::RecordStatement {
            actor: example_owner(),
            statement: domain::NewStatement {
                closing_date: example_day(&statement["closing_date"]),
                statement_balance: example_money(&statement["statement_balance"]),
                minimum_due: example_money(&statement["minimum_due"]),
                due_date: None,
                interest_charged: statement.get("interest_charged").map(example_money),
                fees_charged: statement.get("fees_charged").map(example_money),
            },
            today,
        });
    }
    commands.extend(after.iter().map(pay));
    commands
}

/// The second worked example's debt, built the way the API builds it: every command goes through the Debt
/// decider (on the example's `today`), so the statement's figures are the decider's.
fn terms_example_debt(
    input: &Value,
    today: chrono::NaiveDate,
) -> (domain::DebtRecord, Option<Value>) {
    use domain::{Debt, Decider};
    let mut state = Debt::fold([]);
    let mut stated = None;
    for command in example_commands(input, today) {
        let events = Debt::decide(&command, &state).unwrap();
        if let Some(events::EventPayload::StatementRecorded(recorded)) = events.first() {
            stated = Some(json!({
                "expected_balance": recorded.expected_balance.to_string(),
                "difference": recorded.difference.to_string(),
                "model_interest": recorded.model_interest.to_string(),
                "due_date": recorded.due_date,
                "booked": recorded.booked,
            }));
        }
        state = events.iter().fold(state, Debt::evolve);
    }
    let domain::DebtState::Open(record) = state.state else {
        panic!("open");
    };
    (record, stated)
}

/// A debt of the example as a plan from `start` sees it, with its rates by month as `[[month, rate]]`.
fn example_plan_debt(
    id: String,
    record: &domain::DebtRecord,
    start: chrono::NaiveDate,
) -> (PlanDebt, Value) {
    let (interest_rate, rate_steps) = plan::rates_by_month(record, start);
    let by_month: Vec<Value> = std::iter::once((1, interest_rate))
        .chain(rate_steps.iter().map(|s| (s.from_month, s.interest_rate)))
        .map(|(month, rate)| json!([month, rate.normalize().to_string()]))
        .collect();
    let debt = PlanDebt {
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
    };
    (debt, Value::Array(by_month))
}

fn date(raw: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").unwrap()
}

/// `docs/planning.md`'s second worked example: a card on a 0 % promotion that ends in the plan's fourth month
/// and whose statement differs from the records, a car loan and a student loan (daily rule).
#[test]
fn the_terms_example_is_what_the_decider_and_the_planner_compute() {
    let input = block("terms-example-input");
    let today = date(input["today"].as_str().unwrap());
    let start = date(&format!("{}-01", input["start"].as_str().unwrap()));
    let mut statements = serde_json::Map::new();
    let mut balances = serde_json::Map::new();
    let mut rates = serde_json::Map::new();
    let mut debts = Vec::new();
    for d in input["debts"].as_array().unwrap() {
        let (record, stated) = terms_example_debt(d, today);
        let id = d["debt_id"].as_str().unwrap().to_owned();
        if let Some(stated) = stated {
            statements.insert(id.clone(), stated);
        }
        balances.insert(id.clone(), json!(record.current_balance.to_string()));
        let (debt, by_month) = example_plan_debt(id.clone(), &record, start);
        rates.insert(id, by_month);
        debts.push(debt);
    }
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
    let avalanche = plan::simulate_strategy(
        &debts,
        &Strategy::Avalanche,
        Some(dec(&input["monthly_budget"])),
        &plan::BudgetChanges::default(),
        Some(plan::RowWindow::ALL),
    )
    .unwrap();
    assert_eq!(
        months(&avalanche, 3..=5),
        block("terms-example-months"),
        "months 3 to 5"
    );
    assert_eq!(outcome(&avalanche), block("terms-example-plan"), "the plan");
}
