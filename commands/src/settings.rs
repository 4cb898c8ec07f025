//! `PATCH /users/{username}` and `PUT /users/{username}/notifications`: a user's own settings (the time zone
//! their due dates end in, how they hear of notices), as a `UserUpdated` event on the user's log.

use chrono::Utc;
use domain::{
    Decider, ReminderOffsets, TimeZoneName, User, UserCommand, UserState, UserView, Username,
};
use events::{NoticeKind, NotificationSettings};
use http_api::body::{json_object, parsed_text, whole_number, Fields};
use http_api::context::{caller, path_param};
use http_api::{serve, Problem, Reply, RequestMeta};
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use store::{AggregateRef, AppendRequest, StoreError};

use crate::envelope::envelopes;
use crate::users::UserDeps;

/// The caller, when the path's `{username}` names them; anyone else's settings read as not found.
pub(crate) fn own_user(request: &Request) -> Result<Username, Problem> {
    let me = caller(request)?;
    let asked = path_param(request, "username").map(|u| u.to_lowercase());
    if asked.as_deref() != Some(me.as_str()) {
        return Err(Problem::not_found("no such user"));
    }
    Ok(me)
}

/// What an append of a user's settings carries besides the events, from the state they were decided on.
pub(crate) type Bookkeeping<'a> = &'a (dyn Fn(&UserState, AppendRequest) -> AppendRequest + Sync);

/// Decides `command` on `me`'s log and appends what it yields, with `bookkeeping`'s items in the same
/// transaction, answering the profile after it. A concurrent change is retried once, then reported as a
/// conflict.
pub(crate) async fn change_settings(
    deps: &UserDeps,
    meta: &RequestMeta,
    me: &Username,
    command: UserCommand,
    bookkeeping: Bookkeeping<'_>,
) -> Result<Reply, Problem> {
    let history = decide_on_user(deps, meta, me, command, bookkeeping).await?;
    let profile =
        UserView::from_history(&history).ok_or_else(|| Problem::not_found("no such user"))?;
    Ok(Reply::ok(profile))
}

/// Decides `command` on `me`'s log and appends what it yields, with `bookkeeping`'s items in the same
/// transaction; the log after it. A concurrent change is retried once, then reported as a conflict.
pub(crate) async fn decide_on_user(
    deps: &UserDeps,
    meta: &RequestMeta,
    me: &Username,
    command: UserCommand,
    bookkeeping: Bookkeeping<'_>,
) -> Result<Vec<events::EventEnvelope>, Problem> {
    let aggregate = AggregateRef::user(me.as_str());
    for _attempt in 1..=2 {
        let mut history = deps.events.load_events(&aggregate, 0).await?;
        let state = User::fold(history.iter().map(|e| &e.payload));
        let payloads = User::decide(&command, &state)?;
        let version = history.last().map_or(0, |e| e.version);
        if !payloads.is_empty() {
            let events = envelopes(
                me.as_str(),
                version,
                payloads,
                me.as_str(),
                meta,
                Utc::now(),
            );
            let append = bookkeeping(&state, AppendRequest::new(version, events.clone()));
            match deps.events.append(append).await {
                Ok(()) => history.extend(events),
                Err(StoreError::VersionConflict { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
            tracing::info!(username = me.as_str(), "user's log appended");
        }
        return Ok(history);
    }
    Err(Problem::conflict("the account keeps changing; retry"))
}

/// `PATCH /users/{username}` with `{"time_zone"}`: your own settings only; 200 with your profile. A setting
/// equal to what it is appends nothing.
pub async fn update_user(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("update-user", request, |request, meta| async move {
        let me = own_user(&request)?;
        let mut fields = json_object(&request)?;
        if fields.is_empty() {
            fields.reject("body", "must set at least one setting to change");
        }
        let time_zone = fields.optional("time_zone", parsed_text(TimeZoneName::parse));
        fields.finish()?;
        let command = UserCommand::Update {
            time_zone,
            notifications: None,
        };
        change_settings(deps, &meta, &me, command, &|_, append| append).await
    })
    .await
}

/// `offsets_days`: a JSON array of whole numbers of days (JSON Schema's integers: `3.0` is 3).
fn offsets(value: &Value) -> Result<ReminderOffsets, String> {
    let refused = || "must list 1 to 5 different numbers of days, each from 0 to 60".to_owned();
    let days: Vec<u64> = value
        .as_array()
        .ok_or_else(refused)?
        .iter()
        .map(|d| whole_number(d).ok_or_else(refused))
        .collect::<Result<_, _>>()?;
    ReminderOffsets::parse(&days).map_err(|_| refused())
}

/// `kinds`: a JSON array of distinct notice kinds, kept in their declaration order.
fn kinds(value: &Value) -> Result<Vec<NoticeKind>, String> {
    let refused = || {
        format!(
            "must list distinct kinds of {}",
            NoticeKind::ALL
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut kinds: Vec<NoticeKind> = value
        .as_array()
        .ok_or_else(refused)?
        .iter()
        .map(|k| {
            k.as_str()
                .and_then(|k| NoticeKind::parse(k).ok())
                .ok_or_else(refused)
        })
        .collect::<Result<_, _>>()?;
    let given = kinds.len();
    kinds.sort_unstable();
    kinds.dedup();
    if kinds.len() != given {
        return Err(refused());
    }
    Ok(kinds)
}

/// The body of `PUT /users/{u}/notifications`: every field, since it replaces the settings whole.
fn parse_notifications(mut fields: Fields) -> Result<NotificationSettings, Problem> {
    let offsets_days = fields.required("offsets_days", offsets);
    let email = fields.required("email", |v: &Value| {
        v.as_bool()
            .ok_or_else(|| "must be true or false".to_owned())
    });
    let kinds = fields.required("kinds", kinds);
    let accepted = fields.finish()?;
    Ok(NotificationSettings {
        offsets_days: offsets_days.take(&accepted).days().to_vec(),
        email: email.take(&accepted),
        kinds: kinds.take(&accepted),
    })
}

/// `PUT /users/{username}/notifications` with `{"offsets_days", "email", "kinds"}`: how you hear of notices
/// (reminders that many days before a due date, by email too or not, of which kinds); your own only; 200
/// with your profile.
pub async fn set_notifications(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("set-notifications", request, |request, meta| async move {
        let me = own_user(&request)?;
        let settings = parse_notifications(json_object(&request)?)?;
        let command = UserCommand::Update {
            time_zone: None,
            notifications: Some(settings),
        };
        change_settings(deps, &meta, &me, command, &|_, append| append).await
    })
    .await
}
