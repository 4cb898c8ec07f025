//! Private calendar feed tokens: the credential in a feed's URL, `GET /calendar/{token}.ics`, where no
//! `Authorization` header can be sent. A token is 64 characters of URL-safe base64: the feed's id (16 bytes,
//! which names the stored feed, so a revocation needs no lookup) and a 256-bit random secret, of which only
//! the SHA-256 is stored; a request's secret is compared with it in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Bytes of the random secret.
const SECRET_BYTES: usize = 32;
/// Characters of a token: 48 bytes in base64 without padding.
pub const TOKEN_LENGTH: usize = 64;

/// A token just issued: what the user is shown once, and what is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedFeedToken {
    /// The whole token, for the URL; never stored, never logged.
    pub token: String,
    pub feed_id: FeedId,
    /// Hex SHA-256 of the secret: all that is kept of it.
    pub secret_sha256: String,
}

/// A token a request presented, parsed: which feed it names and its secret's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresentedFeedToken {
    pub feed_id: FeedId,
    secret_sha256: [u8; 32],
}

/// A feed's id: 16 random bytes, written as a hyphenated UUID (version 4 layout) in keys and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedId(pub [u8; 16]);

impl FeedId {
    /// The id as a hyphenated lower-case UUID.
    pub fn hyphenated(&self) -> String {
        let hex = hex(&self.0);
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl IssuedFeedToken {
    /// A new token from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 16 + SECRET_BYTES];
        getrandom::fill(&mut bytes)?;
        // Version 4, variant 1: the id reads as a random UUID wherever it is written.
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let mut id = [0u8; 16];
        id.copy_from_slice(&bytes[..16]);
        Ok(IssuedFeedToken {
            token: URL_SAFE_NO_PAD.encode(bytes),
            feed_id: FeedId(id),
            secret_sha256: hex(&digest(&bytes[16..])),
        })
    }
}

impl PresentedFeedToken {
    /// The token in `raw`, or `None` when it cannot be one (wrong length or alphabet).
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != TOKEN_LENGTH {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
        let (id, secret) = bytes.split_at_checked(16)?;
        Some(PresentedFeedToken {
            feed_id: FeedId(id.try_into().ok()?),
            secret_sha256: digest(secret),
        })
    }

    /// Whether the stored digest (hex) is this token's secret's, compared in constant time.
    pub fn matches(&self, stored_sha256: &str) -> bool {
        hex(&self.secret_sha256)
            .as_bytes()
            .ct_eq(stored_sha256.as_bytes())
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_is_presented_back_and_nothing_else_matches() {
        let issued = IssuedFeedToken::generate().unwrap();
        assert_eq!(issued.token.len(), TOKEN_LENGTH);
        assert!(issued
            .token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        let presented = PresentedFeedToken::parse(&issued.token).unwrap();
        assert_eq!(presented.feed_id, issued.feed_id);
        assert!(presented.matches(&issued.secret_sha256));
        assert!(!issued.token.contains(&issued.secret_sha256));
        let other = IssuedFeedToken::generate().unwrap();
        assert!(!presented.matches(&other.secret_sha256));
        assert_ne!(other.feed_id, issued.feed_id);
        // Same id, another secret: refused.
        let mut forged = URL_SAFE_NO_PAD.decode(&issued.token).unwrap();
        forged[40] ^= 1;
        let forged = PresentedFeedToken::parse(&URL_SAFE_NO_PAD.encode(forged)).unwrap();
        assert!(!forged.matches(&issued.secret_sha256));
        for bad in [
            "",
            "abc",
            &issued.token[1..],
            &format!("{}=", &issued.token[1..]),
        ] {
            assert_eq!(PresentedFeedToken::parse(bad), None, "{bad}");
        }
        let id = issued.feed_id.hyphenated();
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4", "a version-4 UUID: {id}");
    }
}
