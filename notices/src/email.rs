//! Notices by email, for the users who opted in: a consumer of the notice events on the bus (on AWS the
//! `notice-email` function behind a rule; locally the server's bus loop) that writes one message per notice
//! (plain text and HTML, the debt's name, the amount and the date, an unsubscribe link for the notice's kind)
//! and hands it to a [`Mailer`]: Amazon SES on AWS, `.eml` files in `DATA_DIR/outbox/` locally. The address
//! is opened at send time from the user's sealed `UserCreated`, so after an erasure (the data key is gone)
//! nothing is sent. Delivery is at least once, like the bus's: a marker per event written after the send
//! keeps a redelivered event from being sent again, except when the consumer stops between the two.

use std::sync::Arc;

use async_trait::async_trait;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use domain::{DebtView, Decider, User, UserState};
use events::{EventEnvelope, EventPayload, NoticeKind, ERASED};
use read_model::live_view;
use read_model::notices::notice_settings;
use store::notice_index::NOTICE_PK_PREFIX;
use store::{keys, AggregateRef, CountOnce, EventLog, ItemKey, ReadModel, Records, StoreError};

/// Where a message goes.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends `message` (a whole RFC 5322 message) from `from` to `to`.
    async fn send(&self, from: &str, to: &str, message: &OutgoingEmail) -> Result<(), String>;
}

/// One composed message: its id (the notice event's) and its MIME text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub event_id: String,
    pub raw: String,
}

/// Writes each message as `<event id>.eml` into a folder: the local server's outbox, where a developer reads
/// what would have been sent.
pub struct OutboxMailer {
    pub dir: std::path::PathBuf,
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, _from: &str, _to: &str, message: &OutgoingEmail) -> Result<(), String> {
        let path = self.dir.join(format!("{}.eml", message.event_id));
        let raw = message.raw.clone();
        let dir = self.dir.clone();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&dir)?;
            std::fs::write(path, raw)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot write to the outbox: {e}"))
    }
}

/// How long an unsubscribe link works: long after anyone acts on the email it came in.
pub const UNSUBSCRIBE_LINK_DAYS: i64 = 180;

/// Unsubscribe links: each a token of its own (as a calendar feed's: an id and a 256-bit secret, of which
/// only the hash is stored, in `UNSUBSCRIBE#<id>` with the user and the kind, removed by DynamoDB's TTL
/// after [`UNSUBSCRIBE_LINK_DAYS`]), under the API's base URL; `POST /unsubscribe/{token}` acts on it.
pub struct UnsubscribeLinks {
    pub records: Arc<dyn Records>,
    /// The API's base URL as users reach it (`https://api.example.com`); no links without it.
    pub base_url: Option<String>,
}

impl UnsubscribeLinks {
    /// A new link that stops `username`'s emails of `kind`.
    pub async fn link(
        &self,
        username: &str,
        kind: NoticeKind,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, EmailError> {
        let Some(base) = &self.base_url else {
            return Ok(None);
        };
        let issued = auth::feed_tokens::IssuedFeedToken::generate()
            .map_err(|e| EmailError::Mail(format!("no random source: {e}")))?;
        let expires = now + chrono::Duration::days(UNSUBSCRIBE_LINK_DAYS);
        let item = store::Item {
            key: keys::unsubscribe_key(&issued.feed_id.hyphenated()),
            attributes: store::codec::to_attributes(&serde_json::json!({
                "owner": username,
                "kind": kind.as_str(),
                "secret_sha256": issued.secret_sha256,
                keys::TTL_ATTRIBUTE: expires.timestamp(),
            })),
        };
        self.records.put_item(&item).await?;
        Ok(Some(format!(
            "{}/unsubscribe/{}",
            base.trim_end_matches('/'),
            issued.token
        )))
    }
}

/// What the consumer reads and where it sends.
#[derive(Clone)]
pub struct EmailDeps {
    /// The users' events through the sealing store: the address is opened when a message is sent.
    pub user_events: Arc<dyn EventLog>,
    pub read_model: Arc<dyn ReadModel>,
    pub records: Arc<dyn Records>,
    pub mailer: Arc<dyn Mailer>,
    /// The sender (the stack's `mailFrom`).
    pub from: String,
    pub links: Arc<UnsubscribeLinks>,
}

/// What became of one delivered event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Not a notice: nothing to send.
    NotANotice,
    /// The user does not want it (email off, or not this kind).
    NotWanted,
    /// The user is erased (or their address cannot be opened any more).
    Erased,
    /// A delivery before this one sent it.
    AlreadySent,
    Sent,
}

#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the mail service refused the message: {0}")]
    Mail(String),
}

fn sent_marker(event_id: &str) -> ItemKey {
    ItemKey::new(format!("{NOTICE_PK_PREFIX}EMAIL#{event_id}"), "SENT")
}

fn daily_count(day: NaiveDate) -> ItemKey {
    ItemKey::new(format!("{NOTICE_PK_PREFIX}EMAILS"), format!("DAY#{day}"))
}

/// Sends the email of one delivered event, when it is a notice its owner wants by email.
pub async fn deliver(deps: &EmailDeps, event: &EventEnvelope) -> Result<Delivery, EmailError> {
    let Some(kind) = domain::debt::notice_kind(&event.payload) else {
        return Ok(Delivery::NotANotice);
    };
    // A notice's actor is the debt's owner, to whom it is addressed.
    let owner = event.actor.as_str();
    let Some(settings) = notice_settings(deps.read_model.as_ref(), owner).await? else {
        return Ok(Delivery::Erased);
    };
    if !settings.notifications.email || !settings.notifications.kinds.contains(&kind) {
        return Ok(Delivery::NotWanted);
    }
    let event_id = event.event_id.to_string();
    let marker = sent_marker(&event_id);
    if deps.records.get_item(&marker).await?.is_some() {
        return Ok(Delivery::AlreadySent);
    }
    let user = deps
        .user_events
        .load_events(&AggregateRef::user(owner), 0)
        .await?;
    let address = match User::fold(user.iter().map(|e| &e.payload)) {
        UserState::Registered(profile) if profile.email != ERASED => profile.email,
        _ => return Ok(Delivery::Erased),
    };
    let debt_key = keys::debt_read_key(owner, &event.aggregate_id);
    let debt_name = match deps.read_model.read_item_json(&debt_key).await? {
        Some(text) => {
            live_view::<DebtView>(&debt_key, &text)?.map(|(debt, _)| debt.fields.debt_name)
        }
        None => None,
    }
    .unwrap_or_else(|| "your debt".to_owned());
    let content = Content::of(&event.payload, &debt_name, owner);
    let unsubscribe = deps.links.link(owner, kind, Utc::now()).await?;
    let raw = mime_message(
        &deps.from,
        &address,
        &content,
        unsubscribe.as_deref(),
        event,
    );
    deps.mailer
        .send(&deps.from, &address, &OutgoingEmail { event_id, raw })
        .await
        .map_err(EmailError::Mail)?;
    deps.records
        .increment_once(&CountOnce {
            marker: &marker,
            counter: &daily_count(event.occurred_at.date_naive()),
            increments: &[("sent", 1)],
        })
        .await?;
    tracing::info!(event_id = %event.event_id, kind = kind.as_str(), "notice emailed");
    Ok(Delivery::Sent)
}

/// A message's words: subject, and the body's paragraphs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub subject: String,
    pub paragraphs: Vec<String>,
}

impl Content {
    /// The words of the notice `payload` about the debt `debt_name`, to `username`.
    pub fn of(payload: &EventPayload, debt_name: &str, username: &str) -> Content {
        let greeting = format!("Hello {username},");
        let (subject, lines) = match payload {
            EventPayload::PaymentDueSoon(due) => {
                let amount = due
                    .minimum_due
                    .map_or_else(|| "A payment".to_owned(), |m| format!("At least {m}"));
                (
                    match due.minimum_due {
                        Some(m) => format!("{debt_name}: {m} due on {}", due.due_on),
                        None => format!("{debt_name}: payment due on {}", due.due_on),
                    },
                    vec![
                        format!(
                            "{amount} is due on {debt_name} by {} ({} days from now).",
                            due.due_on, due.days_before
                        ),
                        format!("Paid so far in this cycle: {}.", due.paid),
                    ],
                )
            }
            EventPayload::PaymentMissed(missed) => (
                format!("{debt_name}: the payment due on {} was missed", missed.due_on),
                vec![
                    format!(
                        "The minimum of {} on {debt_name} was due on {}; {} was paid in its cycle.",
                        missed.minimum_due, missed.due_on, missed.paid
                    ),
                    "A late payment may cost a fee or a penalty rate: pay what you can now.".to_owned(),
                ],
            ),
            EventPayload::PromoEndingSoon(promo) => (
                format!("{debt_name}: the promotional rate ends on {}", promo.ends_on),
                vec![format!(
                    "The promotional rate on {debt_name} ends on {} ({} days from now); then the rate is {} %.",
                    promo.ends_on, promo.days_before, promo.rate_after
                )],
            ),
            _ => (String::new(), Vec::new()),
        };
        let mut paragraphs = vec![greeting];
        paragraphs.extend(lines);
        Content {
            subject,
            paragraphs,
        }
    }
}

/// Text for an HTML body: `&`, `<`, `>`, `"` and `'` as entities.
fn html_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A header value: as it is when it is printable ASCII, else one RFC 2047 encoded word per 45 bytes of
/// UTF-8 (a debt's name may be anything), so no value can start a header of its own.
fn header_value(value: &str) -> String {
    let clean: String = value.chars().filter(|c| !c.is_control()).collect();
    if clean.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return clean;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", STANDARD.encode(&chunk)));
    }
    words.join("\r\n ")
}

/// `text` in base64, in lines of 76 characters (RFC 2045).
fn base64_lines(text: &str) -> String {
    let encoded = STANDARD.encode(text);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|line| String::from_utf8_lossy(line).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The whole message: headers, then a plain-text and an HTML part.
pub fn mime_message(
    from: &str,
    to: &str,
    content: &Content,
    unsubscribe: Option<&str>,
    event: &EventEnvelope,
) -> String {
    let stop = match unsubscribe {
        Some(link) => format!("To stop emails of this kind: {link}"),
        None => {
            "To stop these emails, turn email off: PUT /users/{username}/notifications.".to_owned()
        }
    };
    let mut text: Vec<String> = content.paragraphs.clone();
    text.push(stop.clone());
    let text = text.join("\r\n\r\n") + "\r\n";
    let mut html = String::from("<!doctype html><html><body>");
    for paragraph in &content.paragraphs {
        html.push_str(&format!("<p>{}</p>", html_escaped(paragraph)));
    }
    match unsubscribe {
        Some(link) => html.push_str(&format!(
            "<p><a href=\"{}\">Stop emails of this kind</a></p>",
            html_escaped(link)
        )),
        None => html.push_str(&format!("<p>{}</p>", html_escaped(&stop))),
    }
    html.push_str("</body></html>\r\n");
    let boundary = format!("notice-{}", event.event_id.simple());
    let date: DateTime<Utc> = event.occurred_at;
    let mut headers = vec![
        format!("From: {}", header_value(from)),
        format!("To: {}", header_value(to)),
        format!("Subject: {}", header_value(&content.subject)),
        format!("Date: {}", date.to_rfc2822()),
        format!("Message-ID: <{}@notices.debts>", event.event_id),
        "MIME-Version: 1.0".to_owned(),
    ];
    if let Some(link) = unsubscribe {
        // RFC 8058: mail clients offer a one-click unsubscribe that POSTs to it.
        headers.push(format!("List-Unsubscribe: <{}>", header_value(link)));
        headers.push("List-Unsubscribe-Post: List-Unsubscribe=One-Click".to_owned());
    }
    headers.push(format!(
        "Content-Type: multipart/alternative; boundary=\"{boundary}\""
    ));
    let part = |media: &str, body: &str| {
        format!(
            "--{boundary}\r\nContent-Type: {media}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            base64_lines(body)
        )
    };
    format!(
        "{}\r\n\r\n{}{}--{boundary}--\r\n",
        headers.join("\r\n"),
        part("text/plain", &text),
        part("text/html", &html)
    )
}
