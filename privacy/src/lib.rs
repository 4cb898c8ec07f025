//! Crypto-shredding, the building blocks (issue 17): a personal field is sealed with AES-256-GCM under its
//! owner's data key ([`DataKey::seal`]), bound to the event and field it belongs to; data keys are kept only
//! wrapped under a key-encryption key ([`KeyEncryptionKey`]: [`LocalKek`], a key file; `aws_clients::KmsKek` on AWS); unwrapped
//! keys live at most a minute in a [`KeyCache`]. Destroying a user's wrapped key makes every field sealed
//! under it unreadable for good, while the events around those fields stay in the log.
//!
//! [`SealingStore`] puts them to work: it wraps the event store, seals the personal fields of what is appended
//! and opens what is loaded, so handlers, the projector, replay and the export see clear text (or
//! `"[erased]"`) while the table, its stream and the event bus hold only ciphertext.

mod cache;
mod kek;
mod sealed;
mod store;

pub use cache::KeyCache;
pub use kek::{KeyEncryptionKey, LocalKek, WrappedKey};
pub use sealed::{DataKey, SealContext, Sealed};
pub use store::{seal, seal_keeping_keys, SealedStores, SealingStore};

/// What can go wrong sealing, opening, wrapping or unwrapping.
#[derive(Debug, thiserror::Error)]
pub enum PrivacyError {
    /// The value was not sealed under this key, for this event and field, or it was altered.
    #[error("the sealed value does not open with this key for this event and field")]
    Unopenable,
    /// Not a sealed value or wrapped key this crate wrote.
    #[error("malformed {0}")]
    Malformed(&'static str),
    /// The wrapped key names another key-encryption key than the one asked to unwrap it.
    #[error("the data key was wrapped by key-encryption key {wrapped_by}, not {asked}")]
    OtherKek { wrapped_by: String, asked: String },
    /// The key-encryption key could not be read, created or used.
    #[error("key-encryption key unavailable: {0}")]
    KekUnavailable(String),
    /// The system's random source failed.
    #[error("no random source")]
    NoRandomness,
}
