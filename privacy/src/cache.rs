//! Unwrapped data keys, kept for a short while: unwrapping is a KMS call on AWS, and a request that reads a
//! user's events opens many fields under one key. The time a key is kept is also the longest a warm function
//! can still open an erased user's fields after their wrapped key is destroyed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::DataKey;

/// Unwrapped data keys by owner, each kept at most [`KeyCache::ttl`] after it was unwrapped.
pub struct KeyCache {
    ttl: Duration,
    keys: Mutex<HashMap<String, (Arc<DataKey>, Instant)>>,
}

impl KeyCache {
    /// The longest an unwrapped key is kept.
    pub const LONGEST: Duration = Duration::from_secs(60);

    /// A cache that keeps keys for `ttl`, at most [`KeyCache::LONGEST`].
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl: ttl.min(Self::LONGEST),
            keys: Mutex::new(HashMap::new()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// `owner`'s key, if it was unwrapped less than the time to live ago.
    pub fn get(&self, owner: &str) -> Option<Arc<DataKey>> {
        let mut keys = self.lock();
        match keys.get(owner) {
            Some((key, since)) if since.elapsed() < self.ttl => Some(Arc::clone(key)),
            Some(_) => {
                keys.remove(owner);
                None
            }
            None => None,
        }
    }

    /// Keeps `owner`'s freshly unwrapped key.
    pub fn put(&self, owner: &str, key: Arc<DataKey>) {
        self.lock().insert(owner.to_owned(), (key, Instant::now()));
    }

    /// Drops `owner`'s key now (their erasure, in the process that carries it out).
    pub fn forget(&self, owner: &str) {
        self.lock().remove(owner);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<DataKey>, Instant)>> {
        self.keys
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        KeyCache::new(Self::LONGEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_kept_for_its_time_to_live_and_no_longer() {
        let kept = KeyCache::new(Duration::from_secs(60));
        kept.put("alice", Arc::new(DataKey::generate().unwrap()));
        assert!(kept.get("alice").is_some());
        assert!(kept.get("bob").is_none());
        // A key's age is never below zero: with no time to live, it is expired as soon as it is kept.
        let expired = KeyCache::new(Duration::ZERO);
        expired.put("alice", Arc::new(DataKey::generate().unwrap()));
        assert!(expired.get("alice").is_none(), "expired");
    }

    #[test]
    fn a_forgotten_key_is_gone_at_once() {
        let cache = KeyCache::default();
        cache.put("alice", Arc::new(DataKey::generate().unwrap()));
        cache.forget("alice");
        assert!(cache.get("alice").is_none());
    }

    #[test]
    fn no_key_is_kept_longer_than_a_minute() {
        assert_eq!(
            KeyCache::new(Duration::from_secs(3600)).ttl(),
            KeyCache::LONGEST
        );
    }
}
