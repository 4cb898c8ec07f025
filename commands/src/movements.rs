//! `POST /debts/{debt_id}/payments` and `POST /debts/{debt_id}/charges`: money moving on a debt, each an
//! event of its own (`PaymentRecorded`, `ChargeAdded`), so the log says why a balance changed; and
//! `POST /debts/{debt_id}/rates`, a step of the lender's rate schedule (`RateChanged`), which takes the same
//! path (`If-Match`, `Idempotency-Key`, 201 with the debt); and `POST /debts/{debt_id}/statements`, the
//! lender's statement reconciled against the balance by effective date (`StatementRecorded`).

use domain::{
    Charge, ChargeKind, Day, DebtCommand, InterestRate, Money, NewRate, NewStatement, Note,
    Payment, RateKind,
};
use http_api::body::{json_object, parsed_decimal, parsed_text, Digits, Fields};
use http_api::context::idempotency_key;
use http_api::{serve, Problem, Reply, RequestMeta};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{json, Value};

use crate::debts::{change_debt, money, Change, DebtDeps};
use crate::idempotency::KeyRecord;

fn positive_money(field: &'static str) -> impl FnOnce(&Value) -> Result<Money, String> {
    parsed_decimal(Digits::MONEY, move |d| Money::parse_positive(field, d))
}

fn day(field: &'static str) -> impl FnOnce(&Value) -> Result<Day, String> {
    parsed_text(move |raw| Day::parse(field, raw))
}

/// The body of `POST /debts/{id}/payments`: `amount`, `paid_on`, and an optional `note`.
fn parse_payment(mut fields: Fields) -> Result<Payment, Problem> {
    let amount = fields.required("amount", positive_money("amount"));
    let paid_on = fields.required("paid_on", day("paid_on"));
    let note = fields.optional("note", parsed_text(Note::parse));
    let accepted = fields.finish()?;
    Ok(Payment {
        amount: amount.take(&accepted),
        paid_on: paid_on.take(&accepted),
        note,
    })
}

/// The body of `POST /debts/{id}/charges`: `amount`, `charged_on`, `kind`, and an optional `note`.
fn parse_charge(mut fields: Fields) -> Result<Charge, Problem> {
    let amount = fields.required("amount", positive_money("amount"));
    let charged_on = fields.required("charged_on", day("charged_on"));
    let kind = fields.required("kind", parsed_text(ChargeKind::parse));
    let note = fields.optional("note", parsed_text(Note::parse));
    let accepted = fields.finish()?;
    Ok(Charge {
        amount: amount.take(&accepted),
        charged_on: charged_on.take(&accepted),
        kind: kind.take(&accepted),
        note,
    })
}

/// The body of `POST /debts/{id}/rates`: `rate`, `effective_on`, `kind`, and an optional `ends_on`.
fn parse_rate(mut fields: Fields) -> Result<NewRate, Problem> {
    let rate = fields.required(
        "rate",
        parsed_decimal(Digits::RATE, |d| InterestRate::parse_field("rate", d)),
    );
    let effective_on = fields.required("effective_on", day("effective_on"));
    let ends_on = fields.optional("ends_on", day("ends_on"));
    let kind = fields.required("kind", parsed_text(RateKind::parse));
    let accepted = fields.finish()?;
    Ok(NewRate {
        rate: rate.take(&accepted),
        effective_on: effective_on.take(&accepted),
        ends_on,
        kind: kind.take(&accepted),
    })
}

/// The body of `POST /debts/{id}/statements`: `closing_date`, `statement_balance`, `minimum_due`, and
/// optionally `due_date`, `interest_charged` and `fees_charged`.
fn parse_statement(mut fields: Fields) -> Result<NewStatement, Problem> {
    let closing_date = fields.required("closing_date", day("closing_date"));
    let statement_balance = fields.required("statement_balance", money("statement_balance"));
    let minimum_due = fields.required("minimum_due", money("minimum_due"));
    let due_date = fields.optional("due_date", day("due_date"));
    let interest_charged = fields.optional("interest_charged", money("interest_charged"));
    let fees_charged = fields.optional("fees_charged", money("fees_charged"));
    let accepted = fields.finish()?;
    Ok(NewStatement {
        closing_date: closing_date.take(&accepted),
        statement_balance: statement_balance.take(&accepted),
        minimum_due: minimum_due.take(&accepted),
        due_date,
        interest_charged,
        fees_charged,
    })
}

/// Appends a money movement or a rate step, answering 201 with the debt's new state. With an
/// `Idempotency-Key`, a retry of the same request gets the first answer and appends nothing; another
/// request under the key is a 422.
async fn append_keyed(
    deps: &DebtDeps,
    request: &Request,
    meta: &RequestMeta,
    change: Change,
    command: DebtCommand,
    parsed_body: Value,
) -> Result<Reply, Problem> {
    let record = match idempotency_key(request)? {
        Some(key) => Some(
            KeyRecord::new(
                deps.records.as_ref(),
                change.actor.as_str(),
                &key,
                change.route,
                &change.debt_id,
                &parsed_body,
                deps.now(),
            )
            .await?,
        ),
        None => None,
    };
    if let Some(record) = &record {
        if let Some(reply) = record.earlier_answer(deps, deps.now()).await? {
            return Ok(reply);
        }
    }
    match change_debt(deps, meta, &change, command, record.as_ref()).await {
        Ok(reply) => Ok(reply.as_created()),
        // A concurrent request under the same key may have been recorded since this one looked: then this
        // one is its retry and gets its answer, whatever this one decided against the state it loaded (a
        // lost append's 409, or a 422 against a balance the first one already lowered). Not a refused caller.
        Err(problem) if problem.status < 500 && !matches!(problem.status, 401 | 403) => {
            match &record {
                Some(record) => record
                    .earlier_answer(deps, deps.now())
                    .await?
                    .ok_or(problem),
                None => Err(problem),
            }
        }
        Err(problem) => Err(problem),
    }
}

/// A money movement a request asks for: a payment or a charge.
enum Movement {
    Payment(Payment),
    Charge(Charge),
}

impl Movement {
    /// The movement `route` takes, from the request's body.
    fn parse(route: &str, request: &Request) -> Result<Movement, Problem> {
        let fields = json_object(request)?;
        if route == "record-payment" {
            parse_payment(fields).map(Movement::Payment)
        } else {
            parse_charge(fields).map(Movement::Charge)
        }
    }

    /// The request as its event would record it: equal requests give equal records.
    fn recorded(&self) -> Value {
        match self {
            Movement::Payment(payment) => json!(payment.recorded()),
            Movement::Charge(charge) => json!(charge.added()),
        }
    }

    fn command(self, actor: domain::Username, today: chrono::NaiveDate) -> DebtCommand {
        match self {
            Movement::Payment(payment) => DebtCommand::RecordPayment {
                actor,
                payment,
                today,
            },
            Movement::Charge(charge) => DebtCommand::AddCharge {
                actor,
                charge,
                today,
            },
        }
    }
}

/// The handler of a money movement's route (`record-payment`, `add-charge`).
async fn movement(
    route: &'static str,
    request: Request,
    deps: &DebtDeps,
) -> Result<Response<Body>, Error> {
    serve(route, request, |request, meta| async move {
        let change = Change::of(route, &request)?;
        let movement = Movement::parse(route, &request)?;
        let parsed = movement.recorded();
        let command = movement.command(change.actor.clone(), deps.now().date_naive());
        append_keyed(deps, &request, &meta, change, command, parsed).await
    })
    .await
}

/// `POST /debts/{debt_id}/payments`: records a payment; the balance goes down, and at zero the debt is paid
/// off. `If-Match` and `Idempotency-Key` as on other changes.
pub async fn record_payment(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    movement("record-payment", request, deps).await
}

/// `POST /debts/{debt_id}/charges`: adds interest, a fee or a purchase to what is owed; a paid-off debt is
/// open again.
pub async fn add_charge(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    movement("add-charge", request, deps).await
}

/// `POST /debts/{debt_id}/rates`: adds a step to the debt's rate schedule: `rate` from `effective_on` (today,
/// past or future), through `ends_on` when given, of `kind` standard, promotional or penalty. 201 with the
/// debt; `GET /debts/{id}` shows the rate in force today.
pub async fn change_rate(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    serve("change-rate", request, |request, meta| async move {
        let change = Change::of("change-rate", &request)?;
        let step = parse_rate(json_object(&request)?)?;
        let parsed = json!(step.changed());
        let command = DebtCommand::ChangeRate {
            actor: change.actor.clone(),
            step,
        };
        append_keyed(deps, &request, &meta, change, command, parsed).await
    })
    .await
}

/// `POST /debts/{debt_id}/statements`: records the lender's statement closing on `closing_date`. When the
/// statement's balance differs from the debt's balance by effective date on that day, the same append books
/// the difference (the statement's interest, its fees, the rest as an adjustment), so the balance on the
/// closing date is the statement's. 201 with the debt; the same statement again appends nothing.
pub async fn record_statement(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    serve("record-statement", request, |request, meta| async move {
        let change = Change::of("record-statement", &request)?;
        let statement = parse_statement(json_object(&request)?)?;
        let parsed = json!({
            "closing_date": statement.closing_date.date(),
            "statement_balance": statement.statement_balance.amount(),
            "minimum_due": statement.minimum_due.amount(),
            "due_date": statement.due_date.map(Day::date),
            "interest_charged": statement.interest_charged.map(Money::amount),
            "fees_charged": statement.fees_charged.map(Money::amount),
        });
        let command = DebtCommand::RecordStatement {
            actor: change.actor.clone(),
            statement,
            today: deps.now().date_naive(),
        };
        append_keyed(deps, &request, &meta, change, command, parsed).await
    })
    .await
}
