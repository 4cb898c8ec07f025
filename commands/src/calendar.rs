//! `POST /users/{username}/calendar` and `DELETE /users/{username}/calendar`: the user's private calendar
//! feed. Issuing one appends `UserUpdated {calendar_feed: <id>}` and, in the same transaction, stores the
//! feed (`CALENDAR#<id>`: the owner and the SHA-256 of its secret) and removes the one it replaces;
//! revoking appends `calendar_feed: null` and removes it. The token is shown once, in the answer, and kept
//! nowhere. `GET /calendar/{token}.ics` (`queries::calendar_feed`) serves it.

use auth::feed_tokens::IssuedFeedToken;
use domain::{UserCommand, UserState};
use http::header::CACHE_CONTROL;
use http_api::context::header;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use store::{keys, AppendRequest, Item};

use crate::settings::{change_settings, own_user};
use crate::users::UserDeps;

/// The removal of the user's current feed, if they have one, in `append`.
fn without_current_feed(state: &UserState, append: AppendRequest) -> AppendRequest {
    match state {
        UserState::Registered(profile) => match profile.calendar_feed {
            Some(feed) => append.with_removal(keys::calendar_feed_key(&feed.to_string())),
            None => append,
        },
        _ => append,
    }
}

/// The feed's absolute URL as the caller reached the API: `https` behind API Gateway (or whatever
/// `X-Forwarded-Proto` says), `http` on a loopback address (the local server).
fn feed_url(request: &Request, path: &str) -> Option<String> {
    let host = header(request, "host")?;
    let loopback = ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|name| host == *name || host.starts_with(&format!("{name}:")));
    let scheme =
        header(request, "x-forwarded-proto").unwrap_or(if loopback { "http" } else { "https" });
    Some(format!("{scheme}://{host}{path}"))
}

/// `POST /users/{username}/calendar`: a new private calendar feed for yourself, replacing any you had (its
/// URL stops working). 201 with `{feed_id, path, url}`; the token in them is shown this once.
pub async fn issue_calendar_feed(
    request: Request,
    deps: &UserDeps,
) -> Result<Response<Body>, Error> {
    serve("issue-calendar-feed", request, |request, meta| async move {
        let me = own_user(&request)?;
        let issued = IssuedFeedToken::generate().map_err(|error| {
            tracing::error!(%error, "no random source for a feed token");
            Problem::internal("the feed could not be created")
        })?;
        let feed_id = issued.feed_id.hyphenated();
        let feed = Item {
            key: keys::calendar_feed_key(&feed_id),
            attributes: store::codec::to_attributes(
                &json!({"owner": me.as_str(), "secret_sha256": issued.secret_sha256}),
            ),
        };
        let command = UserCommand::IssueCalendarFeed {
            feed_id: feed_id
                .parse()
                .map_err(|_| Problem::internal("the feed could not be created"))?,
        };
        let bookkeeping = |state: &UserState, append: AppendRequest| {
            without_current_feed(state, append).with_guard("calendar feed", feed.clone())
        };
        change_settings(deps, &meta, &me, command, &bookkeeping).await?;
        tracing::info!(username = me.as_str(), feed_id, "calendar feed issued");
        let path = format!("/calendar/{}.ics", issued.token);
        let url = feed_url(&request, &path);
        Ok(
            Reply::created(json!({"feed_id": feed_id, "path": path, "url": url}))
                .with_header(CACHE_CONTROL, "no-store".to_owned()),
        )
    })
    .await
}

/// `DELETE /users/{username}/calendar`: your calendar feed stops working. 200 with your profile, whether or
/// not you had one.
pub async fn revoke_calendar_feed(
    request: Request,
    deps: &UserDeps,
) -> Result<Response<Body>, Error> {
    serve(
        "revoke-calendar-feed",
        request,
        |request, meta| async move {
            let me = own_user(&request)?;
            change_settings(
                deps,
                &meta,
                &me,
                UserCommand::RevokeCalendarFeed,
                &without_current_feed,
            )
            .await
        },
    )
    .await
}
