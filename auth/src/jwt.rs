//! HS256 JSON Web Tokens, and nothing else: the header must say `"alg":"HS256"` and name its key in `kid`,
//! so `alg: none`, algorithm confusion and unknown keys are all refused before any claim is trusted.
//! Written on ring's HMAC (the project's one crypto stack), whose `verify` compares in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::hmac;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::keys::SigningKey;

/// The claims this API issues and requires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The username.
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Header {
    alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
}

/// Why a token was refused. None of these carries the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("the token is not a well-formed JWT")]
    Malformed,
    #[error("the token's algorithm is not HS256")]
    UnsupportedAlgorithm,
    #[error("the token names no key or an unknown key")]
    UnknownKey,
    #[error("the token's signature does not match")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token is not valid yet")]
    NotYetValid,
    #[error("the token was issued by someone else")]
    WrongIssuer,
}

fn encode_part(value: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("JWT parts are serialisable"))
}

/// Signs `claims` with `key`, naming the key in the header's `kid`.
pub fn sign(claims: &Claims, key: &SigningKey) -> String {
    let header = Header {
        alg: "HS256".into(),
        typ: Some("JWT".into()),
        kid: Some(key.id.clone()),
    };
    let signing_input = format!("{}.{}", encode_part(&header), encode_part(claims));
    let tag = hmac::sign(&key.hmac_key(), signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// A token whose header has been read but whose signature and claims have not been checked yet.
pub struct UnverifiedToken<'t> {
    signing_input: &'t str,
    payload: &'t str,
    signature: Vec<u8>,
    /// The key the token says it was signed with.
    pub kid: String,
}

/// Reads a token's header: three base64url parts, `alg` exactly `HS256`, a `kid`.
pub fn decode_header(token: &str) -> Result<UnverifiedToken<'_>, TokenError> {
    let (signing_input, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
    let (header, payload) = signing_input.split_once('.').ok_or(TokenError::Malformed)?;
    if payload.contains('.') || header.is_empty() || payload.is_empty() {
        return Err(TokenError::Malformed);
    }
    let header: Header = URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(TokenError::Malformed)?;
    if header.alg != "HS256" {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or(TokenError::UnknownKey)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| TokenError::Malformed)?;
    Ok(UnverifiedToken {
        signing_input,
        payload,
        signature,
        kid,
    })
}

impl UnverifiedToken<'_> {
    /// Checks the signature with `key` (which must be the key `kid` names), then the claims at `now`.
    pub fn verify(self, key: &SigningKey, issuer: &str, now: i64) -> Result<Claims, TokenError> {
        hmac::verify(
            &key.hmac_key(),
            self.signing_input.as_bytes(),
            &self.signature,
        )
        .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims = URL_SAFE_NO_PAD
            .decode(self.payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(TokenError::Malformed)?;
        if claims.iss != issuer {
            return Err(TokenError::WrongIssuer);
        }
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        if claims.nbf.is_some_and(|nbf| nbf > now) || claims.iat > now + 60 {
            return Err(TokenError::NotYetValid);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_800_000_000;

    fn key(id: &str, secret: &str) -> SigningKey {
        SigningKey::new(id, secret.as_bytes().to_vec())
    }

    fn claims() -> Claims {
        Claims {
            sub: "alice".into(),
            iat: NOW - 10,
            exp: NOW + 3600,
            iss: "debts".into(),
            nbf: None,
        }
    }

    fn check(token: &str, with: &SigningKey) -> Result<Claims, TokenError> {
        decode_header(token)?.verify(with, "debts", NOW)
    }

    /// A token with a hand-made header and claims, signed with `secret` over exactly those parts.
    fn forged(header: serde_json::Value, claims: serde_json::Value, secret: &[u8]) -> String {
        let input = format!("{}.{}", encode_part(&header), encode_part(&claims));
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    #[test]
    fn a_signed_token_verifies_and_names_its_key() {
        let k = key("v1", "a secret of enough length");
        let token = sign(&claims(), &k);
        assert_eq!(decode_header(&token).unwrap().kid, "v1");
        assert_eq!(check(&token, &k).unwrap(), claims());
    }

    #[test]
    #[allow(clippy::too_many_lines)] // one case per way a token can be bad, listed in one place
    fn every_kind_of_bad_token_is_refused() {
        let k = key("v1", "a secret of enough length");
        let good = sign(&claims(), &k);
        let claims_json = serde_json::to_value(claims()).unwrap();
        let cases: Vec<(&str, String, TokenError)> = vec![
            ("empty", String::new(), TokenError::Malformed),
            ("two parts", "abc.def".into(), TokenError::Malformed),
            ("four parts", format!("{good}.x"), TokenError::Malformed),
            ("garbage", "!!!.???.***".into(), TokenError::Malformed),
            (
                "alg none",
                format!(
                    "{}.{}.",
                    encode_part(&json!({"alg": "none", "kid": "v1"})),
                    encode_part(&claims_json)
                ),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                "alg HS512",
                forged(
                    json!({"alg": "HS512", "kid": "v1"}),
                    claims_json.clone(),
                    b"a secret of enough length",
                ),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                "alg RS256",
                forged(
                    json!({"alg": "RS256", "kid": "v1"}),
                    claims_json.clone(),
                    b"a secret of enough length",
                ),
                TokenError::UnsupportedAlgorithm,
            ),
            (
                "no kid",
                forged(
                    json!({"alg": "HS256"}),
                    claims_json.clone(),
                    b"a secret of enough length",
                ),
                TokenError::UnknownKey,
            ),
            (
                "other secret",
                sign(&claims(), &key("v1", "another secret entirely")),
                TokenError::BadSignature,
            ),
            (
                "tampered claims",
                {
                    let parts: Vec<&str> = good.split('.').collect();
                    let evil = encode_part(&Claims {
                        sub: "mallory".into(),
                        ..claims()
                    });
                    format!("{}.{}.{}", parts[0], evil, parts[2])
                },
                TokenError::BadSignature,
            ),
            (
                "expired",
                sign(
                    &Claims {
                        exp: NOW,
                        ..claims()
                    },
                    &k,
                ),
                TokenError::Expired,
            ),
            (
                "nbf ahead",
                sign(
                    &Claims {
                        nbf: Some(NOW + 60),
                        ..claims()
                    },
                    &k,
                ),
                TokenError::NotYetValid,
            ),
            (
                "issued in the future",
                sign(
                    &Claims {
                        iat: NOW + 3600,
                        exp: NOW + 7200,
                        ..claims()
                    },
                    &k,
                ),
                TokenError::NotYetValid,
            ),
            (
                "wrong issuer",
                sign(
                    &Claims {
                        iss: "someone-else".into(),
                        ..claims()
                    },
                    &k,
                ),
                TokenError::WrongIssuer,
            ),
            (
                "claims not JSON",
                forged_raw_claims(b"not json", b"a secret of enough length"),
                TokenError::Malformed,
            ),
        ];
        for (what, token, expected) in cases {
            assert_eq!(check(&token, &k), Err(expected), "{what}");
        }
    }

    fn forged_raw_claims(payload: &[u8], secret: &[u8]) -> String {
        let input = format!(
            "{}.{}",
            encode_part(&json!({"alg": "HS256", "kid": "v1"})),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, secret), input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    #[test]
    fn arbitrary_input_never_panics() {
        const ALPHABET: &[u8] = b"AZaz09-_.=+/ \x00\xff{}\"";
        let k = key("v1", "a secret of enough length");
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..400 {
            let bytes: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            let _ = check(&String::from_utf8_lossy(&bytes), &k);
        }
        // Every one-character change of a valid token is refused, never accepted and never a panic.
        let good = sign(&claims(), &k);
        for position in 0..good.len() {
            for replacement in ['A', '.', '-', '_', '=', 'z'] {
                let mut mutated = good.clone().into_bytes();
                if mutated[position] == replacement as u8 {
                    continue;
                }
                mutated[position] = replacement as u8;
                let mutated = String::from_utf8(mutated).unwrap();
                if let Ok(claims) = check(&mutated, &k) {
                    // base64url's last character can carry unused bits; the decoded bytes must then be equal.
                    assert_eq!(
                        claims,
                        super::tests::claims(),
                        "a mutated token verified with other claims"
                    );
                }
            }
        }
    }
}
