//! Limits password guessing: after `max_failures` failed logins for one user name or one client
//! address within `window`, further attempts are refused until the oldest failure ages out.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitDecision {
    Allowed,
    /// Refused; the caller may try again after this long.
    Limited { retry_after: Duration },
}

pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self { max_failures: max_failures.max(1), window, failures: Mutex::new(HashMap::new()) }
    }

    fn keys(user: &str, addr: &str) -> [String; 2] {
        [format!("user:{}", user.trim().to_lowercase()), format!("addr:{addr}")]
    }

    /// Whether an attempt for this user from this address may be checked at all.
    pub fn check(&self, user: &str, addr: &str) -> LimitDecision {
        self.check_at(user, addr, Instant::now())
    }

    pub fn check_at(&self, user: &str, addr: &str, now: Instant) -> LimitDecision {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for key in Self::keys(user, addr) {
            if let Some(q) = map.get_mut(&key) {
                while q.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    q.pop_front();
                }
                if q.len() >= self.max_failures {
                    if let Some(oldest) = q.front() {
                        wait = wait.max(self.window.saturating_sub(now.duration_since(*oldest)));
                    }
                }
            }
        }
        if wait.is_zero() {
            LimitDecision::Allowed
        } else {
            LimitDecision::Limited { retry_after: wait.max(Duration::from_secs(1)) }
        }
    }

    pub fn record_failure(&self, user: &str, addr: &str) {
        self.record_failure_at(user, addr, Instant::now())
    }

    pub fn record_failure_at(&self, user: &str, addr: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in Self::keys(user, addr) {
            map.entry(key).or_default().push_back(now);
        }
        // Keep memory bounded under a spray of random user names.
        if map.len() > 10_000 {
            map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
    }

    /// A successful login forgets the failures for that user (not for the address).
    pub fn record_success(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&format!("user:{}", user.trim().to_lowercase()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_within_a_minute_block_the_user_until_the_window_passes() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..5 {
            assert_eq!(l.check_at("ann", "10.0.0.1", t0), LimitDecision::Allowed, "attempt {i}");
            l.record_failure_at("ann", "10.0.0.1", t0);
        }
        match l.check_at("ANN", "10.0.0.9", t0 + Duration::from_secs(10)) {
            LimitDecision::Limited { retry_after } => assert_eq!(retry_after, Duration::from_secs(50)),
            other => panic!("expected limit, got {other:?}"),
        }
        assert_eq!(l.check_at("ann", "10.0.0.9", t0 + Duration::from_secs(61)), LimitDecision::Allowed);
    }

    #[test]
    fn one_address_guessing_many_users_is_blocked_too() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..5 {
            l.record_failure_at(&format!("user{i}"), "10.0.0.2", t0);
        }
        assert!(matches!(l.check_at("someone-else", "10.0.0.2", t0), LimitDecision::Limited { .. }));
        assert_eq!(l.check_at("someone-else", "10.0.0.3", t0), LimitDecision::Allowed);
    }

    #[test]
    fn success_clears_the_users_failures() {
        let l = LoginLimiter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        l.record_failure_at("bob", "a", t0);
        l.record_success("bob");
        l.record_failure_at("bob", "b", t0);
        assert_eq!(l.check_at("bob", "c", t0), LimitDecision::Allowed);
    }
}
