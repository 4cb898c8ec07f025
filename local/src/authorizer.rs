//! The authorizer as API Gateway runs it for protected routes: the identity source (`Authorization`), the
//! `REQUEST` event the Lambda authorizer gets, API Gateway's own 401 and 403, and its cache of decisions.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use api::Route;
use auth::authorizer::authorize;
use aws_lambda_events::apigw::{ApiGatewayV2CustomAuthorizerV2Request, ApiGatewayV2httpRequest};
use axum::response::Response as AxumResponse;
use http::StatusCode;
use serde_json::Value;

use crate::answers::gateway_answer;
use crate::Gateway;

/// The decision API Gateway keeps per identity source: the context passed on, or `None` for a refusal.
pub type Decision = Option<HashMap<String, Value>>;

/// API Gateway's authorizer cache, mirrored: the authorizer's decision is kept per identity source (the
/// `Authorization` header) for the stack's TTL, so a token that stops being valid (expired, its user erased)
/// can still pass for up to that long, as on AWS. `AUTHORIZER_CACHE_SECS` sets it (default 30, the stack's
/// `AUTHORIZER_CACHE_SECONDS`; 0 asks the authorizer every time).
///
/// Bounded by bytes, since anyone can send an identity: only a well-formed bearer token of at most
/// [`Self::MAX_IDENTITY_BYTES`] is kept (anything else is asked about every time, and the authorizer refuses it
/// without I/O), and past [`Self::MAX_BYTES`] the expired decisions go, then the oldest.
pub struct AuthorizerCache {
    ttl: Duration,
    decisions: std::sync::Mutex<Kept>,
    /// The clock the ages are read on: the system's, or a test's.
    now: fn() -> Instant,
}

/// The decisions kept, and what they cost in bytes by [`AuthorizerCache::cost`].
#[derive(Default)]
struct Kept {
    by_identity: HashMap<String, (Decision, Instant)>,
    bytes: usize,
}

impl Kept {
    fn remove(&mut self, identity: &str) {
        if let Some((identity, (decision, _))) = self.by_identity.remove_entry(identity) {
            self.bytes -= AuthorizerCache::cost(&identity, &decision);
        }
    }
}

impl AuthorizerCache {
    /// The longest identity kept: a token the service issues is a few hundred bytes.
    pub const MAX_IDENTITY_BYTES: usize = 4 * 1024;
    /// What all kept decisions may take: thousands of live tokens.
    pub const MAX_BYTES: usize = 4 * 1024 * 1024;

    pub fn new(ttl: Duration) -> Self {
        AuthorizerCache {
            ttl,
            decisions: std::sync::Mutex::new(Kept::default()),
            now: Instant::now,
        }
    }

    pub fn get(&self, identity: &str) -> Option<Decision> {
        let decisions = self.lock();
        let (decision, at) = decisions.by_identity.get(identity)?;
        ((self.now)() - *at < self.ttl).then(|| decision.clone())
    }

    pub fn put(&self, identity: &str, decision: Decision) {
        if self.ttl.is_zero() || !Self::keepable(identity) {
            return;
        }
        let now = (self.now)();
        let cost = Self::cost(identity, &decision);
        let mut kept = self.lock();
        kept.remove(identity);
        if kept.bytes + cost > Self::MAX_BYTES {
            let ttl = self.ttl;
            let expired: Vec<String> = kept
                .by_identity
                .iter()
                .filter(|(_, (_, at))| now - *at >= ttl)
                .map(|(identity, _)| identity.clone())
                .collect();
            for identity in expired {
                kept.remove(&identity);
            }
        }
        if kept.bytes + cost > Self::MAX_BYTES {
            let mut by_age: Vec<(Instant, String)> = kept
                .by_identity
                .iter()
                .map(|(identity, (_, at))| (*at, identity.clone()))
                .collect();
            by_age.sort_unstable();
            for (_, identity) in by_age {
                if kept.bytes + cost <= Self::MAX_BYTES {
                    break;
                }
                kept.remove(&identity);
            }
        }
        kept.bytes += cost;
        kept.by_identity
            .insert(identity.to_owned(), (decision, now));
    }

    /// `Bearer ` and a token of base64url characters and dots, short enough to be one the service issued.
    fn keepable(identity: &str) -> bool {
        identity.len() <= Self::MAX_IDENTITY_BYTES
            && identity.strip_prefix("Bearer ").is_some_and(|token| {
                !token.is_empty()
                    && token.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=')
                    })
            })
    }

    /// A decision's bytes: its identity twice (the key and a sweep's copy), its context's text, and a
    /// map entry's overhead.
    fn cost(identity: &str, decision: &Decision) -> usize {
        let context: usize = decision
            .iter()
            .flatten()
            .map(|(name, value)| name.len() + value.to_string().len())
            .sum();
        2 * identity.len() + context + 128
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.decisions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Gateway {
    /// Runs the Lambda authorizer on the request as API Gateway would (a `REQUEST` event whose identity
    /// source is the `Authorization` header) and answers the context it passes on to the integration, or
    /// API Gateway's own refusal: 401 `{"message":"Unauthorized"}` without calling the authorizer when the
    /// identity source is missing or empty, 403 `{"message":"Forbidden"}` when the authorizer says no
    /// (see docs/architecture.md for the AWS documentation this follows).
    pub(crate) async fn authorize(
        &self,
        route: &Route,
        event: &ApiGatewayV2httpRequest,
    ) -> Result<HashMap<String, Value>, AxumResponse> {
        let identity = event
            .headers
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .filter(|value| !value.is_empty());
        let Some(identity) = identity else {
            return Err(gateway_answer(StatusCode::UNAUTHORIZED, "Unauthorized"));
        };
        let decision = match self.authorizer_cache.get(identity) {
            Some(cached) => cached,
            None => {
                let decision = self.ask_authorizer(route, event, identity).await;
                self.authorizer_cache.put(identity, decision.clone());
                decision
            }
        };
        decision.ok_or_else(|| gateway_answer(StatusCode::FORBIDDEN, "Forbidden"))
    }

    /// The authorizer Lambda's decision on the request, called with the `REQUEST` event API Gateway builds.
    async fn ask_authorizer(
        &self,
        route: &Route,
        event: &ApiGatewayV2httpRequest,
        identity: &str,
    ) -> Decision {
        let mut request = ApiGatewayV2CustomAuthorizerV2Request::default();
        request.version = event.version.clone();
        request.type_ = Some("REQUEST".to_owned());
        request.route_arn = Some(format!(
            "arn:aws:execute-api:local:000000000000:local/$default/{}{}",
            route.method, route.template
        ));
        request.identity_source = Some(vec![identity.to_owned()]);
        request.route_key.clone_from(&event.route_key);
        request.raw_path.clone_from(&event.raw_path);
        request.raw_query_string.clone_from(&event.raw_query_string);
        request.headers = event.headers.clone();
        request.query_string_parameters = event
            .query_string_parameters
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        request.request_context = event.request_context.clone();
        request.path_parameters.clone_from(&event.path_parameters);
        let decision = authorize(&request, &self.tokens, self.accounts.as_ref()).await;
        if !decision.is_authorized {
            return None;
        }
        match decision.context {
            Value::Object(fields) => Some(fields.into_iter().collect()),
            _ => Some(HashMap::new()),
        }
    }
}

#[cfg(test)]
mod authorizer_cache_tests {
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
    fn a_decision_is_kept_for_the_ttl_and_none_without_one() {
        let mut cache = AuthorizerCache::new(Duration::from_secs(1));
        cache.now = test_now;
        let allowed: Decision = Some(HashMap::from([("username".to_owned(), Value::from("ada"))]));
        cache.put("Bearer a", allowed.clone());
        cache.put("Bearer b", None);
        assert_eq!(cache.get("Bearer a"), Some(allowed));
        assert_eq!(cache.get("Bearer b"), Some(None), "a refusal is kept too");
        assert_eq!(cache.get("Bearer c"), None);
        MOVED_MS.store(999, Ordering::SeqCst);
        assert!(cache.get("Bearer a").is_some(), "within the TTL");
        MOVED_MS.store(1000, Ordering::SeqCst);
        assert_eq!(
            cache.get("Bearer a"),
            None,
            "past the TTL the authorizer is asked again"
        );
        let uncached = AuthorizerCache::new(Duration::ZERO);
        uncached.put("Bearer a", None);
        assert_eq!(uncached.get("Bearer a"), None);
    }

    #[test]
    fn only_well_formed_tokens_are_kept_and_within_a_byte_budget() {
        let cache = AuthorizerCache::new(Duration::from_secs(60));
        let long = format!("Bearer {}", "a".repeat(AuthorizerCache::MAX_IDENTITY_BYTES));
        for odd in [
            long.as_str(),
            "Basic YWRhOmFkYQ==",
            "Bearer ",
            "Bearer a b",
            "Bearer {x}",
        ] {
            cache.put(odd, None);
            assert_eq!(cache.get(odd), None, "{odd} is asked about every time");
        }
        // 3 KiB tokens: far more than the budget holds. The oldest go; the newest stay.
        let token = |n: usize| format!("Bearer {n:08}{}", "x".repeat(3 * 1024));
        let many = 4 * AuthorizerCache::MAX_BYTES / (3 * 1024);
        for n in 0..many {
            cache.put(&token(n), None);
        }
        let kept = cache.lock();
        assert!(kept.bytes <= AuthorizerCache::MAX_BYTES, "{}", kept.bytes);
        let counted: usize = kept
            .by_identity
            .iter()
            .map(|(identity, (decision, _))| AuthorizerCache::cost(identity, decision))
            .sum();
        assert_eq!(kept.bytes, counted);
        drop(kept);
        assert_eq!(
            cache.get(&token(many - 1)),
            Some(None),
            "the newest is kept"
        );
        assert_eq!(cache.get(&token(0)), None, "the oldest went");
    }
}
