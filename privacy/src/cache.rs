//! Unwrapped data keys, kept for a short while: unwrapping is a KMS call on AWS, and a request that reads a
//! user's events opens many fields under one key. The time a key is kept is also the longest a warm function
//! can still open an erased user's fields after their wrapped key is destroyed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::DataKey;

/// Unwrapped data keys by owner, each kept at most [`KeyCache::ttl`] after it was unwrapped: expired ones are
/// dropped (and zeroed) on the next call of any kind, not only when their owner is read again.
pub struct KeyCache {
    ttl: Duration,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    keys: HashMap<String, (Arc<DataKey>, Instant)>,
    /// When each owner's key was last forgotten (their erasure), for [`KeyCache::LONGEST`]: a key unwrapped
    /// before that moment is never kept, however late its unwrap returns.
    forgotten: HashMap<String, Instant>,
}

impl Kept {
    /// Drops every key past `ttl` and every forgetting older than any unwrap that could still be running.
    fn sweep(&mut self, ttl: Duration) {
        self.keys.retain(|_, (_, since)| since.elapsed() < ttl);
        self.forgotten
            .retain(|_, at| at.elapsed() < KeyCache::LONGEST);
    }
}

impl KeyCache {
    /// The longest an unwrapped key is kept.
    pub const LONGEST: Duration = Duration::from_secs(60);

    /// A cache that keeps keys for `ttl`, at most [`KeyCache::LONGEST`].
    pub fn new(ttl: Duration) -> Self {
        KeyCache {
            ttl: ttl.min(Self::LONGEST),
            kept: Mutex::new(Kept::default()),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// `owner`'s key, if it was unwrapped less than the time to live ago.
    pub fn get(&self, owner: &str) -> Option<Arc<DataKey>> {
        let mut kept = self.lock();
        kept.sweep(self.ttl);
        kept.keys.get(owner).map(|(key, _)| Arc::clone(key))
    }

    /// Keeps `owner`'s key, unwrapped (or made) by a call that started at `asked`: unless their key was
    /// forgotten since, when this unwrap may have raced their erasure and lost.
    pub fn put(&self, owner: &str, key: Arc<DataKey>, asked: Instant) {
        let mut kept = self.lock();
        kept.sweep(self.ttl);
        if kept.forgotten.get(owner).is_some_and(|at| *at >= asked) {
            return;
        }
        kept.keys.insert(owner.to_owned(), (key, asked));
    }

    /// Drops `owner`'s key now (their erasure, in the process that carries it out or learns of it), and any
    /// unwrap of it already under way.
    pub fn forget(&self, owner: &str) {
        let mut kept = self.lock();
        kept.keys.remove(owner);
        kept.forgotten.insert(owner.to_owned(), Instant::now());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept
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
        kept.put(
            "alice",
            Arc::new(DataKey::generate().unwrap()),
            Instant::now(),
        );
        assert!(kept.get("alice").is_some());
        assert!(kept.get("bob").is_none());
        // A key's age is never below zero: with no time to live, it is expired as soon as it is kept.
        let expired = KeyCache::new(Duration::ZERO);
        expired.put(
            "alice",
            Arc::new(DataKey::generate().unwrap()),
            Instant::now(),
        );
        assert!(expired.get("alice").is_none(), "expired");
    }

    #[test]
    fn a_forgotten_key_is_gone_at_once() {
        let cache = KeyCache::default();
        cache.put(
            "alice",
            Arc::new(DataKey::generate().unwrap()),
            Instant::now(),
        );
        cache.forget("alice");
        assert!(cache.get("alice").is_none());
    }

    /// Finding 13 of issue 30: an unwrap that started before the erasure's `forget` and returns after it
    /// keeps nothing (it re-cached the erased user's key for a minute); one that starts after it does.
    #[test]
    fn a_forget_wins_over_an_unwrap_already_under_way() {
        let cache = KeyCache::default();
        let asked = Instant::now();
        cache.forget("alice");
        cache.put("alice", Arc::new(DataKey::generate().unwrap()), asked);
        assert!(cache.get("alice").is_none(), "the late unwrap is not kept");
        std::thread::sleep(Duration::from_millis(2));
        cache.put(
            "alice",
            Arc::new(DataKey::generate().unwrap()),
            Instant::now(),
        );
        assert!(cache.get("alice").is_some(), "a later one is");
    }

    /// An expired key is dropped (and so zeroed) on the next call for anyone, not when its owner is read
    /// again (it stayed in memory until then).
    #[test]
    fn an_expired_key_is_dropped_by_any_call() {
        let cache = KeyCache::new(Duration::from_millis(10));
        let key = Arc::new(DataKey::generate().unwrap());
        let held = Arc::downgrade(&key);
        cache.put("alice", key, Instant::now());
        std::thread::sleep(Duration::from_millis(20));
        assert!(cache.get("bob").is_none());
        assert!(held.upgrade().is_none(), "alice's key is gone from memory");
    }

    #[test]
    fn no_key_is_kept_longer_than_a_minute() {
        assert_eq!(
            KeyCache::new(Duration::from_secs(3600)).ttl(),
            KeyCache::LONGEST
        );
    }
}
