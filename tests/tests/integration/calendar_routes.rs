//! The private calendar feed (issue 32) through the Lambda entrypoints on every engine: issued, served
//! without `Authorization` as iCalendar text, cached by `ETag`, replaced, revoked and erased; the token in no
//! event and only its hash stored.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use chrono::{Duration, Utc};
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{username, Api};
use integration_tests::{dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore};
use serde_json::{json, Value};

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

fn compact(day: &str) -> String {
    day.replace('-', "")
}

async fn issue(api: &Api, caller: &str, owner: &str) -> ApiResponse {
    api.call(
        ApiRequest::new(
            "POST /users/{username}/calendar",
            format!("/users/{owner}/calendar"),
        )
        .path_param("username", owner)
        .as_user(caller)
        .header("host", "127.0.0.1:3000"),
    )
    .await
}

async fn revoke(api: &Api, owner: &str) -> ApiResponse {
    api.call(
        ApiRequest::new(
            "DELETE /users/{username}/calendar",
            format!("/users/{owner}/calendar"),
        )
        .path_param("username", owner)
        .as_user(owner),
    )
    .await
}

/// `GET /calendar/{feed}` with no `Authorization`, as a calendar app asks.
async fn fetch(api: &Api, path: &str, if_none_match: Option<&str>) -> ApiResponse {
    let feed = path.strip_prefix("/calendar/").unwrap_or(path);
    let mut request =
        ApiRequest::new("GET /calendar/{feed}", path.to_owned()).path_param("feed", feed);
    if let Some(tag) = if_none_match {
        request = request.header("if-none-match", tag);
    }
    api.call(request).await
}

/// The body as text (a calendar is not JSON).
fn body_text(answer: &ApiResponse) -> String {
    answer.body.as_str().unwrap_or_default().to_owned()
}

/// The body's unfolded content lines.
fn content_lines(body: &str) -> Vec<String> {
    body.replace("\r\n ", "")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

async fn a_calendar_feed_lists_due_dates_and_promotion_ends_for_its_token_only(store: TestStore) {
    let api = Api::new(store);
    let alice = username();
    let mallory = username();
    api.register(&alice).await;
    let chosen = json!({"offsets_days": [7, 1], "email": false,
                        "kinds": ["payment_due_soon", "promo_ending_soon"]});
    let settings = api.set_notifications(&alice, &alice, chosen).await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let debt_id = api.new_debt_id(&alice).await;
    for (route, body) in [
        (
            "POST /debts/{debt_id}/statements",
            json!({"closing_date": day(-1), "statement_balance": "900",
            "minimum_due": "50", "due_date": day(10)}),
        ),
        (
            "POST /debts/{debt_id}/rates",
            json!({"rate": "0", "effective_on": day(-1), "ends_on": day(40),
            "kind": "promotional"}),
        ),
    ] {
        let answer = api.on_debt(route, &debt_id, &alice, body).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    api.project_user(&alice).await;

    let theirs = issue(&api, &mallory, &alice).await;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let issued = issue(&api, &alice, &alice).await;
    assert_eq!(issued.status, 201, "{}", issued.body);
    assert_eq!(issued.header("cache-control"), Some("no-store"));
    let path = issued.body["data"]["path"].as_str().unwrap().to_owned();
    assert_eq!(
        issued.body["data"]["url"],
        json!(format!("http://127.0.0.1:3000{path}"))
    );
    let token = path
        .strip_prefix("/calendar/")
        .and_then(|p| p.strip_suffix(".ics"))
        .unwrap()
        .to_owned();
    assert_eq!(token.len(), 64);

    let feed = fetch(&api, &path, None).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert_eq!(
        feed.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let body = body_text(&feed);
    assert!(body.ends_with("END:VCALENDAR\r\n"));
    assert!(
        body.split("\r\n").all(|line| line.len() <= 75),
        "lines fold at 75 octets"
    );
    let lines = content_lines(&body);
    let due = format!("UID:{debt_id}-due-{}@debts", compact(&day(10)));
    let at = lines
        .iter()
        .position(|l| *l == due)
        .expect("the statement's due date");
    let event: Vec<&str> = lines[at..]
        .iter()
        .take_while(|l| *l != "END:VEVENT")
        .map(String::as_str)
        .collect();
    assert!(event.contains(&format!("DTSTART;VALUE=DATE:{}", compact(&day(10))).as_str()));
    assert!(event.contains(&"SUMMARY:Car loan: 50.00 due"), "{event:?}");
    assert!(
        event.contains(&"TRIGGER:-PT159H") && event.contains(&"TRIGGER:-PT15H"),
        "{event:?}"
    );
    let dues = lines.iter().filter(|l| l.contains("-due-")).count();
    assert!((12..=13).contains(&dues), "a year of due dates: {dues}");
    let promo = format!("UID:{debt_id}-promo-{}@debts", compact(&day(40)));
    assert!(lines.contains(&promo), "{body}");
    assert!(
        lines.contains(&"TRIGGER:-PT1431H".to_owned()),
        "60 days before"
    );
    let tag = feed.header("etag").unwrap().to_owned();
    let again = fetch(&api, &path, Some(&tag)).await;
    assert_eq!(again.status, 304);
    assert_eq!(
        body_text(&fetch(&api, &path, None).await),
        body,
        "stable: same body"
    );

    // Not the token: 404 alike, whatever is wrong with it.
    let mut forged = token.clone().into_bytes();
    forged[50] = if forged[50] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for wrong in [
        format!("/calendar/{forged}.ics"),
        format!("/calendar/{token}"),
        format!("/calendar/{token}.ics.ics"),
        "/calendar/x.ics".to_owned(),
    ] {
        let refused = fetch(&api, &wrong, None).await;
        assert_eq!(refused.status, 404, "{wrong}: {}", refused.body);
        assert_eq!(
            refused.header("content-type"),
            Some("application/problem+json")
        );
    }

    // The token is in no event, and only its digest is stored.
    let history = api
        .store
        .history(&integration_tests::user_ref(&alice))
        .await;
    let logged = serde_json::to_string(&history).unwrap();
    assert!(!logged.contains(&token));
    let feed_id = issued.body["data"]["feed_id"].as_str().unwrap();
    assert!(logged.contains(feed_id), "the feed's id is");
    assert!(!api.store.snapshot().await.join("\n").contains(&token));

    // Replaced: the old URL stops working.
    let second = issue(&api, &alice, &alice).await;
    let second_path = second.body["data"]["path"].as_str().unwrap().to_owned();
    assert_eq!(fetch(&api, &path, None).await.status, 404);
    assert_eq!(fetch(&api, &second_path, None).await.status, 200);
    // Revoked.
    let revoked = revoke(&api, &alice).await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(fetch(&api, &second_path, None).await.status, 404);
    assert_eq!(revoke(&api, &alice).await.status, 200, "nothing to revoke");
    let last = history.len();
    assert_eq!(
        api.store
            .history(&integration_tests::user_ref(&alice))
            .await
            .len(),
        last + 2,
        "issued again and revoked once: the second revocation appends nothing"
    );

    // Erased: the feed goes with the account, in the erasure's own transaction.
    let third = issue(&api, &alice, &alice).await;
    let third_path = third.body["data"]["path"].as_str().unwrap().to_owned();
    let erased = api.erase(&alice).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    assert_eq!(fetch(&api, &third_path, None).await.status, 404);
    let feeds: Vec<Value> = api
        .store
        .snapshot()
        .await
        .iter()
        .filter(|item| item.contains("CALENDAR#"))
        .map(|item| json!(item))
        .collect();
    assert_eq!(feeds, Vec::<Value>::new(), "no feed left");
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_calendar_feed_lists_due_dates_and_promotion_ends_for_its_token_only,
);
