//! `GET` and `POST /unsubscribe/{token}`: the link at the foot of every notice email, per kind of notice.
//! No `Authorization` (a mail client's one-click unsubscribe, RFC 8058, posts to it on its own): the token
//! is the credential, as a calendar feed's (`auth::feed_tokens`), stored as a hash in `UNSUBSCRIBE#<id>` with
//! the user and the kind when the email was composed. `GET` only shows a page with the button (link
//! scanners and prefetchers must change nothing); `POST` appends `UserUpdated` with the kind taken out of the
//! user's notification settings. An unknown, forged or expired link, or an erased user's, is 404.

use auth::feed_tokens::PresentedFeedToken;
use chrono::Utc;
use domain::{Decider, User, UserCommand, UserState, Username};
use events::NoticeKind;
use http::Method;
use http_api::context::path_param;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::Value;
use store::{keys, AggregateRef, Records};

use crate::settings::change_settings;
use crate::users::UserDeps;

/// Whose emails of which kind the link in `request`'s path stops.
async fn link_of(
    records: &dyn Records,
    request: &Request,
) -> Result<(Username, NoticeKind), Problem> {
    let not_found = || Problem::not_found("no such unsubscribe link");
    let token = path_param(request, "token")
        .as_deref()
        .and_then(PresentedFeedToken::parse)
        .ok_or_else(not_found)?;
    let item = records
        .get_item(&keys::unsubscribe_key(&token.feed_id.hyphenated()))
        .await?
        .ok_or_else(not_found)?;
    let text = |name: &str| item.attributes.get(name).and_then(Value::as_str);
    let expires = item
        .attributes
        .get(keys::TTL_ATTRIBUTE)
        .and_then(Value::as_i64);
    // DynamoDB removes an expired item within days, not at once: expiry is checked here.
    let live = expires.is_some_and(|at| at > Utc::now().timestamp());
    match (text("owner"), text("kind"), text("secret_sha256")) {
        (Some(owner), Some(kind), Some(digest)) if live && token.matches(digest) => Ok((
            Username::parse(owner).map_err(|_| not_found())?,
            NoticeKind::parse(kind).map_err(|_| not_found())?,
        )),
        _ => Err(not_found()),
    }
}

/// A kind of notice as the page names it.
fn described(kind: NoticeKind) -> &'static str {
    match kind {
        NoticeKind::PaymentDueSoon => "reminders of payments due soon",
        NoticeKind::PaymentMissed => "notices of missed payments",
        NoticeKind::PromoEndingSoon => "notices of promotional rates ending",
    }
}

fn page(title: &str, body: &str) -> Reply {
    Reply::text(
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
             content=\"width=device-width\"><title>{title}</title></head><body><main><h1>{title}</h1>{body}\
             </main></body></html>\n"
        ),
    )
}

/// `GET /unsubscribe/{token}` shows the button; `POST` stops the emails (200 either way with a page).
pub async fn unsubscribe(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("unsubscribe", request, |request, meta| async move {
        let (user, kind) = link_of(deps.records.as_ref(), &request).await?;
        let what = described(kind);
        if request.method() != Method::POST {
            return Ok(page(
                "Unsubscribe",
                &format!(
                    "<p>Stop emailing {what} to {}?</p><form method=\"post\"><button type=\"submit\">\
                     Stop these emails</button></form>",
                    user.as_str()
                ),
            ));
        }
        let history = deps.events.load_events(&AggregateRef::user(user.as_str()), 0).await?;
        let UserState::Registered(profile) = User::fold(history.iter().map(|e| &e.payload)) else {
            return Err(Problem::not_found("no such unsubscribe link"));
        };
        let mut settings = profile.notifications;
        settings.kinds.retain(|k| *k != kind);
        let command = UserCommand::Update {
            time_zone: None,
            notifications: Some(settings),
        };
        change_settings(deps, &meta, &user, command, &|_, append| append).await?;
        tracing::info!(username = user.as_str(), kind = kind.as_str(), "unsubscribed");
        Ok(page(
            "Unsubscribed",
            &format!("<p>No more {what} will be emailed to {}.</p>", user.as_str()),
        ))
    })
    .await
}
