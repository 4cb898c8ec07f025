//! Notices by email (issue 32): the notice emailer on every engine with the local outbox, and on moto's SES.
//! One message per notice for a user who opted in (plain text and HTML, the debt's name, amount and date,
//! an unsubscribe link whose `POST` stops that kind), none for a user who did not, none twice, none after
//! an erasure.

// A scenario reads top to bottom as one story, so test functions may run past the 60-line limit.
#![allow(clippy::too_many_lines)]

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{Duration, NaiveTime, Utc};
use events::EventEnvelope;
use integration_tests::api::{ApiRequest, ApiResponse};
use integration_tests::handlers::{username, Api};
use integration_tests::lambdas::{email_notice, sweep_notices};
use integration_tests::{
    debt_ref, dynamodb_test_store, on_every_engine, sqlite_test_store, TestStore,
};
use notices::email::{Delivery, EmailDeps, Mailer, OutboxMailer, UnsubscribeLinks};
use serde_json::json;

const DEBT_NAME: &str = "Carte crédit <Sud-Ouest> & co";

fn day(days: i64) -> String {
    (Utc::now().date_naive() + Duration::days(days)).to_string()
}

/// A user who wants every notice by email, with a card due in ten days, swept on the reminder's morning:
/// answers the user and the `PaymentDueSoon` the sweep appended.
async fn reminded(api: &Api) -> (String, EventEnvelope) {
    let alice = username();
    api.register(&alice).await;
    let every_kind = json!({"offsets_days": [3], "email": true,
                            "kinds": ["payment_due_soon", "payment_missed", "promo_ending_soon"]});
    let settings = api.set_notifications(&alice, &alice, every_kind).await;
    assert_eq!(settings.status, 200, "{}", settings.body);
    let mut card = integration_tests::handlers::car_loan();
    card["debt_name"] = json!(DEBT_NAME);
    let created = api.post_debt(&alice, card).await;
    let debt_id = created.body["data"]["debt_id"].as_str().unwrap().to_owned();
    let statement = api
        .on_debt(
            "POST /debts/{debt_id}/statements",
            &debt_id,
            &alice,
            json!({"closing_date": day(-1), "statement_balance": "900", "minimum_due": "50", "due_date": day(10)}),
        )
        .await;
    assert_eq!(statement.status, 201, "{}", statement.body);
    api.project_user(&alice).await;
    let morning = (Utc::now().date_naive() + Duration::days(7))
        .and_time(NaiveTime::from_hms_opt(9, 10, 0).unwrap())
        .and_utc();
    let swept = sweep_notices(&api.store, morning).await.unwrap();
    assert_eq!(swept.notices, 1, "{swept:?}");
    let notice = api.store.history(&debt_ref(&debt_id)).await.pop().unwrap();
    assert_eq!(notice.payload.event_type(), "PaymentDueSoon");
    (alice, notice)
}

fn deps(api: &Api, mailer: Arc<dyn Mailer>) -> EmailDeps {
    let stores = &api.store.stores;
    EmailDeps {
        user_events: Arc::clone(&stores.events),
        read_model: Arc::clone(&stores.read_model),
        records: Arc::clone(&stores.records),
        mailer,
        from: "notices@example.com".to_owned(),
        links: Arc::new(UnsubscribeLinks {
            records: Arc::clone(&stores.records),
            base_url: Some("https://api.example.com".to_owned()),
        }),
    }
}

/// A header's value, its RFC 2047 encoded words decoded.
fn header(message: &str, name: &str) -> String {
    let head = message
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("\r\n ", "");
    let line = head
        .split("\r\n")
        .find(|l| {
            l.to_lowercase()
                .starts_with(&format!("{}:", name.to_lowercase()))
        })
        .unwrap_or_else(|| panic!("no {name} in {head}"));
    let value = line.split_once(": ").unwrap().1;
    value
        .split("=?UTF-8?B?")
        .map(|word| match word.split_once("?=") {
            Some((encoded, rest)) => {
                String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap() + rest
            }
            None => word.to_owned(),
        })
        .collect()
}

/// The decoded body of the part of media type `media`.
fn part(message: &str, media: &str) -> String {
    let start = message.find(&format!("Content-Type: {media}")).unwrap();
    let body = message[start..].split("\r\n\r\n").nth(1).unwrap();
    let encoded: String = body.split("\r\n--").next().unwrap().replace("\r\n", "");
    String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap()
}

async fn unsubscribe(api: &Api, method: &'static str, link: &str) -> ApiResponse {
    let token = link.rsplit('/').next().unwrap();
    api.call(
        ApiRequest::new(
            if method == "GET" {
                "GET /unsubscribe/{token}"
            } else {
                "POST /unsubscribe/{token}"
            },
            format!("/unsubscribe/{token}"),
        )
        .path_param("token", token),
    )
    .await
}

async fn a_notice_is_emailed_once_to_who_asked_and_its_link_unsubscribes(store: TestStore) {
    let api = Api::new(store);
    let (alice, notice) = reminded(&api).await;
    let outbox = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4().simple()));
    let deps = deps(
        &api,
        Arc::new(OutboxMailer {
            dir: outbox.clone(),
        }),
    );

    assert_eq!(email_notice(&deps, &notice).await.unwrap(), Delivery::Sent);
    assert_eq!(
        email_notice(&deps, &notice).await.unwrap(),
        Delivery::AlreadySent,
        "once"
    );
    let files: Vec<_> = std::fs::read_dir(&outbox).unwrap().collect();
    assert_eq!(files.len(), 1);
    let message = std::fs::read_to_string(outbox.join(format!("{}.eml", notice.event_id))).unwrap();
    assert_eq!(header(&message, "To"), format!("{alice}@example.com"));
    assert_eq!(header(&message, "From"), "notices@example.com");
    assert_eq!(
        header(&message, "Subject"),
        format!("{DEBT_NAME}: 50.00 due on {}", day(10))
    );
    let text = part(&message, "text/plain");
    let html = part(&message, "text/html");
    assert!(
        text.contains(DEBT_NAME) && text.contains("50.00") && text.contains(&day(10)),
        "{text}"
    );
    assert!(
        html.contains("Carte crédit &lt;Sud-Ouest&gt; &amp; co"),
        "escaped: {html}"
    );
    let link = header(&message, "List-Unsubscribe");
    let link = link
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        link.starts_with("https://api.example.com/unsubscribe/"),
        "{link}"
    );
    assert!(text.contains(&link) && html.contains(&link));
    assert_eq!(
        header(&message, "List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );

    // The link's page changes nothing; its POST stops emails of this kind and only this kind.
    let page = unsubscribe(&api, "GET", &link).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let done = unsubscribe(&api, "POST", &link).await;
    assert_eq!(done.status, 200, "{}", done.body);
    api.project_user(&alice).await;
    let profile = api.profile(&alice).await;
    assert_eq!(
        profile.body["data"]["notifications"]["kinds"],
        json!(["payment_missed", "promo_ending_soon"]),
        "{}",
        profile.body
    );
    let mut again = notice.clone();
    again.event_id = uuid::Uuid::new_v4();
    assert_eq!(
        email_notice(&deps, &again).await.unwrap(),
        Delivery::NotWanted
    );
    let forged = format!("{}A", &link[..link.len() - 1]);
    let forged = if forged == link {
        format!("{}B", &link[..link.len() - 1])
    } else {
        forged
    };
    assert_eq!(unsubscribe(&api, "POST", &forged).await.status, 404);
    assert_eq!(
        unsubscribe(&api, "GET", "https://x/unsubscribe/short")
            .await
            .status,
        404
    );

    // Erased: the address cannot be opened any more, so nothing is sent, projected or not.
    let erased = api.erase(&alice).await;
    assert_eq!(erased.status, 200, "{}", erased.body);
    let mut missed = notice.clone();
    missed.event_id = uuid::Uuid::new_v4();
    missed.payload = events::EventPayload::PaymentMissed(events::PaymentMissed {
        due_on: Utc::now().date_naive(),
        minimum_due: rust_decimal::Decimal::new(5000, 2),
        paid: rust_decimal::Decimal::new(0, 2),
    });
    assert_eq!(
        email_notice(&deps, &missed).await.unwrap(),
        Delivery::Erased
    );
    api.project_user(&alice).await;
    assert_eq!(
        email_notice(&deps, &missed).await.unwrap(),
        Delivery::Erased
    );
    assert_eq!(
        std::fs::read_dir(&outbox).unwrap().count(),
        1,
        "nothing more was sent"
    );
    let _ = std::fs::remove_dir_all(outbox);
}

async fn a_user_who_did_not_ask_gets_no_email(store: TestStore) {
    let api = Api::new(store);
    let (alice, notice) = reminded(&api).await;
    let off = api
        .set_notifications(
            &alice,
            &alice,
            json!({"offsets_days": [3], "email": false, "kinds": ["payment_due_soon"]}),
        )
        .await;
    assert_eq!(off.status, 200);
    api.project_user(&alice).await;
    let outbox = std::env::temp_dir().join(format!("outbox-{}", uuid::Uuid::new_v4().simple()));
    let deps = deps(
        &api,
        Arc::new(OutboxMailer {
            dir: outbox.clone(),
        }),
    );
    assert_eq!(
        email_notice(&deps, &notice).await.unwrap(),
        Delivery::NotWanted
    );
    assert!(!outbox.exists(), "nothing written");
    let debt = api.store.history(&debt_ref(&notice.aggregate_id)).await;
    assert_eq!(
        email_notice(&deps, &debt[0]).await.unwrap(),
        Delivery::NotANotice
    );
}

on_every_engine!(sqlite: sqlite_test_store, dynamodb: dynamodb_test_store;
    a_notice_is_emailed_once_to_who_asked_and_its_link_unsubscribes,
    a_user_who_did_not_ask_gets_no_email,
);

/// An SES client on the test services' moto.
async fn ses() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::from_conf(
        aws_sdk_sesv2::config::Builder::from(&aws_clients::sdk_config().await)
            .interceptor(integration_tests::footprint::Recorder)
            .build(),
    )
}

/// The raw messages moto's SES accepted, from moto's own view of its state.
async fn sent_on_moto() -> Vec<serde_json::Value> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_SESV2").expect("moto's SES endpoint");
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {address}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let data: serde_json::Value = serde_json::from_str(body).unwrap();
    data["ses"]["RawMessage"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_ses_sends_the_notice_from_the_verified_sender() {
    let api = Api::new(sqlite_test_store().await);
    let (alice, notice) = reminded(&api).await;
    let client = ses().await;
    let sender = format!("notices-{}@example.com", uuid::Uuid::new_v4().simple());
    integration_tests::footprint::as_fixture(
        client
            .create_email_identity()
            .email_identity(&sender)
            .send(),
    )
    .await
    .unwrap();
    let mut deps = deps(&api, Arc::new(event_functions::SesMailer::new(client)));
    deps.from = sender.clone();
    assert_eq!(email_notice(&deps, &notice).await.unwrap(), Delivery::Sent);
    let sent: Vec<serde_json::Value> = sent_on_moto()
        .await
        .into_iter()
        .filter(|m| m["source"] == json!(sender))
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0]["destinations"]
        .as_array()
        .unwrap()
        .contains(&json!(format!("{alice}@example.com"))));
    let raw = sent[0]["raw_data"].as_str().unwrap();
    assert!(header(raw, "Subject").starts_with(DEBT_NAME), "{raw}");
    // An unverified sender is refused by SES, and the delivery fails (the bus retries it).
    deps.from = "nobody@example.com".to_owned();
    let mut other = notice.clone();
    other.event_id = uuid::Uuid::new_v4();
    assert!(email_notice(&deps, &other).await.is_err());
}
