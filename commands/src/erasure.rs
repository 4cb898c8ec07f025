//! `DELETE /users/{username}`: a user erases themselves. One transaction appends `UserErased` and removes the
//! data key (the sealing store adds that removal to every `UserErased`: every personal field sealed under it is
//! unreadable from then on), the credentials (no login, and
//! the authorizer refuses the user's tokens) and the email reservation (the address can register again; the
//! username stays taken, as its events remain). The projector then rewrites the user's read items.

use std::collections::BTreeSet;
use std::sync::Arc;

use auth::{Password, PasswordHasher, Verified};
use chrono::Utc;
use domain::{Decider, Email, User, UserCommand, UserState};
use events::{EventEnvelope, EventPayload, Personal, RedactedEvent};
use http_api::body::{json_object, text};
use http_api::context::{caller, path_param};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use store::ledger::{read_ledger_item, LedgerEntry};
use store::{
    keys, query_all, AggregateRef, AppendRequest, EventLog, Query, Records, StoreError, Stores,
};

use crate::envelope::{blocking, envelopes};
use crate::login_limits;
use crate::users::stored_password_hash;

/// What erasure needs, built once per container.
pub struct ErasureDeps {
    /// The event log that opens the user's email (to find its reservation).
    pub events: Arc<dyn EventLog>,
    /// The same log as the engine holds it (sealed fields), where events written in clear before sealing
    /// existed are told apart from sealed ones.
    pub engine_events: Arc<dyn EventLog>,
    /// The credentials and the debt ledger.
    pub records: Arc<dyn Records>,
    pub passwords: PasswordHasher,
}

impl ErasureDeps {
    /// Erasure over `stores`, whose event log opens personal fields; `engine_events` is the engine's own.
    pub fn new(
        stores: &Stores,
        engine_events: Arc<dyn EventLog>,
        passwords: PasswordHasher,
    ) -> Self {
        ErasureDeps {
            events: Arc::clone(&stores.events),
            engine_events,
            records: Arc::clone(&stores.records),
            passwords,
        }
    }
}

/// The events of the user and of `debt_ids` that hold personal fields in clear (written before sealing),
/// each with those fields' names: what the erasure redacts in place and lists in `LegacyEventRedacted`. A
/// user whose registration is sealed registered after sealing existed: none of their events can be legacy,
/// and their debts are not read.
async fn legacy_events(
    engine: &dyn EventLog,
    username: &str,
    debt_ids: &[String],
) -> Result<Vec<RedactedEvent>, Problem> {
    let mut legacy = Vec::new();
    let user = engine.load_events(&AggregateRef::user(username), 0).await?;
    let registered_sealed = user.first().is_some_and(|e| {
        matches!(&e.payload, EventPayload::UserCreated(created) if matches!(created.email, Personal::Sealed(_)))
    });
    if registered_sealed {
        return Ok(legacy);
    }
    collect_legacy(user, &mut legacy);
    for debt_id in debt_ids {
        collect_legacy(
            engine.load_events(&AggregateRef::debt(debt_id), 0).await?,
            &mut legacy,
        );
    }
    Ok(legacy)
}

/// Adds each of `history`'s events that holds personal fields in clear, with those fields' names.
fn collect_legacy(history: Vec<EventEnvelope>, legacy: &mut Vec<RedactedEvent>) {
    for mut event in history {
        let fields: Vec<String> = event
            .payload
            .personal_fields_mut()
            .into_iter()
            .filter(|(_, field)| matches!(field, Personal::Clear(_)))
            .map(|(name, _)| name.to_owned())
            .collect();
        if !fields.is_empty() {
            legacy.push(RedactedEvent {
                aggregate_type: event.aggregate_type,
                aggregate_id: event.aggregate_id,
                version: event.version,
                event_id: event.event_id,
                fields,
            });
        }
    }
}

/// Every debt `username` ever created, from their debt ledger.
async fn debt_ids(records: &dyn Records, username: &str) -> Result<Vec<String>, Problem> {
    let pk = keys::user_info_key(username).pk;
    let ledger = query_all(
        records,
        Query::partition(pk, keys::LEDGER_SK_PREFIX).limit(1000),
    )
    .await?;
    let mut ids = BTreeSet::new();
    for item in &ledger {
        let (debt_id, entry, _) = read_ledger_item(item)
            .ok_or_else(|| Problem::internal("an unreadable ledger entry"))?;
        if entry == LedgerEntry::Created {
            ids.insert(debt_id);
        }
    }
    Ok(ids.into_iter().collect())
}

/// Refuses the erasure (403) unless `password` is the user's. Its failures count with the login's, per
/// account and per source (`login_limits`): a stolen token cannot guess the password without bound.
async fn check_password(
    deps: &ErasureDeps,
    user: &domain::Username,
    password: Option<Password>,
    source: &str,
) -> Result<(), Problem> {
    let attempt =
        login_limits::begin(deps.records.as_ref(), source, Some(user), Utc::now()).await?;
    let stored_hash = stored_password_hash(deps.records.as_ref(), user).await?;
    let hasher = deps.passwords.clone();
    let verified = blocking(move || match (password, stored_hash) {
        (Some(password), Some(hash)) => hasher.verify(&password, &hash),
        _ => Verified::No,
    })
    .await?;
    if verified == Verified::No {
        tracing::info!(username = user.as_str(), "erasure refused: wrong password");
        return Err(Problem::forbidden("the password is wrong"));
    }
    login_limits::release(deps.records.as_ref(), attempt).await;
    Ok(())
}

/// `DELETE /users/{username}` with `{"password"}`: your own account only (anyone else's reads as not found);
/// a wrong password is 403 and changes nothing. Answers what was erased.
pub async fn erase_user(request: Request, deps: &ErasureDeps) -> Result<Response<Body>, Error> {
    serve("erase-user", request, |request, meta| async move {
        let me = caller(&request)?;
        let asked = path_param(&request, "username").map(|u| u.to_lowercase());
        if asked.as_deref() != Some(me.as_str()) {
            return Err(Problem::not_found("no such user"));
        }
        let mut fields = json_object(&request)?;
        let password = fields.required("password", |v| text(v).map(str::to_owned));
        let accepted = fields.finish()?;
        let password = Password::parse(&password.take(&accepted)).ok();
        let username = me.as_str();
        let history = deps
            .events
            .load_events(&AggregateRef::user(username), 0)
            .await?;
        let state = User::fold(history.iter().map(|e| &e.payload));
        let UserState::Registered(profile) = &state else {
            return Err(Problem::not_found("no such user"));
        };
        check_password(deps, &me, password, &login_limits::source_of(&request)).await?;
        let debt_ids = debt_ids(deps.records.as_ref(), username).await?;
        let legacy = legacy_events(deps.engine_events.as_ref(), username, &debt_ids).await?;
        let command = UserCommand::Erase { legacy };
        let payloads = User::decide(&command, &state)?;
        let now = Utc::now();
        let version = history.last().map_or(0, |e| e.version);
        let events = envelopes(username, version, payloads, username, &meta, now);
        // Not parsed: an address an earlier, looser parser accepted has its reservation all the same.
        let email = Email::normalize_stored(&profile.email);
        // The store that seals removes the data key with `UserErased` (`privacy::SealingStore`).
        let mut append = AppendRequest::new(version, events)
            .with_removal(keys::credentials_key(username))
            .with_removal(keys::email_guard_key(&email));
        if let Some(feed) = profile.calendar_feed {
            // The calendar feed stops answering in the same transaction.
            append = append.with_removal(keys::calendar_feed_key(&feed.to_string()));
        }
        match deps.events.append(append).await {
            Ok(()) => {}
            Err(StoreError::VersionConflict { .. }) => {
                return Err(Problem::conflict("the account changed meanwhile; retry"))
            }
            Err(e) => return Err(e.into()),
        }
        // The credentials and the email reservation are gone from the engine's files too; the projector does
        // the same once it has rewritten the read items. The erasure is committed whatever this answers: a
        // busy checkpoint is the projector's to repeat, not a 503 for a request that did what it was asked.
        if let Err(error) = deps.events.purge_residue().await {
            tracing::warn!(%error, "the erasure's purge of the engine's files waits for the projector's");
        }
        tracing::info!(username, debts = debt_ids.len(), "user erased");
        Ok(Reply::ok(json!({
            "username": username,
            "erased_at": now,
            "debts": debt_ids.len(),
        })))
    })
    .await
}
