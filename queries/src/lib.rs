//! Read side, serving half: the query Lambda handlers (`healthz`, `get-user`, `get-summary`, `list-debts`,
//! `get-debt`, `get-debt-history`). Every answer comes from read items, except a debt's history, whose
//! projection is the event log itself, and reads `as_of` a past instant, which fold the events.

pub mod as_of;
pub mod calendar;
mod history;
mod ics;
pub mod listing;
pub mod planning;
pub mod plans;
pub mod progress;
mod summary;

use std::sync::Arc;

use chrono::Utc;
use domain::{DebtView, TimeZoneName, UserView, Username};
use http::StatusCode;
use http_api::context::{caller, debt_id, header, path_param, query_param};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use read_model::{Contribution, PortfolioSummary, ReadView};
use serde_json::json;
use store::{keys, EventLog, ItemKey, ReadModel, Records, Stores};

pub use calendar::calendar_feed;
pub use history::get_debt_history;
pub use listing::list_debts;
pub use planning::{get_debt_schedule, get_payoff_plan, SCHEDULE_ROWS_PER_PAGE};
pub use plans::get_plan;
pub use progress::get_progress;
pub use summary::portfolio_summary;

/// What the query handlers need, built once per container: the read items, the events (a debt's history and
/// reads `as_of` fold them), and the records (the debt ledger, the health probe).
pub struct QueryDeps {
    pub events: Arc<dyn EventLog>,
    /// The same log as the engine holds it (sealed fields, nothing opened): where a debt's owner is read
    /// before anything of it is decrypted, so another user's debt costs no KMS call and no timing tell.
    pub engine_events: Arc<dyn EventLog>,
    pub read_model: Arc<dyn ReadModel>,
    pub records: Arc<dyn Records>,
    /// The most events one read of all a user's debts `as_of` an instant may load (see
    /// [`as_of::AS_OF_EVENTS_PER_REQUEST`]).
    pub as_of_events: usize,
}

impl QueryDeps {
    /// Queries over `stores` (its event log opens personal fields) and `engine_events`, the engine's own.
    pub fn new(stores: &Stores, engine_events: Arc<dyn EventLog>) -> Self {
        QueryDeps {
            events: Arc::clone(&stores.events),
            engine_events,
            read_model: Arc::clone(&stores.read_model),
            records: Arc::clone(&stores.records),
            as_of_events: as_of::AS_OF_EVENTS_PER_REQUEST,
        }
    }

    /// These queries with another bound on the events a read of the past loads (a test's small one).
    #[must_use]
    pub fn with_as_of_events(mut self, most: usize) -> Self {
        self.as_of_events = most;
        self
    }
}

/// A live read item's view and version by key, decoded from the item's stored text; tombstones read as
/// absent.
async fn live_view<T: ReadView>(
    read_model: &dyn ReadModel,
    key: &ItemKey,
) -> Result<Option<(T, u64)>, Problem> {
    match read_model.read_item_json(key).await? {
        Some(text) => Ok(read_model::live_view(key, &text)?),
        None => Ok(None),
    }
}

/// The caller the authorizer named, while their account exists: an erased user's token is refused (401) at
/// once, not only when API Gateway's authorizer cache lets it go (its TTL). One strongly consistent read of
/// the credentials item, which the erasure removes in its own transaction.
async fn signed_in(deps: &QueryDeps, request: &Request) -> Result<Username, Problem> {
    let me = caller(request)?;
    match deps
        .records
        .get_item(&keys::credentials_key(me.as_str()))
        .await?
    {
        Some(_) => Ok(me),
        None => Err(Problem::unauthorized("this account was erased")),
    }
}

/// Whether `debt_id` was created by `owner`, read from its first event as stored (its owner is never sealed):
/// the check that comes before any of the debt's events is opened.
async fn owns(deps: &QueryDeps, owner: &str, debt_id: &str) -> Result<bool, Problem> {
    let first = deps
        .engine_events
        .first_event(&store::AggregateRef::debt(debt_id))
        .await?;
    Ok(matches!(
        first.map(|e| e.payload),
        Some(events::EventPayload::DebtCreated(created)) if created.owner == owner
    ))
}

/// `username`'s time zone (`UTC` until they set one, or when their profile is not projected yet), as the
/// notice sweep reads it (`read_model::notices::notice_settings`).
pub(crate) async fn owners_zone(deps: &QueryDeps, username: &str) -> Result<TimeZoneName, Problem> {
    let settings = read_model::notices::notice_settings(deps.read_model.as_ref(), username).await?;
    Ok(settings.map_or_else(TimeZoneName::utc, |settings| settings.zone))
}

/// The caller, when the path's `{username}` names them; anyone else's reads as not found, so a request
/// never tells whether another user exists.
async fn own_username(deps: &QueryDeps, request: &Request) -> Result<Username, Problem> {
    let me = signed_in(deps, request).await?;
    let asked = path_param(request, "username").map(|u| u.to_lowercase());
    if asked.as_deref() != Some(me.as_str()) {
        return Err(Problem::not_found("no such user"));
    }
    Ok(me)
}

/// `GET /healthz` (public): the build's version and whether the store answers.
pub async fn healthz(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("healthz", request, |_request, _meta| async move {
        let store_ok = match deps.records.get_item(&keys::health_probe_key()).await {
            Ok(_) => true,
            Err(error) => {
                tracing::error!(%error, "store health probe failed");
                false
            }
        };
        let reply = Reply::ok(json!({
            "status": if store_ok { "ok" } else { "degraded" },
            "version": env!("CARGO_PKG_VERSION"),
            "store": if store_ok { "ok" } else { "unavailable" },
        }));
        Ok(if store_ok {
            reply
        } else {
            reply.with_status(StatusCode::SERVICE_UNAVAILABLE)
        })
    })
    .await
}

/// `GET /users/{username}`: your own profile; anyone else's reads as not found.
pub async fn get_user(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-user", request, |request, _meta| async move {
        let me = own_username(deps, &request).await?;
        let (user, _version) =
            live_view::<UserView>(deps.read_model.as_ref(), &keys::user_info_key(me.as_str()))
                .await?
                .ok_or_else(|| Problem::not_found("no such user"))?;
        Ok(Reply::ok(user))
    })
    .await
}

/// `GET /users/{username}/summary`: your portfolio figures (analytics' per-debt contributions, summed), or
/// with `?as_of=T` the same figures folded from the events recorded by T, and with `?on=DATE` by effective
/// date (the debts started by DATE, their movements dated on or before it); anyone else's is 404, like their
/// profile.
pub async fn get_summary(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-summary", request, |request, _meta| async move {
        let me = own_username(deps, &request).await?;
        let now = Utc::now();
        let as_of = as_of::parse(query_param(&request, "as_of"), now)?;
        let on = as_of::parse_on(query_param(&request, "on"))?;
        let zone = owners_zone(deps, me.as_str()).await?;
        if as_of.is_none() && on.is_none() {
            let day = zone.date_at(now);
            let mut summary = portfolio_summary(deps.read_model.as_ref(), me.as_str(), day).await?;
            let debts = listing::all_debts(deps.read_model.as_ref(), me.as_str()).await?;
            summary.overdue_debts = overdue(&debts, day);
            return Ok(Reply::ok(summary));
        }
        let at = as_of.unwrap_or(now);
        let histories = as_of::debt_histories(deps, me.as_str(), at).await?;
        let (contributions, debts): (Vec<Contribution>, Vec<DebtView>) = histories
            .iter()
            .filter_map(|history| match on {
                Some(day) => Contribution::on_day(history, day),
                None => Contribution::of(history),
            })
            .unzip();
        let day = on.unwrap_or_else(|| zone.date_at(at));
        let mut summary = PortfolioSummary::from_contributions(me.as_str(), &contributions, day);
        summary.overdue_debts = overdue(&debts, day);
        Ok(Reply::ok(summary)
            .with_optional_member("as_of", as_of.map(as_of::stated))
            .with_optional_member("on", on.map(|day| json!(day))))
    })
    .await
}

/// How many of `debts` are overdue on `day`.
fn overdue(debts: &[DebtView], day: chrono::NaiveDate) -> u64 {
    debts
        .iter()
        .filter(|d| d.status_on(day) == domain::DebtStatus::Overdue)
        .count() as u64
}

/// `GET /debts/{debt_id}`: one of your debts, with its `ETag`; `If-None-Match` with the current tag is 304.
/// With `?as_of=T`, the debt as recorded by T, and with `?on=DATE` its balance by effective date, from its
/// events (no `ETag`: it is not the current state).
pub async fn get_debt(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-debt", request, |request, _meta| async move {
        let me = signed_in(deps, &request).await?;
        let debt_id = debt_id(&request)?;
        let now = Utc::now();
        let as_of = as_of::parse(query_param(&request, "as_of"), now)?;
        let on = as_of::parse_on(query_param(&request, "on"))?;
        if as_of.is_some() || on.is_some() {
            return past_debt(deps, &me, &debt_id, as_of, on, now).await;
        }
        let (debt, version) = live_view::<DebtView>(
            deps.read_model.as_ref(),
            &keys::debt_read_key(me.as_str(), &debt_id),
        )
        .await?
        .ok_or_else(|| Problem::not_found("no such debt"))?;
        let etag = http_api::reply::etag(version);
        let current = header(&request, "if-none-match")
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        if current {
            return Ok(Reply::not_modified(version));
        }
        let today = owners_zone(deps, me.as_str()).await?.date_at(now);
        Ok(Reply::ok(as_read_on(&debt, today)).with_version(version))
    })
    .await
}

/// `GET /debts/{debt_id}?as_of=T&on=DATE` (either or both): the debt as recorded by T (or now), by effective
/// date DATE (or as recorded), from its events; its rate in force on DATE, else on T's day.
async fn past_debt(
    deps: &QueryDeps,
    me: &Username,
    debt_id: &str,
    as_of: Option<chrono::DateTime<Utc>>,
    on: Option<chrono::NaiveDate>,
    now: chrono::DateTime<Utc>,
) -> Result<Reply, Problem> {
    let missing = || Problem::not_found("no such debt at that time");
    if !owns(deps, me.as_str(), debt_id).await? {
        return Err(missing());
    }
    let at = as_of.unwrap_or(now);
    let history = as_of::debt_history(deps.events.as_ref(), me.as_str(), debt_id, at)
        .await?
        .ok_or_else(missing)?;
    let debt = match on {
        Some(day) => DebtView::on_day(&history, day).ok_or_else(missing)?,
        None => DebtView::from_history(&history)
            .ok_or_else(|| Problem::internal("a debt history without its creation"))?,
    };
    let day = match on {
        Some(day) => day,
        None => owners_zone(deps, me.as_str()).await?.date_at(at),
    };
    Ok(Reply::ok(as_read_on(&debt, day))
        .with_optional_member("as_of", as_of.map(as_of::stated))
        .with_optional_member("on", on.map(|day| json!(day))))
}

/// A debt as `GET /debts/{id}` and the list answer it: with `current_rate`, the rate in force on `day` (the
/// owner's date) by its rate schedule, `promo_ends_on` while a promotion with an end runs, after a statement
/// the model's `estimated_interest_since_statement`, and its due dates: `next_due_on` and `minimum_due`, and
/// the status `overdue` when its last due date passed with less than its minimum paid in the cycle. Computed
/// when read, since "today" moves while the stored debt does not.
pub(crate) fn as_read_on(debt: &DebtView, day: chrono::NaiveDate) -> serde_json::Value {
    let mut answer = serde_json::to_value(debt).unwrap_or_default();
    let due = debt.due_state(day);
    if let Some(next) = &due.next {
        answer["next_due_on"] = json!(next.due_on);
        answer["minimum_due"] = json!(next.minimum_due);
    }
    answer["status"] = json!(debt.status_with(&due));
    if let Some(missed) = &due.missed {
        answer["missed_due_on"] = json!(missed.due_on);
    }
    answer["current_rate"] = json!(debt.fields.rate_on(day).normalize());
    if let Some(last_day) = debt.fields.promo_ends_on(day) {
        answer["promo_ends_on"] = json!(last_day);
    }
    if let Some(estimate) = debt.fields.estimated_interest_since_statement(day) {
        answer["estimated_interest_since_statement"] = json!(estimate);
    }
    answer
}
