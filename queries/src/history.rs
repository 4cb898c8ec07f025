//! `GET /debts/{debt_id}/history`: every event of one of your debts, oldest first, with who, when, the
//! correlation id and, for updates, each changed field as `{from, to}`. It reads the debt's events (the event
//! log is this view's projection), so it still answers after the debt is deleted.

use domain::DebtView;
use events::{EventEnvelope, EventPayload};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::{json, Map, Value};
use store::AggregateRef;

use http_api::context::{caller, debt_id};

use crate::QueryDeps;

fn entry(event: &EventEnvelope, before: Option<&DebtView>) -> Value {
    let mut entry = json!({
        "version": event.version,
        "event_type": event.event_type(),
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "correlation_id": event.correlation_id,
    });
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
        _ => {}
    }
    entry
}

pub async fn get_debt_history(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-debt-history", request, |request, _meta| async move {
        let me = caller(&request)?;
        let aggregate = AggregateRef::debt(debt_id(&request)?);
        let events = deps.store.load_events(&aggregate, 0).await?;
        let not_found = || Problem::not_found("no such debt");
        let owner = match events.first().map(|e| &e.payload) {
            Some(EventPayload::DebtCreated(created)) => created.owner.clone(),
            _ => return Err(not_found()),
        };
        if owner != me.as_str() {
            return Err(not_found());
        }
        let mut entries = Vec::with_capacity(events.len());
        let mut view: Option<DebtView> = None;
        for (index, event) in events.iter().enumerate() {
            entries.push(entry(event, view.as_ref()));
            view = match view {
                None => DebtView::from_history(&events[..=index]),
                Some(view) => Some(view.apply(event)),
            };
        }
        Ok(Reply::ok(entries))
    })
    .await
}
