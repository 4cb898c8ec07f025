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
    /// The clock the ages are read on: the system's, or a test's.
    now: fn() -> Instant,
}

impl KeyCache {
    /// The longest an unwrapped key is kept.
    pub const LONGEST: Duration = Duration::from_secs(60);

    /// A cache that keeps keys for `ttl`, at most [`KeyCache::LONGEST`].
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl: ttl.min(Self::LONGEST),
            keys: Mutex::new(HashMap::new()),
            now: Instant::now,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// `owner`'s key, if it was unwrapped less than the time to live ago.
    pub fn get(&self, owner: &str) -> Option<Arc<DataKey>> {
        let mut keys = self.lock();
        match keys.get(owner) {
            Some((key, since)) if (self.now)() - *since < self.ttl => Some(Arc::clone(key)),
            Some(_) => {
                keys.remove(owner);
                None
            }
            None => None,
        }
    }

    /// Keeps `owner`'s freshly unwrapped key.
    pub fn put(&self, owner: &str, key: Arc<DataKey>) {
        let now = (self.now)();
        self.lock().insert(owner.to_owned(), (key, now));
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
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    use super::*;

    /// The test's clock: a fixed start plus the milliseconds the test moves it by.
    static MOVED_MS: AtomicU64 = AtomicU64::new(0);

    fn test_now() -> Instant {
        static START: OnceLock<Instant> = OnceLock::new();
        *START.get_or_init(Instant::now) + Duration::from_millis(MOVED_MS.load(Ordering::SeqCst))
    }

    #[test]
    fn a_key_is_kept_until_its_time_to_live_has_passed() {
        let mut cache = KeyCache::new(Duration::from_millis(50));
        cache.now = test_now;
        cache.put("alice", Arc::new(DataKey::generate().unwrap()));
        MOVED_MS.store(49, Ordering::SeqCst);
        assert!(cache.get("alice").is_some());
        assert!(cache.get("bob").is_none());
        MOVED_MS.store(50, Ordering::SeqCst);
        assert!(cache.get("alice").is_none(), "expired");
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
