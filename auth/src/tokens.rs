//! Issuing tokens at login and checking them in the authorizer, over whichever [`SigningKeys`] is wired in.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use thiserror::Error;

use crate::jwt::{self, Claims, TokenError};
use crate::keys::{KeyError, SigningKeys};

/// The `iss` of tokens when `JWT_ISSUER` is not set.
pub const DEFAULT_ISSUER: &str = "debts-api";
/// Tokens live for 24 hours.
pub const TOKEN_LIFETIME: Duration = Duration::hours(24);

pub fn issuer_from_env() -> String {
    std::env::var("JWT_ISSUER").unwrap_or_else(|_| DEFAULT_ISSUER.to_owned())
}

/// A signed token and when it stops working.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Error)]
pub enum AuthError {
    #[error("no Authorization header")]
    MissingHeader,
    #[error("the Authorization header is not a Bearer token")]
    NotBearer,
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

/// Signs and checks tokens with one issuer name and one source of keys.
#[derive(Clone)]
pub struct Tokens {
    keys: Arc<dyn SigningKeys>,
    issuer: String,
}

impl Tokens {
    pub fn new(keys: Arc<dyn SigningKeys>, issuer: impl Into<String>) -> Self {
        Tokens {
            keys,
            issuer: issuer.into(),
        }
    }

    /// A 24-hour token for `username`, signed with the current key.
    pub async fn issue(&self, username: &str, now: DateTime<Utc>) -> Result<IssuedToken, KeyError> {
        let key = self.keys.current().await?;
        let expires_at = now + TOKEN_LIFETIME;
        let claims = Claims {
            sub: username.to_owned(),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
            iss: self.issuer.clone(),
            nbf: None,
        };
        Ok(IssuedToken {
            token: jwt::sign(&claims, &key)?,
            expires_at,
        })
    }

    /// The claims of a valid token signed by a trusted key.
    pub async fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Claims, AuthError> {
        let unverified = jwt::decode_header(token)?;
        let key = self
            .keys
            .by_id(&unverified.kid)
            .await?
            .ok_or(TokenError::UnknownKey)?;
        Ok(unverified.verify(&key, &self.issuer, now.timestamp())?)
    }

    /// The claims of the bearer token in an `Authorization` header value.
    pub async fn verify_header(
        &self,
        header: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Claims, AuthError> {
        let header = header.ok_or(AuthError::MissingHeader)?;
        let (scheme, token) = header.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::NotBearer);
        }
        self.verify(token.trim(), now).await
    }
}
