//! API Gateway's per-route throttles, mirrored: a route with its own (`x-throttle` in docs/openapi.json, which
//! the Pulumi program sets as the stage's route setting) gets a token bucket, `rate` tokens a second up to
//! `burst`, for all callers together; a request that finds it empty is answered 429 `{"message": "Too Many
//! Requests"}` before its function runs, as API Gateway answers. The stage's default throttle is not
//! mirrored: one machine is its own limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    refilled: Instant,
}

/// The buckets of the routes that have a throttle, by route key.
pub struct Throttles(HashMap<String, Mutex<Bucket>>);

impl Throttles {
    /// The throttles `openapi` (the document's text) declares, each bucket full at `now`.
    pub fn from_openapi(openapi: &str, now: Instant) -> Self {
        let document: serde_json::Value = serde_json::from_str(openapi).unwrap_or_default();
        let mut buckets = HashMap::new();
        let paths = document["paths"].as_object().into_iter().flatten();
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                let limit = &operation["x-throttle"];
                if let (Some(rate), Some(burst)) = (limit["rate"].as_f64(), limit["burst"].as_f64())
                {
                    let bucket = Bucket {
                        rate,
                        burst,
                        tokens: burst,
                        refilled: now,
                    };
                    let key = format!("{} {path}", method.to_uppercase());
                    buckets.insert(key, Mutex::new(bucket));
                }
            }
        }
        Throttles(buckets)
    }

    /// Whether a request of `route_key` at `now` may go on (and takes a token if the route has a bucket).
    pub fn admit(&self, route_key: &str, now: Instant) -> bool {
        let Some(bucket) = self.0.get(route_key) else {
            return true;
        };
        let mut bucket = bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * bucket.rate).min(bucket.burst);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_calendar_feed_takes_its_burst_then_its_rate() {
        let start = Instant::now();
        let throttles = Throttles::from_openapi(crate::OPENAPI, start);
        let feed = "GET /calendar/{feed}";
        let admitted = (0..100).filter(|_| throttles.admit(feed, start)).count();
        assert_eq!(admitted, 40, "the burst");
        assert!(!throttles.admit(feed, start + Duration::from_millis(10)));
        assert!(
            throttles.admit(feed, start + Duration::from_millis(60)),
            "20 a second"
        );
        assert!(!throttles.admit(feed, start + Duration::from_millis(61)));
        assert!(
            (0..1000).all(|_| throttles.admit("GET /debts/{debt_id}", start)),
            "a route without its own throttle is not throttled here"
        );
    }
}
