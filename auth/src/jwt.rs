//! HS256 JSON Web Tokens, and nothing else: the header must say `"alg":"HS256"` and name its key in `kid`,
//! so `alg: none`, algorithm confusion and unknown keys are all refused before any claim is trusted.
//! The format is `jsonwebtoken`'s; its cryptography is [`HS256_ONLY`], a provider on the RustCrypto `hmac` and
//! `sha2` the build already has (the AWS SDK signs requests with them), whose `verify_slice` compares in
//! constant time. The time claims are checked here, against the caller's clock, so tests can fix the time.

use std::sync::Once;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

use crate::keys::{KeyError, SigningKey};

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

/// The one provider this process installs into `jsonwebtoken`: HS256 and no other algorithm, so even a
/// `Validation` that listed another could not verify it.
pub static HS256_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: |algorithm, key| {
        (*algorithm == Algorithm::HS256 && !key.as_bytes().is_empty())
            .then(|| Box::new(HmacSha256(keyed(key.as_bytes()))) as Box<dyn JwtSigner>)
            .ok_or_else(|| ErrorKind::InvalidAlgorithm.into())
    },
    verifier_factory: |algorithm, key| {
        if *algorithm != Algorithm::HS256 {
            return Err(ErrorKind::InvalidAlgorithm.into());
        }
        Ok(Box::new(HmacSha256(keyed(key.try_get_as_bytes()?))) as Box<dyn JwtVerifier>)
    },
    key_utils: KeyUtils::new_unimplemented(),
};

fn keyed(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::new_from_slice(secret).expect("HMAC takes keys of any length")
}

struct HmacSha256(Hmac<Sha256>);

impl signature::Signer<Vec<u8>> for HmacSha256 {
    fn try_sign(&self, message: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        Ok(mac.finalize().into_bytes().to_vec())
    }
}

impl signature::Verifier<Vec<u8>> for HmacSha256 {
    fn verify(&self, message: &[u8], tag: &Vec<u8>) -> Result<(), signature::Error> {
        let mut mac = self.0.clone();
        mac.update(message);
        mac.verify_slice(tag).map_err(|_| signature::Error::new())
    }
}

impl JwtSigner for HmacSha256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

impl JwtVerifier for HmacSha256 {
    fn algorithm(&self) -> Algorithm {
        Algorithm::HS256
    }
}

/// Installs [`HS256_ONLY`] once per process; every entry point below calls it first.
fn provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means a provider was installed before: only this crate installs one, so it is ours.
        let _ = HS256_ONLY.install_default();
    });
}

/// Signs `claims` with `key`, naming the key in the header's `kid`.
pub fn sign(claims: &Claims, key: &SigningKey) -> Result<String, KeyError> {
    provider();
    let header = Header {
        kid: Some(key.id.clone()),
        ..Header::new(Algorithm::HS256)
    };
    let secret = EncodingKey::from_secret(key.secret())
        .map_err(|_| KeyError::Malformed("the signing secret is empty".into()))?;
    jsonwebtoken::encode(&header, claims, &secret)
        .map_err(|e| KeyError::Malformed(format!("cannot sign a token: {e}")))
}

/// A token whose header has been read but whose signature and claims have not been checked yet.
pub struct UnverifiedToken<'t> {
    token: &'t str,
    /// The key the token says it was signed with.
    pub kid: String,
}

/// Reads a token's header: three base64url parts, `alg` exactly `HS256`, a `kid`.
pub fn decode_header(token: &str) -> Result<UnverifiedToken<'_>, TokenError> {
    if token.split('.').count() != 3 {
        return Err(TokenError::Malformed);
    }
    let header = jsonwebtoken::decode_header(token).map_err(|_| {
        // `jsonwebtoken` knows no `alg` it does not implement (`none`, say): tell that apart from garbage.
        match announced_algorithm(token) {
            Some(alg) if alg != "HS256" => TokenError::UnsupportedAlgorithm,
            _ => TokenError::Malformed,
        }
    })?;
    if header.alg != Algorithm::HS256 {
        return Err(TokenError::UnsupportedAlgorithm);
    }
    let kid = header
        .kid
        .filter(|k| !k.is_empty())
        .ok_or(TokenError::UnknownKey)?;
    Ok(UnverifiedToken { token, kid })
}

/// The `alg` a token's header names, whatever it is.
fn announced_algorithm(token: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Announced {
        alg: String,
    }
    let header = URL_SAFE_NO_PAD.decode(token.split('.').next()?).ok()?;
    serde_json::from_slice::<Announced>(&header)
        .ok()
        .map(|h| h.alg)
}

impl UnverifiedToken<'_> {
    /// Checks the signature with `key` (which must be the key `kid` names), then the claims at `now`.
    pub fn verify(self, key: &SigningKey, issuer: &str, now: i64) -> Result<Claims, TokenError> {
        provider();
        let mut rules = Validation::new(Algorithm::HS256);
        rules.set_issuer(&[issuer]);
        rules.set_required_spec_claims(&["exp", "iss", "sub"]);
        // Checked below against `now`, not the system clock.
        rules.validate_exp = false;
        rules.validate_nbf = false;
        rules.validate_aud = false;
        let secret =
            DecodingKey::from_secret(key.secret()).map_err(|_| TokenError::BadSignature)?;
        let claims = jsonwebtoken::decode::<Claims>(self.token, &secret, &rules)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                _ => TokenError::Malformed,
            })?
            .claims;
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
        format!("{input}.{}", tag(&input, secret))
    }

    /// An HMAC-SHA256 tag computed independently of the code under test (the `hmac` crate directly).
    fn tag(input: &str, secret: &[u8]) -> String {
        let mut mac = keyed(secret);
        mac.update(input.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    fn encode_part(value: &impl Serialize) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
    }

    fn sign(claims: &Claims, key: &SigningKey) -> String {
        super::sign(claims, key).unwrap()
    }

    #[test]
    fn the_provider_knows_hs256_only() {
        let secret = b"a secret of enough length";
        for algorithm in [
            Algorithm::HS384,
            Algorithm::HS512,
            Algorithm::RS256,
            Algorithm::ES256,
        ] {
            let encoding = EncodingKey::from_secret(secret).unwrap();
            let decoding = DecodingKey::from_secret(secret).unwrap();
            assert!(
                (HS256_ONLY.signer_factory)(&algorithm, &encoding).is_err(),
                "{algorithm:?}"
            );
            assert!(
                (HS256_ONLY.verifier_factory)(&algorithm, &decoding).is_err(),
                "{algorithm:?}"
            );
        }
        // RFC 4231, test case 2.
        let signer = (HS256_ONLY.signer_factory)(
            &Algorithm::HS256,
            &EncodingKey::from_secret(b"Jefe").unwrap(),
        )
        .unwrap();
        let tag = signer.try_sign(b"what do ya want for nothing?").unwrap();
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
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
        format!("{input}.{}", tag(&input, secret))
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
