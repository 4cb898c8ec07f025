//! `GET /debts`: the caller's debts, newest first (`?sort=newest`, the default) or by name (`?sort=name`),
//! `?status=open|paid_off` to keep one kind, `?as_of=T` for the debts as recorded by T and `?on=DATE` for
//! their balances by effective date (both folded from the events, see `as_of`), `?limit=` 1-100 (default 50), and an opaque `next_cursor` bound to the caller and
//! the sort order.
//!
//! A person's debts are few (hundreds at most), so the handler reads the caller's whole partition (strongly
//! consistent, a page of up to 1,000 items per request) and orders it in memory; that gives both orders
//! without a second index, and a cursor that stays valid when debts are added or deleted between pages.

use std::cmp::Ordering;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use domain::{DebtStatus, DebtView};
use http_api::context::query_param;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use read_model::debt_view;
use serde::{Deserialize, Serialize};
use store::{keys, query_all_read_items, Query, ReadModel};

use crate::{as_of, QueryDeps};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Sort {
    Newest,
    Name,
}

/// Where the previous page ended: the last debt's sort position, for one user and one order.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    user: String,
    sort: Sort,
    /// The last debt's sort value (its creation time or its lower-cased name).
    after: String,
    after_id: String,
}

fn sort_value(debt: &DebtView, sort: Sort) -> String {
    match sort {
        Sort::Newest => debt
            .created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        Sort::Name => debt.fields.debt_name.to_lowercase(),
    }
}

/// Total order of a listing: newest first (ties by id, descending), or by name (ties by id).
fn compare(sort: Sort, a: (&str, &str), b: (&str, &str)) -> Ordering {
    match sort {
        Sort::Newest => b.cmp(&a),
        Sort::Name => a.cmp(&b),
    }
}

fn bad(detail: &str) -> Problem {
    Problem::malformed(detail.to_owned())
}

/// `?limit=`: 1-100 in plain digits, `default` when absent.
pub(crate) fn parse_limit(raw: Option<String>, default: usize) -> Result<usize, Problem> {
    match raw {
        None => Ok(default),
        Some(raw) => Some(raw)
            .filter(|r| r.len() <= 3 && r.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|r| r.parse::<usize>().ok())
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| bad("limit must be a whole number from 1 to 100")),
    }
}

fn decode_cursor(raw: &str, user: &str, sort: Sort) -> Result<Cursor, Problem> {
    let invalid = || bad("the cursor is not valid for this listing");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.user != user || cursor.sort != sort {
        return Err(invalid());
    }
    Ok(cursor)
}

fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).expect("cursors serialise"))
}

/// Every live debt read item in the user's partition.
pub async fn all_debts(
    read_model: &dyn ReadModel,
    username: &str,
) -> Result<Vec<DebtView>, Problem> {
    let pk = keys::user_info_key(username).pk;
    let items = query_all_read_items(
        read_model,
        Query::partition(&pk, keys::DEBT_SK_PREFIX).limit(1000),
    )
    .await?;
    items
        .iter()
        .map(|item| debt_view(item).map_err(Problem::from))
        .collect()
}

/// The user's debts now (their read items) or as recorded by an instant (folded from the events).
pub(crate) async fn debts_at(
    deps: &QueryDeps,
    username: &str,
    as_of: Option<DateTime<Utc>>,
) -> Result<Vec<DebtView>, Problem> {
    debts_on(deps, username, as_of, None).await
}

/// [`debts_at`], with balances by effective date `on` when given (folded from the events, as recorded by
/// `as_of` or now): a debt that had not started by then is left out.
pub(crate) async fn debts_on(
    deps: &QueryDeps,
    username: &str,
    as_of: Option<DateTime<Utc>>,
    on: Option<chrono::NaiveDate>,
) -> Result<Vec<DebtView>, Problem> {
    match (as_of, on) {
        (None, None) => all_debts(deps.read_model.as_ref(), username).await,
        (as_of, on) => {
            let at = as_of.unwrap_or_else(Utc::now);
            Ok(as_of::debt_histories(deps, username, at)
                .await?
                .iter()
                .filter_map(|history| match on {
                    Some(day) => DebtView::on_day(history, day),
                    None => DebtView::from_history(history),
                })
                .collect())
        }
    }
}

/// `?sort=`: `newest` (the default) or `name`.
fn parse_sort(raw: Option<String>) -> Result<Sort, Problem> {
    match raw.as_deref() {
        None | Some("newest") => Ok(Sort::Newest),
        Some("name") => Ok(Sort::Name),
        Some(_) => Err(bad("sort must be newest or name")),
    }
}

/// `?status=`: the status a listed debt shows, when given.
fn parse_status(raw: Option<String>) -> Result<Option<DebtStatus>, Problem> {
    raw.map(|raw| {
        DebtStatus::parse(&raw).ok_or_else(|| bad("status must be open, overdue or paid_off"))
    })
    .transpose()
}

pub async fn list_debts(request: Request, deps: &QueryDeps) -> Result<Response<Body>, Error> {
    serve("list-debts", request, |request, _meta| async move {
        let me = crate::signed_in(deps, &request).await?;
        let limit = parse_limit(query_param(&request, "limit"), 50)?;
        let sort = parse_sort(query_param(&request, "sort"))?;
        let status = parse_status(query_param(&request, "status"))?;
        let after = query_param(&request, "cursor")
            .map(|raw| decode_cursor(&raw, me.as_str(), sort))
            .transpose()?;
        let as_of = as_of::parse(query_param(&request, "as_of"), Utc::now())?;
        let on = as_of::parse_on(query_param(&request, "on"))?;

        let day = match on {
            Some(day) => day,
            None => crate::owners_zone(deps, me.as_str())
                .await?
                .date_at(as_of.unwrap_or_else(Utc::now)),
        };
        let mut debts: Vec<(String, DebtView)> = debts_on(deps, me.as_str(), as_of, on)
            .await?
            .into_iter()
            .filter(|debt| status.is_none_or(|s| debt.status_on(day) == s))
            .map(|debt| (sort_value(&debt, sort), debt))
            .collect();
        debts.sort_by(|(a, da), (b, db)| compare(sort, (a, &da.debt_id), (b, &db.debt_id)));
        let start = match &after {
            None => 0,
            Some(cursor) => debts.partition_point(|(value, debt)| {
                compare(
                    sort,
                    (value, &debt.debt_id),
                    (&cursor.after, &cursor.after_id),
                ) != Ordering::Greater
            }),
        };
        let page: Vec<&(String, DebtView)> = debts[start..].iter().take(limit).collect();
        let next_cursor = match page.last() {
            Some((value, debt)) if start + page.len() < debts.len() => {
                Some(encode_cursor(&Cursor {
                    user: me.as_str().to_owned(),
                    sort,
                    after: value.clone(),
                    after_id: debt.debt_id.clone(),
                }))
            }
            _ => None,
        };
        let items: Vec<serde_json::Value> = page
            .iter()
            .map(|(_, debt)| crate::as_read_on(debt, day))
            .collect();
        Ok(Reply::page(&items, next_cursor)
            .with_optional_member("as_of", as_of.map(as_of::stated))
            .with_optional_member("on", on.map(|day| serde_json::json!(day))))
    })
    .await
}
