//! `POST /debts`, `PUT /debts/{debt_id}`, `DELETE /debts/{debt_id}`: the Debt aggregate's commands.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{
    Creditor, Debt, DebtAggregate, DebtCommand, DebtName, DebtPatch, DebtView, Decider, DueDays,
    InterestMethod, InterestRate, Money, NewDebt, NewTerms, PaymentFrequency, StartDate,
    StatementDay, Username,
};
use events::EventEnvelope;
use http_api::body::{json_object, parsed_decimal, parsed_integer, parsed_text, Digits, Fields};
use http_api::context::{caller, debt_id, idempotency_key, if_match, Precondition};
use http_api::{serve, Problem, Reply, RequestMeta};
use lambda_http::{Body, Error, Request, Response};
use store::ledger::{ledger_item, LedgerEntry};
use store::{keys, AggregateRef, AppendRequest, EventLog, Records, StoreError, Stores};
use uuid::Uuid;

use crate::envelope::envelopes;

pub use domain::limits::{
    MAX_DEBTS_CREATED_PER_USER, MAX_EVENTS_PER_DEBT, MAX_LIVE_DEBTS_PER_USER,
};

/// `append` of a debt's creation or deletion, with what goes with it in the same transaction: the move of
/// `owner`'s count of live debts, and the owner's ledger entry (what `as_of` reads list debts from).
fn with_debt_bookkeeping(append: AppendRequest, owner: &str, entry: LedgerEntry) -> AppendRequest {
    let event = append.events.last().expect("an append has events");
    let ledger = ledger_item(owner, &event.aggregate_id, entry, event.occurred_at);
    let delta = match entry {
        LedgerEntry::Created => 1,
        LedgerEntry::Deleted => -1,
    };
    let append = append
        .with_tally(
            LIVE_DEBTS,
            keys::user_tallies_key(owner),
            keys::LIVE_DEBTS_FIELD,
            delta,
            MAX_LIVE_DEBTS_PER_USER,
        )
        .with_guard("ledger entry", ledger);
    match entry {
        LedgerEntry::Created => append.with_tally(
            DEBTS_CREATED,
            keys::user_ledger_tally_key(owner),
            keys::DEBTS_CREATED_FIELD,
            1,
            MAX_DEBTS_CREATED_PER_USER,
        ),
        LedgerEntry::Deleted => append,
    }
}

/// Names the tally of a user's live debts in a refused append.
const LIVE_DEBTS: &str = "debts";
/// Names the tally of the debts a user ever created.
const DEBTS_CREATED: &str = "debts created";

/// Namespace of debt ids derived from an owner and an `Idempotency-Key`.
const IDEMPOTENT_DEBT_IDS: Uuid = Uuid::from_u128(0x6f1c_2a7e_94d3_4b0a_8e55_c1d2_7a9b_3e40);

/// Where the debt handlers read the time: the system clock, or a test's own (which can be days ago).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What the debt handlers need, built once per container: the debts' events (sealed), and the records
/// beside them (idempotency records).
pub struct DebtDeps {
    pub events: Arc<dyn EventLog>,
    pub records: Arc<dyn Records>,
    /// Stamps events and says what "today" is for payment and charge days.
    pub clock: Clock,
}

impl DebtDeps {
    /// The handlers over `stores`, on the system clock.
    pub fn new(stores: &Stores) -> Self {
        DebtDeps {
            events: Arc::clone(&stores.events),
            records: Arc::clone(&stores.records),
            clock: Arc::new(Utc::now),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }
}

pub(crate) fn view(history: &[EventEnvelope]) -> Result<Reply, Problem> {
    let debt = DebtView::from_history(history).ok_or_else(|| Problem::not_found("no such debt"))?;
    let version = debt.version;
    Ok(Reply::ok(debt).with_version(version))
}

pub(crate) fn money(
    field: &'static str,
) -> impl FnOnce(&serde_json::Value) -> Result<Money, String> {
    parsed_decimal(Digits::MONEY, move |d| Money::parse(field, d))
}

/// The terms among a debt's fields (`statement_day`, `due_days`, `interest_method`), each optional.
fn parse_terms(fields: &mut Fields) -> NewTerms {
    NewTerms {
        statement_day: fields.optional("statement_day", parsed_integer(StatementDay::parse)),
        due_days: fields.optional("due_days", parsed_integer(DueDays::parse)),
        interest_method: fields.optional("interest_method", parsed_text(InterestMethod::parse)),
    }
}

/// The body of `POST /debts`. `current_balance` defaults to the principal.
fn parse_new_debt(mut fields: Fields) -> Result<NewDebt, Problem> {
    let debt_name = fields.required("debt_name", parsed_text(DebtName::parse));
    let principal = fields.required("principal", money("principal"));
    let interest_rate = fields.required(
        "interest_rate",
        parsed_decimal(Digits::RATE, InterestRate::parse),
    );
    let start_date = fields.required("start_date", parsed_text(StartDate::parse));
    let payment_frequency =
        fields.required("payment_frequency", parsed_text(PaymentFrequency::parse));
    let current_balance = fields.optional("current_balance", money("current_balance"));
    let creditor = fields.optional("creditor", parsed_text(Creditor::parse));
    let minimum_payment = fields.optional("minimum_payment", money("minimum_payment"));
    let terms = parse_terms(&mut fields);
    let accepted = fields.finish()?;
    let principal = principal.take(&accepted);
    Ok(NewDebt {
        debt_name: debt_name.take(&accepted),
        principal,
        interest_rate: interest_rate.take(&accepted),
        start_date: start_date.take(&accepted),
        payment_frequency: payment_frequency.take(&accepted),
        current_balance: current_balance.unwrap_or(principal),
        creditor,
        minimum_payment,
        terms,
    })
}

/// The body of `PUT /debts/{id}`: any non-empty subset of the mutable fields; `creditor: null` clears it.
fn parse_patch(mut fields: Fields) -> Result<DebtPatch, Problem> {
    if fields.is_empty() {
        fields.reject("body", "must set at least one field to change");
    }
    let patch = DebtPatch {
        debt_name: fields.optional("debt_name", parsed_text(DebtName::parse)),
        principal: fields.optional("principal", money("principal")),
        interest_rate: fields.optional(
            "interest_rate",
            parsed_decimal(Digits::RATE, InterestRate::parse),
        ),
        start_date: fields.optional("start_date", parsed_text(StartDate::parse)),
        payment_frequency: fields
            .optional("payment_frequency", parsed_text(PaymentFrequency::parse)),
        current_balance: fields.optional("current_balance", money("current_balance")),
        creditor: fields.nullable("creditor", parsed_text(Creditor::parse)),
        minimum_payment: fields.nullable("minimum_payment", money("minimum_payment")),
        terms: parse_terms(&mut fields),
    };
    fields.finish()?;
    Ok(patch)
}

/// `POST /debts`: records a new debt for the caller. With an `Idempotency-Key`, the debt id is derived from
/// the owner and the key, so a retry finds the debt its first attempt created and appends nothing.
pub async fn create_debt(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    serve("create-debt", request, |request, meta| async move {
        let owner = caller(&request)?;
        let key = idempotency_key(&request)?;
        let debt = parse_new_debt(json_object(&request)?)?;
        let debt_id = match &key {
            Some(key) => Uuid::new_v5(&IDEMPOTENT_DEBT_IDS, format!("{owner}\n{key}").as_bytes()),
            None => Uuid::now_v7(),
        }
        .to_string();
        let command = DebtCommand::Create {
            owner: owner.clone(),
            debt,
        };
        let payloads = Debt::decide(&command, &DebtAggregate::default())?;
        let events = envelopes(&debt_id, 0, payloads, owner.as_str(), &meta, deps.now());
        let append = with_debt_bookkeeping(
            AppendRequest::new(0, events.clone()),
            owner.as_str(),
            LedgerEntry::Created,
        );
        match deps.events.append(append).await {
            Ok(()) => {
                tracing::info!(debt_id, "debt created");
                Ok(view(&events)?.as_created())
            }
            Err(StoreError::VersionConflict { .. }) if key.is_some() => {
                replay_creation(deps, &debt_id, &events).await
            }
            Err(StoreError::LimitReached { name }) if name == DEBTS_CREATED => {
                Err(Problem::conflict(format!(
                    "you have created {MAX_DEBTS_CREATED_PER_USER} debts, the most one account may ever \
                     create (deleted ones count: their history is kept)"
                )))
            }
            Err(StoreError::LimitReached { .. }) => Err(Problem::conflict(format!(
                "you keep {MAX_LIVE_DEBTS_PER_USER} debts, the most one user may; delete one to record another"
            ))),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// A retried `POST /debts`: the same body gets the original response; a different body reusing the key
/// is refused (422), and so is a retry of a debt deleted since (409).
async fn replay_creation(
    deps: &DebtDeps,
    debt_id: &str,
    attempted: &[EventEnvelope],
) -> Result<Reply, Problem> {
    let history = deps
        .events
        .load_events(&AggregateRef::debt(debt_id), 0)
        .await?;
    let original = history
        .first()
        .ok_or_else(|| Problem::internal("the debt vanished"))?;
    if original.payload != attempted[0].payload {
        return Err(Problem::idempotency_mismatch(
            "this Idempotency-Key was used for a different request body",
        ));
    }
    // The key's debt was deleted since: answering the original 201 would announce a debt `GET` says is gone.
    if DebtView::from_history(&history).is_some_and(|debt| debt.deleted) {
        return Err(Problem::conflict(
            "this Idempotency-Key created a debt that has since been deleted",
        ));
    }
    tracing::info!(debt_id, "idempotent retry answered from the original event");
    Ok(view(&history[..1])?.as_created())
}

/// What a change of an existing debt is about: the route, the debt, who asks, and their `If-Match`.
pub(crate) struct Change {
    pub route: &'static str,
    pub debt_id: String,
    pub actor: Username,
    pub precondition: Option<Precondition>,
}

impl Change {
    pub fn of(route: &'static str, request: &Request) -> Result<Self, Problem> {
        Ok(Change {
            route,
            actor: caller(request)?,
            debt_id: debt_id(request)?,
            precondition: if_match(request)?,
        })
    }
}

/// Loads a debt, checks access and `If-Match`, decides, and appends (with `record`, when given, in the same
/// transaction); a concurrent write between load and append is retried once (the retry re-checks
/// `If-Match`), then reported as a conflict.
pub(crate) async fn change_debt(
    deps: &DebtDeps,
    meta: &RequestMeta,
    change: &Change,
    command: DebtCommand,
    record: Option<&crate::idempotency::KeyRecord>,
) -> Result<Reply, Problem> {
    let Change {
        route,
        debt_id,
        actor,
        precondition,
    } = change;
    let debt_id = debt_id.as_str();
    let aggregate = AggregateRef::debt(debt_id);
    for attempt in 1..=2 {
        let mut history = deps.events.load_events(&aggregate, 0).await?;
        let version = history.last().map_or(0, |e| e.version);
        let aggregate = Debt::fold(history.iter().map(|e| &e.payload));
        // Not found (or not yours) is answered before the precondition, so 412 never reveals a debt.
        Debt::owned_by(&aggregate.state, actor)?;
        if precondition.as_ref().is_some_and(|p| !p.holds_for(version)) {
            return Err(Problem::precondition_failed(format!(
                "the debt is at version {version}; reload it and retry"
            )));
        }
        let payloads = Debt::decide(&command, &aggregate)?;
        if payloads.is_empty() {
            return view(&history);
        }
        // Every change reloads the whole history, so it is bounded; a deletion is always allowed.
        if version >= MAX_EVENTS_PER_DEBT && !matches!(command, DebtCommand::Delete { .. }) {
            return Err(Problem::conflict(format!(
                "the debt has reached its limit of {MAX_EVENTS_PER_DEBT} changes; record a new debt"
            )));
        }
        let events = envelopes(debt_id, version, payloads, actor.as_str(), meta, deps.now());
        let mut append = AppendRequest::new(version, events.clone());
        if let Some(record) = record {
            append = record.attach(append, version + events.len() as u64);
        }
        if matches!(command, DebtCommand::Delete { .. }) {
            // Frees the owner's slot (the owner is the actor: owned_by checked it above).
            append = with_debt_bookkeeping(append, actor.as_str(), LedgerEntry::Deleted);
        }
        match deps.events.append(append).await {
            Ok(()) => {
                history.extend(events);
                return view(&history);
            }
            Err(StoreError::VersionConflict { .. }) if attempt == 1 => {
                tracing::info!(debt_id, version, "concurrent write; retrying once");
                lambda_support::metrics::count(route, "ConcurrencyConflicts", 1);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(Problem::conflict(
        "the debt keeps changing; reload it and retry",
    ))
}

/// `PUT /debts/{debt_id}`: changes any subset of a debt's fields; `If-Match` guards against lost updates.
pub async fn update_debt(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    serve("update-debt", request, |request, meta| async move {
        let change = Change::of("update-debt", &request)?;
        let patch = parse_patch(json_object(&request)?)?;
        let actor = change.actor.clone();
        let today = deps.now().date_naive();
        let command = DebtCommand::Update {
            actor,
            patch,
            today,
        };
        change_debt(deps, &meta, &change, command, None).await
    })
    .await
}

/// `DELETE /debts/{debt_id}`: deletes a debt for good; its history stays readable.
pub async fn delete_debt(request: Request, deps: &DebtDeps) -> Result<Response<Body>, Error> {
    serve("delete-debt", request, |request, meta| async move {
        let change = Change::of("delete-debt", &request)?;
        let actor = change.actor.clone();
        let command = DebtCommand::Delete {
            actor,
            reason: None,
        };
        change_debt(deps, &meta, &change, command, None).await
    })
    .await
}
