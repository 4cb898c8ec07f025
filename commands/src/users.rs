//! `POST /users` (registration) and `POST /login` (a bearer token for a username and password).

use std::sync::Arc;

use auth::{Password, PasswordHasher, Tokens, Verified};
use chrono::Utc;
use domain::{Decider, Email, FullName, User, UserCommand, UserView, Username};
use http_api::body::{json_object, parsed_text, text};
use http_api::context::idempotency_key;
use http_api::{serve, Problem, Reply};
use lambda_http::{Body, Error, Request, Response};
use serde_json::json;
use store::codec::to_attributes;
use store::{
    keys, AggregateRef, AppendRequest, EventLog, Item, ReadModel, Records, StoreError, Stores,
};

use crate::envelope::{blocking, envelopes};
use crate::idempotency::{DigestKey, DIGEST_KEY_FIELD, IDEMPOTENCY_WINDOW};
use crate::login_limits;

/// What registration needs, built once per container: the user's events (the email and name sealed), and
/// the records beside them (credentials, the idempotency record).
pub struct UserDeps {
    pub events: Arc<dyn EventLog>,
    pub records: Arc<dyn Records>,
    /// The read side, for the commands that decide on what the user sees: a plan's debts, their time zone.
    pub read_model: Arc<dyn ReadModel>,
    pub passwords: PasswordHasher,
}

/// What login needs, built once per container: the credentials records only.
pub struct LoginDeps {
    pub records: Arc<dyn Records>,
    pub passwords: PasswordHasher,
    pub tokens: Tokens,
}

impl UserDeps {
    pub fn new(stores: &Stores, passwords: PasswordHasher) -> Self {
        UserDeps {
            events: Arc::clone(&stores.events),
            records: Arc::clone(&stores.records),
            read_model: Arc::clone(&stores.read_model),
            passwords,
        }
    }
}

impl LoginDeps {
    pub fn new(stores: &Stores, passwords: PasswordHasher, tokens: Tokens) -> Self {
        LoginDeps {
            records: Arc::clone(&stores.records),
            passwords,
            tokens,
        }
    }
}

fn user_ref(username: &Username) -> AggregateRef {
    AggregateRef::user(username.as_str())
}

fn password_field(value: &serde_json::Value) -> Result<Password, String> {
    Password::parse(text(value)?).map_err(|_| "must be 8-128 characters".to_owned())
}

struct Registration {
    username: Username,
    email: Email,
    full_name: FullName,
    password: Password,
}

impl Registration {
    /// What identifies a registration request apart from its password, to recognise a retry; the key's
    /// record (kept a day, erasure or not) holds only its digest under the new user's digest key.
    fn canonical(&self) -> String {
        json!({
            "username": self.username.as_str(),
            "email": self.email.as_str(),
            "full_name": self.full_name.as_str(),
        })
        .to_string()
    }
}

fn parse_registration(request: &Request) -> Result<Registration, Problem> {
    let mut fields = json_object(request)?;
    let username = fields.required("username", parsed_text(Username::parse));
    let email = fields.required("email", parsed_text(Email::parse));
    let full_name = fields.required("full_name", parsed_text(FullName::parse));
    let password = fields.required("password", password_field);
    let accepted = fields.finish()?;
    Ok(Registration {
        username: username.take(&accepted),
        email: email.take(&accepted),
        full_name: full_name.take(&accepted),
        password: password.take(&accepted),
    })
}

/// `POST /users`: registers a user. The `UserCreated` event, the credentials item and the email guard (and,
/// with an `Idempotency-Key`, a record of the key) are written in one transaction: all or nothing.
pub async fn create_user(request: Request, deps: &UserDeps) -> Result<Response<Body>, Error> {
    serve("create-user", request, |request, meta| async move {
        let key = idempotency_key(&request)?;
        let registration = parse_registration(&request)?;
        if let Some(key) = &key {
            if let Some(reply) = replay_registration(deps, key, &registration).await? {
                return Ok(reply);
            }
        }
        let history = deps
            .events
            .load_events(&user_ref(&registration.username), 0)
            .await?;
        let state = User::fold(history.iter().map(|e| &e.payload));
        let command = UserCommand::Register {
            username: registration.username.clone(),
            email: registration.email.clone(),
            full_name: registration.full_name.clone(),
        };
        let payloads = User::decide(&command, &state)?;
        let username = registration.username.as_str();
        let now = Utc::now();
        let events = envelopes(username, 0, payloads, username, &meta, now);
        let append = registration_append(deps, &registration, key.as_deref(), &events, now).await?;
        match deps.events.append(append).await {
            Ok(()) => {
                tracing::info!(username, "user registered");
                let user =
                    UserView::from_history(&events).ok_or_else(|| Problem::internal("no user"))?;
                Ok(Reply::created(user))
            }
            Err(
                conflict @ (StoreError::VersionConflict { .. } | StoreError::GuardTaken { .. }),
            ) => registration_conflict(deps, key.as_deref(), &registration, conflict).await,
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The registration transaction: the events, the credentials (the password hashed here, off the async
/// threads), the email guard and, with an `Idempotency-Key`, the key's record (expiring after the window).
async fn registration_append(
    deps: &UserDeps,
    registration: &Registration,
    key: Option<&str>,
    events: &[events::EventEnvelope],
    now: chrono::DateTime<Utc>,
) -> Result<AppendRequest, Problem> {
    let hasher = deps.passwords.clone();
    let password = registration.password.clone();
    let password_hash = blocking(move || hasher.hash(&password)).await?;
    let username = registration.username.as_str();
    let (digest_key, digest_secret) = DigestKey::generate()?;
    let mut append = AppendRequest::new(0, events.to_vec())
        .with_guard(
            "credentials",
            Item {
                key: keys::credentials_key(username),
                attributes: to_attributes(&json!({
                    "password_hash": password_hash,
                    "updated_at": now,
                    DIGEST_KEY_FIELD: digest_secret,
                })),
            },
        )
        .with_guard(
            "email",
            Item {
                key: keys::email_guard_key(&registration.email.normalized()),
                attributes: to_attributes(&json!({"username": username})),
            },
        );
    if let Some(key) = key {
        let record = json!({
            "request": digest_key.digest(&registration.canonical()),
            keys::TTL_ATTRIBUTE: (now + IDEMPOTENCY_WINDOW).timestamp(),
        });
        append = append.with_guard(
            "idempotency key",
            Item {
                key: keys::user_idempotency_key(key),
                attributes: to_attributes(&record),
            },
        );
    }
    Ok(append)
}

/// The answer to a registration that lost to an existing user or email: a concurrent retry with the same
/// key may have won the race (then it is answered as a retry), otherwise 409 naming what is taken.
async fn registration_conflict(
    deps: &UserDeps,
    key: Option<&str>,
    registration: &Registration,
    conflict: StoreError,
) -> Result<Reply, Problem> {
    if let Some(key) = key {
        if let Some(reply) = replay_registration(deps, key, registration).await? {
            return Ok(reply);
        }
    }
    Err(match conflict {
        StoreError::VersionConflict { .. } => Problem::conflict("the username is already taken"),
        StoreError::GuardTaken { name } if name == "email" => {
            Problem::conflict("the email is already registered")
        }
        other => other.into(),
    })
}

/// The original 201 when `key` was already used for this same registration (password included), a 422 when
/// it was used for a different one, and `None` when the key is new.
async fn replay_registration(
    deps: &UserDeps,
    key: &str,
    registration: &Registration,
) -> Result<Option<Reply>, Problem> {
    let record_key = keys::user_idempotency_key(key);
    let Some(record) = deps.records.get_item(&record_key).await? else {
        return Ok(None);
    };
    // The window is enforced here: DynamoDB's TTL deletes an expired record only eventually (and SQLite never).
    // An expired record is removed, as the TTL would, so the key's registration guard is free again.
    let expires_at = record
        .attributes
        .get(keys::TTL_ATTRIBUTE)
        .and_then(serde_json::Value::as_i64);
    if expires_at.is_none_or(|at| at <= Utc::now().timestamp()) {
        deps.records.delete_item(&record_key).await?;
        return Ok(None);
    }
    let mismatch = || {
        Problem::idempotency_mismatch("this Idempotency-Key was used for a different request body")
    };
    // No credentials: the key's registration was another username's, or its user was erased since.
    let Some(digest_key) =
        DigestKey::of(deps.records.as_ref(), registration.username.as_str()).await?
    else {
        return Err(mismatch());
    };
    let same_request = record
        .attributes
        .get("request")
        .and_then(|r| r.as_str())
        .is_some_and(|stored| digest_key.matches(stored, &registration.canonical()));
    if !same_request {
        return Err(mismatch());
    }
    let username = registration.username.as_str();
    let stored_hash = stored_password_hash(deps.records.as_ref(), &registration.username)
        .await?
        .ok_or_else(|| Problem::internal("credentials missing for a registered user"))?;
    let hasher = deps.passwords.clone();
    let password = registration.password.clone();
    let verified = blocking(move || hasher.verify(&password, &stored_hash)).await?;
    if verified == Verified::No {
        return Err(mismatch());
    }
    let history = deps
        .events
        .load_events(&user_ref(&registration.username), 0)
        .await?;
    let user = UserView::from_history(&history).ok_or_else(|| Problem::internal("no user"))?;
    tracing::info!(
        username,
        "idempotent retry answered from the original event"
    );
    Ok(Some(Reply::created(user)))
}

fn invalid_credentials() -> Problem {
    Problem::unauthorized("the username or password is wrong")
}

/// `POST /login`: `{"token", "token_type": "Bearer", "expires_at"}` for a right username and password. A
/// wrong password and an unknown user get the same answer after the same work (one hash).
pub async fn login(request: Request, deps: &LoginDeps) -> Result<Response<Body>, Error> {
    serve("login", request, |request, _meta| async move {
        let mut fields = json_object(&request)?;
        let username = fields.required("username", |v| text(v).map(str::to_owned));
        let password = fields.required("password", |v| text(v).map(str::to_owned));
        let accepted = fields.finish()?;
        let (username, password) = (username.take(&accepted), password.take(&accepted));
        // A password or username that could never have been registered is simply a wrong one.
        let password = Password::parse(&password).ok();
        let username = Username::parse(username.trim()).ok();
        let source = login_limits::source_of(&request);
        let attempt = login_limits::begin(
            deps.records.as_ref(),
            &source,
            username.as_ref(),
            Utc::now(),
        )
        .await?;
        let (verified, stored_hash) = verify(deps, username.as_ref(), password.clone()).await?;
        let (Verified::Yes { rehash }, Some(username), Some(password), Some(stored_hash)) =
            (verified, username, password, stored_hash)
        else {
            tracing::info!("login refused");
            return Err(invalid_credentials());
        };
        login_limits::release(deps.records.as_ref(), attempt).await;
        if rehash {
            upgrade_hash(deps, &username, password, stored_hash).await;
        }
        let issued = deps
            .tokens
            .issue(username.as_str(), Utc::now())
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "cannot read the signing key");
                Problem::internal("the request could not be completed")
            })?;
        tracing::info!(username = username.as_str(), "login succeeded");
        Ok(Reply::bare(json!({
            "token": issued.token,
            "token_type": "Bearer",
            "expires_at": issued.expires_at,
        })))
    })
    .await
}

/// Whether `password` is `username`'s, after exactly one hash whatever the case (an unknown user or an
/// impossible password costs the same), so a login's time says nothing about an account; with the stored
/// hash it was checked against.
async fn verify(
    deps: &LoginDeps,
    username: Option<&Username>,
    password: Option<Password>,
) -> Result<(Verified, Option<String>), Problem> {
    let stored_hash = match username {
        Some(username) => stored_password_hash(deps.records.as_ref(), username).await?,
        None => None,
    };
    let hasher = deps.passwords.clone();
    let checked = stored_hash.clone();
    let verified = blocking(move || match (password, checked) {
        (Some(password), Some(hash)) => hasher.verify(&password, &hash),
        (Some(password), None) => {
            hasher.waste_one_hash(&password);
            Verified::No
        }
        (None, _) => {
            hasher.waste_one_hash(
                &Password::parse("unknown-user-padding").expect("a valid password"),
            );
            Verified::No
        }
    })
    .await?;
    Ok((verified, stored_hash))
}

/// The password hash in a user's credentials item, when the user exists.
pub(crate) async fn stored_password_hash(
    records: &dyn Records,
    username: &Username,
) -> Result<Option<String>, StoreError> {
    let credentials = records
        .get_item(&keys::credentials_key(username.as_str()))
        .await?;
    Ok(credentials.and_then(|item| {
        let hash = item.attributes.get("password_hash")?.as_str()?;
        Some(hash.to_owned())
    }))
}

/// Re-hashes a password stored with fewer iterations than the current setting, replacing `old_hash` only: a
/// conditional write on the credentials item as read here (its `updated_at`), so an erasure that removed it
/// meanwhile, a concurrent upgrade or a digest key added meanwhile wins and nothing is recreated or lost.
/// The item's other attributes (the digest key) are kept. A failure only means the upgrade waits for the
/// next login, so it is logged, not returned.
async fn upgrade_hash(deps: &LoginDeps, username: &Username, password: Password, old_hash: String) {
    let hasher = deps.passwords.clone();
    let Ok(new_hash) = blocking(move || hasher.hash(&password)).await else {
        return;
    };
    let key = keys::credentials_key(username.as_str());
    let mut item = match deps.records.get_item(&key).await {
        Ok(Some(item)) => item,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, "password hash upgrade failed");
            return;
        }
    };
    if item
        .attributes
        .get("password_hash")
        .and_then(|h| h.as_str())
        != Some(old_hash.as_str())
    {
        return;
    }
    let expected = item
        .attributes
        .get("updated_at")
        .cloned()
        .unwrap_or(serde_json::Value::Null);
    item.attributes.insert(
        "password_hash".to_owned(),
        serde_json::Value::String(new_hash),
    );
    item.attributes
        .insert("updated_at".to_owned(), json!(Utc::now()));
    match deps
        .records
        .replace_item_if(&item, "updated_at", &expected)
        .await
    {
        Ok(true) => tracing::info!(
            username = username.as_str(),
            iterations = deps.passwords.iterations(),
            "password hash upgraded"
        ),
        Ok(false) => tracing::info!(
            username = username.as_str(),
            "password hash not upgraded: the credentials changed or were erased meanwhile"
        ),
        Err(e) => tracing::warn!(error = %e, "password hash upgrade failed"),
    }
}
