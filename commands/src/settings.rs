//! `PATCH /users/{username}`: a user's own settings (today, the time zone their due dates end in), as a
//! `UserUpdated` event on the user's log.

use chrono::Utc;
use domain::{Decider, TimeZoneName, User, UserCommand, UserView};
use http_api::body::{json_object, parsed_text};
use http_api::context::{caller, path_param};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use store::{AggregateRef, AppendRequest, StoreError};

use crate::envelope::envelopes;
use crate::users::UserDeps;

/// `PATCH /users/{username}` with `{"time_zone"}`: your own settings only (anyone else's reads as not
/// found); 200 with your profile. A setting equal to what it is appends nothing. A concurrent change is
/// retried once, then reported as a conflict.
pub async fn update_user(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("update-user", request, |request, meta| async move {
        let me = caller(&request)?;
        let asked = path_param(&request, "username").map(|u| u.to_lowercase());
        if asked.as_deref() != Some(me.as_str()) {
            return Err(Problem::not_found("no such user"));
        }
        let mut fields = json_object(&request)?;
        if fields.is_empty() {
            fields.reject("body", "must set at least one setting to change");
        }
        let time_zone = fields.optional("time_zone", parsed_text(TimeZoneName::parse));
        fields.finish()?;
        let command = UserCommand::Update { time_zone };
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
                    &meta,
                    Utc::now(),
                );
                match deps
                    .events
                    .append(AppendRequest::new(version, events.clone()))
                    .await
                {
                    Ok(()) => history.extend(events),
                    Err(StoreError::VersionConflict { .. }) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            let profile = UserView::from_history(&history)
                .ok_or_else(|| Problem::not_found("no such user"))?;
            tracing::info!(username = me.as_str(), "settings changed");
            return Ok(Reply::ok(profile));
        }
        Err(Problem::conflict("the account keeps changing; retry"))
    })
    .await
}
