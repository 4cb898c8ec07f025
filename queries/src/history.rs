//! `GET /debts/{debt_id}/history`: every event of one of your debts, oldest first, with who, when, the
//! correlation id, for updates each changed field as `{from, to}`, and for payments, charges and statements
//! their data and the balance `{before, after}`. Every entry that moves the balance names both of its days:
//! `occurred_at` (when it was recorded) and `effective_on` (when it happened: a payment's `paid_on`, a
//! charge's `charged_on`, a statement's `closing_date`, a correction's `balance_on`, a creation's
//! `start_date`). It reads the debt's events (the event
//! log is this view's projection), so it still answers after the debt is deleted. Pages of `?limit=` 1-100
//! entries (default 100) follow each other with an opaque `next_cursor` bound to the debt.

use domain::DebtView;
use std::collections::BTreeSet;

use events::{EventEnvelope, EventPayload, Personal};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{json, Map, Value};
use store::AggregateRef;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http_api::context::{debt_id, query_param};

use crate::listing::parse_limit;

use crate::QueryDeps;

fn entry(event: &EventEnvelope, before: Option<&DebtView>) -> Value {
    let mut entry = json!({
        "version": event.version,
        "event_type": event.event_type(),
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "correlation_id": event.correlation_id,
    });
    if let Some(client) = &event.client_correlation_id {
        entry["client_correlation_id"] = json!(client);
    }
    match (&event.payload, before) {
        (EventPayload::DebtCreated(created), _) => {
            entry["data"] = serde_json::to_value(created).expect("events serialise");
            entry["effective_on"] = json!(created.start_date);
        }
        (EventPayload::DebtUpdated(updated), Some(before)) => {
            let previous = serde_json::to_value(&before.fields).expect("views serialise");
            let changes = serde_json::to_value(&updated.changes).expect("events serialise");
            let diff: Map<String, Value> = changes
                .as_object()
                .into_iter()
                .flatten()
                // A correction's day is the entry's `effective_on`, not a field of the debt.
                .filter(|(field, _)| field.as_str() != "balance_on")
                .map(|(field, to)| {
                    let from = previous.get(field).cloned().unwrap_or(Value::Null);
                    (field.clone(), json!({ "from": from, "to": to }))
                })
                .collect();
            entry["changes"] = Value::Object(diff);
            if let Some(day) = updated.changes.balance_on {
                entry["effective_on"] = json!(day);
            }
        }
        (EventPayload::DebtDeleted(deleted), _) => {
            entry["reason"] = json!(deleted.reason);
        }
        (EventPayload::RateChanged(changed), _) => {
            entry["data"] = json!(changed);
        }
        (EventPayload::PaymentDueSoon(notice), _) => entry["data"] = json!(notice),
        (EventPayload::PaymentMissed(notice), _) => entry["data"] = json!(notice),
        (EventPayload::PromoEndingSoon(notice), _) => entry["data"] = json!(notice),
        (EventPayload::PaymentRecorded(payment), Some(before)) => {
            money_moved(&mut entry, json!(payment), before, event);
            entry["effective_on"] = json!(payment.paid_on);
        }
        (EventPayload::ChargeAdded(charge), Some(before)) => {
            money_moved(&mut entry, json!(charge), before, event);
            entry["effective_on"] = json!(charge.charged_on);
        }
        (EventPayload::StatementRecorded(statement), Some(before)) => {
            money_moved(&mut entry, json!(statement), before, event);
            entry["effective_on"] = json!(statement.closing_date);
        }
        _ => {}
    }
    entry
}

/// A payment's, charge's or statement's entry: its data, and the balance before and after it.
fn money_moved(entry: &mut Value, data: Value, before: &DebtView, event: &EventEnvelope) {
    entry["data"] = data;
    let after = before.clone().apply(event);
    entry["balance"] = json!({
        "before": before.fields.current_balance,
        "after": after.fields.current_balance,
    });
}

/// A history cursor: the last version sent, for one debt.
#[derive(serde::Serialize, serde::Deserialize)]
struct Cursor {
    debt: String,
    after: u64,
}

fn encode_cursor(debt: &str, after: u64) -> String {
    let cursor = Cursor {
        debt: debt.to_owned(),
        after,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).expect("cursors serialise"))
}

fn decode_cursor(raw: &str, debt: &str) -> Result<u64, Problem> {
    let invalid = || Problem::malformed("the cursor is not valid for this history");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.debt != debt {
        return Err(invalid());
    }
    Ok(cursor.after)
}

/// The debt as its first `after` events left it, for the diffs and balances of the page that follows. Those
/// events are read as stored and folded without opening anything (a page costs no decryption of the history
/// before it); then only the events that last set the two personal fields the diffs show (the name and the
/// creditor) are opened, one read each.
async fn view_before(
    deps: &QueryDeps,
    aggregate: &AggregateRef,
    after: u64,
) -> Result<Option<DebtView>, Problem> {
    if after == 0 {
        return Ok(None);
    }
    let before = deps
        .engine_events
        .load_events_through(aggregate, 0, after)
        .await?;
    let Some(mut view) = DebtView::from_history(&before) else {
        return Ok(None);
    };
    let (name_set_at, creditor_set_at) = personal_fields_last_set(&before);
    let setters: BTreeSet<u64> = [name_set_at, creditor_set_at]
        .into_iter()
        .flatten()
        .collect();
    for version in setters {
        let opened = deps
            .events
            .load_events_through(aggregate, version - 1, version)
            .await?;
        let Some(event) = opened.first() else {
            continue;
        };
        let (name, creditor) = match &event.payload {
            EventPayload::DebtCreated(created) => {
                (Some(&created.debt_name), Some(created.creditor.as_ref()))
            }
            EventPayload::DebtUpdated(updated) => (
                updated.changes.debt_name.as_ref(),
                updated.changes.creditor.as_ref().map(Option::as_ref),
            ),
            _ => (None, None),
        };
        if name_set_at == Some(version) {
            if let Some(name) = name {
                view.fields.debt_name = name.to_shown();
            }
        }
        if creditor_set_at == Some(version) {
            if let Some(creditor) = creditor {
                view.fields.creditor = creditor.map(Personal::to_shown);
            }
        }
    }
    Ok(Some(view))
}

/// The versions of `history` that last set the debt's name and its creditor.
fn personal_fields_last_set(history: &[EventEnvelope]) -> (Option<u64>, Option<u64>) {
    let (mut name_set_at, mut creditor_set_at) = (None, None);
    for event in history {
        match &event.payload {
            EventPayload::DebtCreated(_) => {
                name_set_at = Some(event.version);
                creditor_set_at = Some(event.version);
            }
            EventPayload::DebtUpdated(updated) => {
                if updated.changes.debt_name.is_some() {
                    name_set_at = Some(event.version);
                }
                if updated.changes.creditor.is_some() {
                    creditor_set_at = Some(event.version);
                }
            }
            _ => {}
        }
    }
    (name_set_at, creditor_set_at)
}

pub async fn get_debt_history(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-debt-history", request, |request, _meta| async move {
        let me = crate::signed_in(deps, &request).await?;
        let aggregate = AggregateRef::debt(debt_id(&request)?);
        // Whose it is first, from the stored creation: another user's debt is never opened.
        if !crate::owns(deps, me.as_str(), &aggregate.aggregate_id).await? {
            return Err(Problem::not_found("no such debt"));
        }
        let limit = parse_limit(query_param(&request, "limit"), 100)?;
        let after = match query_param(&request, "cursor") {
            Some(raw) => decode_cursor(&raw, &aggregate.aggregate_id)?,
            None => 0,
        };
        let mut view = view_before(deps, &aggregate, after).await?;
        // The page, and one event past it to tell whether another page follows: only these are opened.
        let through = after.saturating_add(limit as u64 + 1);
        let mut page = deps
            .events
            .load_events_through(&aggregate, after, through)
            .await?;
        let more = page.len() > limit;
        page.truncate(limit);
        let mut entries = Vec::with_capacity(page.len());
        for event in &page {
            entries.push(entry(event, view.as_ref()));
            view = match view {
                None => DebtView::from_history(std::slice::from_ref(event)),
                Some(view) => Some(view.apply(event)),
            };
        }
        let last_sent = after + page.len() as u64;
        let next_cursor = more.then(|| encode_cursor(&aggregate.aggregate_id, last_sent));
        Ok(Reply::page(&entries, next_cursor))
    })
    .await
}
