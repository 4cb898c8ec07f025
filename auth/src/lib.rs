//! Authentication: PBKDF2 password hashes, HS256 tokens signed with keys from Secrets Manager (or a local
//! secret), and the API Gateway Lambda authorizer that checks them.

pub mod authorizer;
pub mod feed_tokens;
pub mod jwt;
pub mod keys;
pub mod passwords;
pub mod tokens;

pub use keys::{KeyError, SigningKey, SigningKeys, StaticKeys};
pub use passwords::{Password, PasswordHasher, Verified};
pub use tokens::{AuthError, IssuedToken, Tokens};
