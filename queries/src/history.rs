//! `GET /debts/{debt_id}/history`: every event of one of your debts, oldest first, with who, when, the
//! correlation id, for updates each changed field as `{from, to}`, and for payments and charges their data
//! and the balance `{before, after}`. It reads the debt's events (the event
//! log is this view's projection), so it still answers after the debt is deleted. Pages of `?limit=` 1-100
//! entries (default 100) follow each other with an opaque `next_cursor` bound to the debt.

use domain::DebtView;
use events::{EventEnvelope, EventPayload};
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
        }
        (EventPayload::DebtUpdated(updated), Some(before)) => {
            let previous = serde_json::to_value(&before.fields).expect("views serialise");
            let changes = serde_json::to_value(&updated.changes).expect("events serialise");
            let diff: Map<String, Value> = changes
                .as_object()
                .into_iter()
                .flatten()
                .map(|(field, to)| {
                    let from = previous.get(field).cloned().unwrap_or(Value::Null);
                    (field.clone(), json!({ "from": from, "to": to }))
                })
                .collect();
            entry["changes"] = Value::Object(diff);
        }
        (EventPayload::DebtDeleted(deleted), _) => {
            entry["reason"] = json!(deleted.reason);
        }
        (EventPayload::PaymentRecorded(payment), Some(before)) => {
            money_moved(&mut entry, json!(payment), before, event);
        }
        (EventPayload::ChargeAdded(charge), Some(before)) => {
            money_moved(&mut entry, json!(charge), before, event);
        }
        _ => {}
    }
    entry
}

/// A payment's or charge's entry: its data, and the balance before and after it.
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

pub async fn get_debt_history(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-debt-history", request, |request, _meta| async move {
        let me = crate::signed_in(deps, &request).await?;
        let aggregate = AggregateRef::debt(debt_id(&request)?);
        // Whose it is first, from the stored creation: another user's debt is never opened.
        if !crate::owns(deps, me.as_str(), &aggregate.aggregate_id).await? {
            return Err(Problem::not_found("no such debt"));
        }
        let events = deps.events.load_events(&aggregate, 0).await?;
        let limit = parse_limit(query_param(&request, "limit"), 100)?;
        let after = match query_param(&request, "cursor") {
            Some(raw) => decode_cursor(&raw, &aggregate.aggregate_id)?,
            None => 0,
        };
        // Every event is folded (a page's first change needs the state before it); only the page is sent.
        let mut entries = Vec::with_capacity(limit);
        let mut view: Option<DebtView> = None;
        for (index, event) in events.iter().enumerate() {
            if event.version > after && entries.len() < limit {
                entries.push(entry(event, view.as_ref()));
            }
            view = match view {
                None => DebtView::from_history(&events[..=index]),
                Some(view) => Some(view.apply(event)),
            };
        }
        let last_sent = after + entries.len() as u64;
        let more = events.last().is_some_and(|e| e.version > last_sent);
        let next_cursor = more.then(|| encode_cursor(&aggregate.aggregate_id, last_sent));
        Ok(Reply::page(&entries, next_cursor))
    })
    .await
}
