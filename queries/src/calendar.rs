//! `GET /calendar/{token}.ics`: a user's private calendar feed, for a calendar app to subscribe to. No
//! `Authorization`: the token in the path is the credential (`auth::feed_tokens`), checked against the hash
//! stored with the feed; an unknown, revoked or erased feed is 404, alike. The body lists the next 12 months
//! of each open debt's due dates and promotion ends from the read items, with alarms at the owner's
//! reminder offsets (09:00 in their morning, as the notices), stable UIDs, each event's `DTSTAMP` the debt's
//! last change, so an unchanged feed is byte for byte the same and its `ETag` (a digest of the body) holds.

use auth::feed_tokens::PresentedFeedToken;
use chrono::{Months, NaiveDate, Utc};
use domain::{DebtView, RateKind};
use http::header::{CACHE_CONTROL, ETAG};
use http_api::context::{header, path_param};
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use read_model::notices::{notice_settings, NoticeSettings};
use serde_json::Value;
use sha2::{Digest, Sha256};
use store::keys;

use crate::ics::{self, Writer};
use crate::{listing, QueryDeps};

/// The most events one feed lists (the soonest first): a year of monthly due dates for 1,000 debts, and the
/// promotion ends among them, stays within it; the body stays within a few megabytes.
pub const MAX_FEED_EVENTS: usize = 13_000;

/// How often a calendar app is asked to fetch the feed again (RFC 7986 `REFRESH-INTERVAL`).
const REFRESH: &str = "PT6H";

/// One dated entry of the feed.
struct Entry<'a> {
    debt: &'a DebtView,
    on: NaiveDate,
    kind: EntryKind,
}

enum EntryKind {
    Due { minimum: Option<String> },
    PromoEnds { rate_after: String },
}

/// `GET /calendar/{feed}` where `{feed}` is `<token>.ics`.
pub async fn calendar_feed(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("get-calendar-feed", request, |request, _meta| async move {
        let not_found = || Problem::not_found("no such calendar feed");
        let token = path_param(&request, "feed")
            .as_deref()
            .and_then(|feed| feed.strip_suffix(".ics"))
            .and_then(PresentedFeedToken::parse)
            .ok_or_else(not_found)?;
        let feed_key = keys::calendar_feed_key(&token.feed_id.hyphenated());
        let feed = deps
            .records
            .get_item(&feed_key)
            .await?
            .ok_or_else(not_found)?;
        let text = |name: &str| feed.attributes.get(name).and_then(Value::as_str);
        let (Some(owner), Some(digest)) = (text("owner"), text("secret_sha256")) else {
            return Err(not_found());
        };
        if !token.matches(digest) {
            return Err(not_found());
        }
        // An erased owner's feed is removed by the erasure; their profile's tombstone says so too.
        let settings = notice_settings(deps.read_model.as_ref(), owner)
            .await?
            .ok_or_else(not_found)?;
        let debts = listing::all_debts(deps.read_model.as_ref(), owner).await?;
        let today = settings.zone.date_at(Utc::now());
        let body = feed_body(owner, &debts, &settings, today);
        let tag = format!("\"{}\"", hex_prefix(&Sha256::digest(body.as_bytes())));
        let current = header(&request, "if-none-match")
            .is_some_and(|tags| tags.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
        if current {
            return Ok(Reply::not_modified_tag(tag));
        }
        Ok(Reply::text("text/calendar; charset=utf-8", body)
            .with_header(ETAG, tag)
            .with_header(CACHE_CONTROL, "private, max-age=900".to_owned()))
    })
    .await
}

fn hex_prefix(digest: &[u8]) -> String {
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// The feed's iCalendar text for `owner`'s debts from `today` (their local date) for 12 months.
pub fn feed_body(
    owner: &str,
    debts: &[DebtView],
    settings: &NoticeSettings,
    today: NaiveDate,
) -> String {
    let until = today.checked_add_months(Months::new(12)).unwrap_or(today);
    let mut entries: Vec<Entry> = Vec::new();
    for debt in debts.iter().filter(|d| !d.deleted) {
        let record = &debt.fields;
        entries.extend(
            record
                .due_dates(today, until)
                .into_iter()
                .map(|cycle| Entry {
                    debt,
                    on: cycle.due_on,
                    kind: EntryKind::Due {
                        minimum: cycle.minimum_due.map(|m| m.to_string()),
                    },
                }),
        );
        if record.current_balance > rust_decimal::Decimal::ZERO {
            let promo_ends = record
                .rate_schedule
                .iter()
                .filter(|step| step.kind == RateKind::Promotional)
                .filter_map(|step| step.ends_on)
                .filter(|ends| (today..=until).contains(ends));
            entries.extend(promo_ends.map(|ends_on| {
                Entry {
                    debt,
                    on: ends_on,
                    kind: EntryKind::PromoEnds {
                        rate_after: ends_on
                            .succ_opt()
                            .map_or(record.interest_rate, |after| record.rate_on(after))
                            .to_string(),
                    },
                }
            }));
        }
    }
    entries.sort_by(|a, b| (a.on, &a.debt.debt_id).cmp(&(b.on, &b.debt.debt_id)));
    entries.truncate(MAX_FEED_EVENTS);
    let mut out = Writer::default();
    out.line("BEGIN", "VCALENDAR");
    out.line("VERSION", "2.0");
    out.line("PRODID", "-//debts//calendar feed//EN");
    out.line("CALSCALE", "GREGORIAN");
    out.line("METHOD", "PUBLISH");
    out.line("NAME", &ics::text(&format!("Debts of {owner}")));
    out.line("X-WR-CALNAME", &ics::text(&format!("Debts of {owner}")));
    out.line("REFRESH-INTERVAL;VALUE=DURATION", REFRESH);
    out.line("X-PUBLISHED-TTL", REFRESH);
    for entry in &entries {
        write_event(&mut out, entry, settings);
    }
    out.line("END", "VCALENDAR");
    out.finish()
}

/// An alarm's trigger `days` before an all-day event, at 09:00 that morning (as the notices fall due):
/// `-PT63H` for 3 days, `PT9H` on the day itself.
fn morning_trigger(days: u16) -> String {
    let hours = i64::from(days) * 24 - i64::from(domain::debt::NOTICE_LOCAL_HOUR);
    if hours > 0 {
        format!("-PT{hours}H")
    } else {
        format!("PT{}H", -hours)
    }
}

fn write_event(out: &mut Writer, entry: &Entry, settings: &NoticeSettings) {
    let debt = entry.debt;
    let name = &debt.fields.debt_name;
    let kinds = &settings.notifications.kinds;
    let (uid_kind, summary, description, alarms): (&str, String, String, Vec<u16>) =
        match &entry.kind {
            EntryKind::Due { minimum } => (
                "due",
                match minimum {
                    Some(minimum) => format!("{name}: {minimum} due"),
                    None => format!("{name}: payment due"),
                },
                format!("A payment on {name} is due by the end of {}.", entry.on),
                if kinds.contains(&events::NoticeKind::PaymentDueSoon) {
                    settings.notifications.offsets_days.clone()
                } else {
                    Vec::new()
                },
            ),
            EntryKind::PromoEnds { rate_after } => (
                "promo",
                format!("{name}: promotional rate ends"),
                format!(
                    "The promotional rate on {name} ends on {}; then {rate_after} %.",
                    entry.on
                ),
                if kinds.contains(&events::NoticeKind::PromoEndingSoon) {
                    domain::debt::PROMO_OFFSETS_DAYS.to_vec()
                } else {
                    Vec::new()
                },
            ),
        };
    out.line("BEGIN", "VEVENT");
    out.line(
        "UID",
        &format!("{}-{uid_kind}-{}@debts", debt.debt_id, ics::date(entry.on)),
    );
    out.line("DTSTAMP", &ics::utc(debt.updated_at));
    out.line("DTSTART;VALUE=DATE", &ics::date(entry.on));
    let next_day = entry.on.succ_opt().unwrap_or(entry.on);
    out.line("DTEND;VALUE=DATE", &ics::date(next_day));
    out.line("SUMMARY", &ics::text(&summary));
    out.line("DESCRIPTION", &ics::text(&description));
    out.line("TRANSP", "TRANSPARENT");
    for days in alarms {
        out.line("BEGIN", "VALARM");
        out.line("ACTION", "DISPLAY");
        out.line("TRIGGER", &morning_trigger(days));
        out.line("DESCRIPTION", &ics::text(&summary));
        out.line("END", "VALARM");
    }
    out.line("END", "VEVENT");
}
