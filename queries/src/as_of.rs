//! `?as_of=T` on `GET /debts/{debt_id}`, `GET /debts` and `GET /users/{username}/summary`: the state as the
//! API had recorded it at instant T, folded from the events with `occurred_at <= T`. Nothing here reads a
//! read item: a debt comes from its events, and which debts a user had at T from their debt ledger (one
//! immutable entry per creation and per deletion, written in that event's transaction).
//!
//! `as_of` is recorded time, not the time a user says money moved: a payment recorded on 3 January with
//! `paid_on` 30 December shows from 3 January on. `?on=DATE` is the other axis, effective time: the balance
//! of every movement dated on or before DATE. Together they are bitemporal: by effective date D, as
//! recorded at T.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, NaiveTime, Utc};
use events::{EventEnvelope, EventPayload};
use http_api::problem::FieldError;
use http_api::Problem;
use serde_json::Value;
use store::ledger::{read_ledger_item, LedgerEntry};
use store::{keys, query_all, AggregateRef, EventLog, Query};

use crate::QueryDeps;
use tokio::task::JoinSet;

/// How many debts' events an `as_of` listing loads at once.
const CONCURRENT_LOADS: usize = 16;

fn invalid(message: impl Into<String>) -> Problem {
    Problem::validation(vec![FieldError::new("as_of", message)])
}

/// `?as_of=`: an RFC 3339 instant, or a date (`YYYY-MM-DD`) meaning the end of that UTC day; not in the
/// future. `None` when absent.
pub fn parse(raw: Option<String>, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Problem> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    let instant = if raw.len() == 10 {
        domain::Day::parse("as_of", &raw)
            .map_err(|e| invalid(e.message))?
            .date()
            .and_time(NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).expect("a valid time"))
            .and_utc()
    } else {
        // An offset's `+` sent unencoded arrives as a space (form decoding); it can only have meant `+`.
        let raw = match raw.rfind(' ') {
            Some(at) if at >= 19 => format!("{}+{}", &raw[..at], &raw[at + 1..]),
            _ => raw,
        };
        DateTime::parse_from_rfc3339(&raw)
            .map_err(|_| invalid("must be an RFC 3339 instant or a date (YYYY-MM-DD)"))?
            .to_utc()
    };
    if instant > now {
        return Err(invalid(format!(
            "must not be in the future (now is {})",
            now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )));
    }
    Ok(Some(instant))
}

/// `?on=`: a day (`YYYY-MM-DD`, years 1900-2200) by whose end the balances are taken by effective date:
/// every movement dated on or before it, as recorded so far (or by `as_of`). `None` when absent.
pub fn parse_on(raw: Option<String>) -> Result<Option<chrono::NaiveDate>, Problem> {
    raw.map(|raw| {
        domain::Day::parse("on", &raw)
            .map(domain::Day::date)
            .map_err(|e| Problem::validation(vec![FieldError::new("on", e.message)]))
    })
    .transpose()
}

/// The instant as answers state it.
pub fn stated(as_of: DateTime<Utc>) -> Value {
    Value::String(as_of.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// The events of `history` (oldest first) recorded at or before `as_of`. Versions are the order, so the
/// prefix stops at the first later event.
pub fn recorded_by(history: &[EventEnvelope], as_of: DateTime<Utc>) -> &[EventEnvelope] {
    let end = history
        .iter()
        .position(|e| e.occurred_at > as_of)
        .unwrap_or(history.len());
    &history[..end]
}

/// The owner a debt's history names, from its creation.
fn owner_of(history: &[EventEnvelope]) -> Option<&str> {
    match history.first().map(|e| &e.payload) {
        Some(EventPayload::DebtCreated(created)) => Some(&created.owner),
        _ => None,
    }
}

/// `owner`'s debt `debt_id` as recorded by `as_of` (its events up to then), or `None` when it is someone
/// else's, did not exist yet, or had been deleted by then. One query of the debt's events.
pub async fn debt_history(
    events: &dyn EventLog,
    owner: &str,
    debt_id: &str,
    as_of: DateTime<Utc>,
) -> Result<Option<Vec<EventEnvelope>>, Problem> {
    Ok(counted_debt_history(events, owner, debt_id, as_of).await?.0)
}

/// [`debt_history`], with how many events were loaded to answer it (all of the debt's).
async fn counted_debt_history(
    events: &dyn EventLog,
    owner: &str,
    debt_id: &str,
    as_of: DateTime<Utc>,
) -> Result<(Option<Vec<EventEnvelope>>, usize), Problem> {
    let (recorded, loaded) = recorded_history(events, owner, debt_id, as_of).await?;
    let live = recorded.filter(|recorded| {
        !recorded
            .iter()
            .any(|e| matches!(e.payload, EventPayload::DebtDeleted(_)))
    });
    Ok((live, loaded))
}

/// `owner`'s debt `debt_id` as recorded by `as_of`, deleted or not, with how many events were loaded.
async fn recorded_history(
    events: &dyn EventLog,
    owner: &str,
    debt_id: &str,
    as_of: DateTime<Utc>,
) -> Result<(Option<Vec<EventEnvelope>>, usize), Problem> {
    let history = events.load_events(&AggregateRef::debt(debt_id), 0).await?;
    if owner_of(&history) != Some(owner) {
        return Ok((None, history.len()));
    }
    let recorded = recorded_by(&history, as_of);
    Ok((
        (!recorded.is_empty()).then(|| recorded.to_vec()),
        history.len(),
    ))
}

/// Which of a user's debts a ledger read loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The debts live at the instant: created by then and not deleted by then.
    Live,
    /// Every debt created by the instant, the deleted ones with their deletion (progress counts a deleted
    /// debt in the months before it went).
    Ever,
}

/// The most events one read of all a user's debts as of an instant loads (the list, the summary, the plan):
/// beyond it the read is refused with a 422 that says to read the debts one at a time. Without it such a
/// read could load 1,000 debts of 10,001 events each; 100,000 events are about 50 MB and, on DynamoDB, about
/// 100 pages of queries, within a Lambda's memory and time. A single debt's `as_of` loads at most its own
/// 10,001.
pub const AS_OF_EVENTS_PER_REQUEST: usize = 100_000;

/// Every debt `owner` had at `as_of` (created by then, not deleted by then), each as its events up to then.
/// One query of the ledger (at most two entries for each of the 10,000 debts a user may ever create), then
/// one of each such debt's events (at most the live-debt limit), 16 at once, until `deps.as_of_events` events
/// are loaded: then the loads under way are dropped and the read is refused.
pub async fn debt_histories(
    deps: &QueryDeps,
    owner: &str,
    as_of: DateTime<Utc>,
) -> Result<Vec<Vec<EventEnvelope>>, Problem> {
    ledger_histories(deps, &deps.events, owner, as_of, Which::Live).await
}

/// The ids of `owner`'s debts that `which` names at `as_of`, from one query of their ledger.
async fn ledger_ids(
    deps: &QueryDeps,
    owner: &str,
    as_of: DateTime<Utc>,
    which: Which,
) -> Result<BTreeSet<String>, Problem> {
    let pk = keys::user_info_key(owner).pk;
    let ledger = query_all(
        deps.records.as_ref(),
        Query::partition(pk, keys::LEDGER_SK_PREFIX).limit(1000),
    )
    .await?;
    let mut created = BTreeSet::new();
    let mut deleted = BTreeSet::new();
    for item in &ledger {
        let (debt_id, entry, at) = read_ledger_item(item)
            .ok_or_else(|| Problem::internal("an unreadable ledger entry"))?;
        if at <= as_of {
            match entry {
                LedgerEntry::Created => created.insert(debt_id),
                LedgerEntry::Deleted => deleted.insert(debt_id),
            };
        }
    }
    if which == Which::Live {
        created.retain(|id| !deleted.contains(id));
    }
    Ok(created)
}

/// [`debt_histories`], of the debts `which` names, read from `log` (the opening log, or the engine's own
/// when no personal field is wanted): with [`Which::Ever`], the deleted ones too, each as its whole history
/// recorded by `as_of`. Bounded the same way.
pub async fn ledger_histories(
    deps: &QueryDeps,
    log: &Arc<dyn EventLog>,
    owner: &str,
    as_of: DateTime<Utc>,
    which: Which,
) -> Result<Vec<Vec<EventEnvelope>>, Problem> {
    let mut pending = ledger_ids(deps, owner, as_of, which).await?.into_iter();
    let mut loads = JoinSet::new();
    let mut histories = BTreeMap::new();
    let mut loaded = 0usize;
    loop {
        while loads.len() < CONCURRENT_LOADS {
            let Some(debt_id) = pending.next() else { break };
            let (events, owner) = (Arc::clone(log), owner.to_owned());
            loads.spawn(async move {
                let history = match which {
                    Which::Live => {
                        counted_debt_history(events.as_ref(), &owner, &debt_id, as_of).await
                    }
                    Which::Ever => recorded_history(events.as_ref(), &owner, &debt_id, as_of).await,
                };
                (debt_id, history)
            });
        }
        let Some(done) = loads.join_next().await else {
            break;
        };
        let (debt_id, history) = done.map_err(|e| {
            tracing::error!(error = %e, "an as_of load failed");
            Problem::internal("the request could not be completed")
        })?;
        let (history, whole) = history?;
        loaded = loaded.saturating_add(whole);
        if loaded > deps.as_of_events {
            // Dropping the set aborts the loads under way.
            return Err(Problem::too_much_history(format!(
                "your debts as of that instant take more than {} events to rebuild; read them one at a \
                 time (GET /debts/{{debt_id}}?as_of=)",
                deps.as_of_events
            )));
        }
        if let Some(history) = history {
            histories.insert(debt_id, history);
        }
    }
    Ok(histories.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn instants_dates_and_their_limits() {
        let now = Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap();
        let parsed = |raw: &str| parse(Some(raw.to_owned()), now);
        assert_eq!(
            parsed("2026-03-10T11:00:00Z").unwrap(),
            Some(now - chrono::Duration::hours(1))
        );
        assert_eq!(
            parsed("2026-03-10T12:30:00+01:00").unwrap(),
            Some(now - chrono::Duration::minutes(30)),
            "an offset"
        );
        assert_eq!(
            parsed("2026-03-10T12:30:00 01:00").unwrap(),
            Some(now - chrono::Duration::minutes(30)),
            "an unencoded + read as a space"
        );
        assert_eq!(
            parsed("2026-03-09").unwrap().unwrap().to_rfc3339(),
            "2026-03-09T23:59:59.999999999+00:00",
            "a date is the end of its UTC day"
        );
        assert_eq!(parse(None, now).unwrap(), None);
        // RFC 3339 lets a space stand for the T (its section 5.6 note).
        assert!(parsed("2026-03-10 11:00:00Z").unwrap().is_some());
        for bad in [
            "2026-03-10",
            "2026-03-10T12:00:01Z",
            "2026-02-30",
            "yesterday",
            "",
            "1700000000",
        ] {
            assert_eq!(parsed(bad).unwrap_err().status, 422, "{bad:?}");
        }
    }
}
