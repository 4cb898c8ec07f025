//! Password hashing: PBKDF2-HMAC-SHA256 with a random 16-byte salt, stored as a self-describing string
//! `pbkdf2-sha256$<iterations>$<salt>$<hash>` (base64url) so the work factor can rise without a migration:
//! a hash with fewer iterations than the current setting is re-hashed on the next successful login.
//! The derivation is the `pbkdf2` crate's over RustCrypto's `hmac` and `sha2`; the comparison is `subtle`'s.

use std::num::NonZeroU32;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::Sha256;
use subtle::ConstantTimeEq;
use thiserror::Error;

const SCHEME: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

fn derive(password: &[u8], salt: &[u8], iterations: NonZeroU32) -> [u8; HASH_LEN] {
    pbkdf2::pbkdf2_hmac_array::<Sha256, HASH_LEN>(password, salt, iterations.get())
}

/// OWASP's Password Storage Cheat Sheet asks 600,000 iterations of PBKDF2-HMAC-SHA256.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
/// Beyond this a setting is refused and a stored hash unreadable: a typo or a tampered item must not make
/// every login take minutes.
pub const MAX_ITERATIONS: u32 = 10_000_000;
/// The original service's work factor; nothing weaker is accepted as a setting.
pub const MIN_ITERATIONS: u32 = 100_000;

/// A password as the user typed it: 8-128 characters. Its `Debug` never shows it, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("password: must be 8-128 characters")]
pub struct PasswordRejected;

impl Password {
    pub fn parse(raw: &str) -> Result<Self, PasswordRejected> {
        let chars = raw.chars().count();
        if (8..=128).contains(&chars) {
            Ok(Password(raw.to_owned()))
        } else {
            Err(PasswordRejected)
        }
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HasherError {
    #[error(
        "PASSWORD_HASH_ITERATIONS must be a whole number from {MIN_ITERATIONS} to {MAX_ITERATIONS}, got {0:?}"
    )]
    Iterations(String),
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The password is right; `rehash` says the stored hash is weaker than the current setting.
    Yes {
        rehash: bool,
    },
    No,
}

/// Hashes and checks passwords at a configured work factor.
#[derive(Debug, Clone)]
pub struct PasswordHasher {
    iterations: NonZeroU32,
}

impl PasswordHasher {
    pub fn new(iterations: u32) -> Result<Self, HasherError> {
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(HasherError::Iterations(iterations.to_string()));
        }
        Ok(PasswordHasher {
            iterations: NonZeroU32::new(iterations).expect("checked above"),
        })
    }

    /// From `PASSWORD_HASH_ITERATIONS`, or [`DEFAULT_ITERATIONS`] when unset.
    pub fn from_env() -> Result<Self, HasherError> {
        match std::env::var("PASSWORD_HASH_ITERATIONS") {
            Err(_) => Self::new(DEFAULT_ITERATIONS),
            Ok(raw) => raw
                .trim()
                .parse()
                .map_err(|_| HasherError::Iterations(raw.clone()))
                .and_then(Self::new),
        }
    }

    pub fn iterations(&self) -> u32 {
        self.iterations.get()
    }

    /// A new self-describing hash of `password` with a fresh random salt.
    pub fn hash(&self, password: &Password) -> String {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).expect("the operating system's random source works");
        let hash = derive(password.bytes(), &salt, self.iterations);
        format!(
            "{SCHEME}${}${}${}",
            self.iterations,
            URL_SAFE_NO_PAD.encode(salt),
            URL_SAFE_NO_PAD.encode(hash)
        )
    }

    /// Checks `password` against a stored hash in constant time. A stored string that cannot be read counts as
    /// a wrong password (and costs the same work as a right one).
    pub fn verify(&self, password: &Password, stored: &str) -> Verified {
        self.check(password, stored).0
    }

    /// Verifies, spending at least the current setting's iterations whatever the stored hash holds, so the
    /// time of a login tells nothing about how old an account's hash is; answers the iterations spent.
    fn check(&self, password: &Password, stored: &str) -> (Verified, u32) {
        let Some((iterations, salt, hash)) = parse_stored(stored) else {
            self.waste(password, self.iterations);
            return (Verified::No, self.iterations.get());
        };
        let derived = derive(password.bytes(), &salt, iterations);
        let verified = if bool::from(derived.ct_eq(&hash)) {
            Verified::Yes {
                rehash: iterations < self.iterations,
            }
        } else {
            Verified::No
        };
        // A weaker stored hash verifies faster: spend the difference.
        match NonZeroU32::new(self.iterations.get().saturating_sub(iterations.get())) {
            Some(rest) => {
                self.waste(password, rest);
                (verified, self.iterations.get())
            }
            None => (verified, iterations.get()),
        }
    }

    /// Spends one hash's work, so a login for an unknown user takes as long as one for a known user.
    pub fn waste_one_hash(&self, password: &Password) {
        self.waste(password, self.iterations);
    }

    fn waste(&self, password: &Password, iterations: NonZeroU32) {
        std::hint::black_box(derive(password.bytes(), &[0u8; SALT_LEN], iterations));
    }
}

fn parse_stored(stored: &str) -> Option<(NonZeroU32, Vec<u8>, Vec<u8>)> {
    let mut parts = stored.split('$');
    if parts.next()? != SCHEME {
        return None;
    }
    let iterations = NonZeroU32::new(parts.next()?.parse().ok()?)?;
    if iterations.get() > MAX_ITERATIONS {
        return None;
    }
    let salt = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    let hash = URL_SAFE_NO_PAD.decode(parts.next()?).ok()?;
    if parts.next().is_some() || hash.len() != HASH_LEN || salt.is_empty() {
        return None;
    }
    Some((iterations, salt, hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[test]
    fn passwords_are_8_to_128_characters_and_never_printed() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("ünïcødé!").is_ok());
        assert_eq!(
            format!("{:?}", password("hunter2hunter2")),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        let stored = hasher.hash(&password("correct horse"));
        assert!(stored.starts_with("pbkdf2-sha256$100000$"));
        assert_eq!(stored.split('$').count(), 4);
        assert!(!stored.contains("correct"));
        assert_eq!(
            hasher.verify(&password("correct horse"), &stored),
            Verified::Yes { rehash: false }
        );
        assert_eq!(
            hasher.verify(&password("correct horsf"), &stored),
            Verified::No
        );
        assert_ne!(
            stored,
            hasher.hash(&password("correct horse")),
            "salts differ"
        );
    }

    #[test]
    fn the_derivation_is_standard_pbkdf2_hmac_sha256() {
        // RFC 7914, section 11 (the first 32 bytes of its 64).
        let derived = derive(b"passwd", b"salt", NonZeroU32::new(1).unwrap());
        let hex: String = derived.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
        // A hash stored before this crate changed hands (computed with OpenSSL, through Python's hashlib).
        let stored = "pbkdf2-sha256$100000$AAECAwQFBgcICQoLDA0ODw$yNEi7NuUd81IprF1DFmFwLiwUVjQQNIFF8zbSYZd5DY";
        let hasher = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        assert_eq!(
            hasher.verify(&password("correct horse battery"), stored),
            Verified::Yes { rehash: false }
        );
    }

    #[test]
    fn a_weaker_stored_hash_asks_for_a_rehash() {
        let old = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        let stored = old.hash(&password("correct horse"));
        let current = PasswordHasher::new(MIN_ITERATIONS + 1).unwrap();
        assert_eq!(
            current.verify(&password("correct horse"), &stored),
            Verified::Yes { rehash: true }
        );
    }

    #[test]
    fn unreadable_hashes_never_verify() {
        let hasher = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        for stored in [
            "",
            "plain",
            "pbkdf2-sha256$x$AA$AA",
            "md5$1$AA$AA",
            "pbkdf2-sha256$1000$$",
        ] {
            assert_eq!(
                hasher.verify(&password("whatever1"), stored),
                Verified::No,
                "{stored:?}"
            );
        }
    }

    #[test]
    fn the_work_factor_has_a_floor() {
        assert!(PasswordHasher::new(MIN_ITERATIONS - 1).is_err());
        assert_eq!(
            PasswordHasher::new(DEFAULT_ITERATIONS)
                .unwrap()
                .iterations(),
            600_000
        );
    }

    #[test]
    fn every_verification_spends_the_current_work_factor() {
        let weak = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        let current = PasswordHasher::new(MIN_ITERATIONS + 50_000).unwrap();
        let p = password("correct horse battery");
        let old_hash = weak.hash(&p);
        let new_hash = current.hash(&p);
        let spent = |stored: &str, pw: &Password| current.check(pw, stored).1;
        assert_eq!(
            spent(&old_hash, &p),
            current.iterations(),
            "a weaker hash costs the same"
        );
        assert_eq!(
            spent(&old_hash, &password("wrong password")),
            current.iterations()
        );
        assert_eq!(spent(&new_hash, &p), current.iterations());
        assert_eq!(
            spent("not a hash", &p),
            current.iterations(),
            "an unreadable one too"
        );
        assert_eq!(
            current.check(&p, &old_hash).0,
            Verified::Yes { rehash: true }
        );
    }

    #[test]
    fn work_factors_are_capped() {
        assert!(PasswordHasher::new(MAX_ITERATIONS).is_ok());
        assert!(PasswordHasher::new(MAX_ITERATIONS + 1).is_err());
        let hasher = PasswordHasher::new(MIN_ITERATIONS).unwrap();
        let p = password("correct horse battery");
        let tampered = hasher.hash(&p).replacen("$100000$", "$4000000000$", 1);
        assert!(
            parse_stored(&tampered).is_none(),
            "a stored hash past the cap is unreadable"
        );
        assert_eq!(hasher.check(&p, &tampered), (Verified::No, MIN_ITERATIONS));
    }
}
