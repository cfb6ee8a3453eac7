//! Limits password guessing. Every attempt is counted when it starts, before the (slow) password
//! check, so attempts sent in parallel cannot slip past the limit. Three keys:
//! - the user name from one address: after `max_failures` in `window`, refused until the oldest
//!   ages out;
//! - the address alone (guessing many names): refused after `4 × max_failures`;
//! - the user name alone, from every address: never refused (that would let anyone lock `admin`
//!   out), but each attempt beyond `max_failures` waits longer (250 ms doubling, at most 8 s).
//!
//! A successful sign-in forgets that user's and that pair's attempts.

use crate::sync::lock;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitDecision {
    Allowed,
    /// Allowed after waiting this long (the name is being guessed from elsewhere).
    Delay(Duration),
    /// Refused; the caller may try again after this long.
    Limited {
        retry_after: Duration,
    },
}

/// Keys beyond this many (a spray of invented names or addresses) are pruned; if still beyond,
/// the oldest half is dropped rather than growing without end.
const MAX_KEYS: usize = 10_000;
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);

#[derive(Default)]
struct Attempts {
    pairs: HashMap<(String, String), VecDeque<Instant>>,
    addrs: HashMap<String, VecDeque<Instant>>,
    users: HashMap<String, VecDeque<Instant>>,
}

pub struct LoginLimiter {
    max_failures: usize,
    window: Duration,
    attempts: Mutex<Attempts>,
}

fn user_key(user: &str) -> String {
    user.trim().to_lowercase()
}

/// Drops what aged out of the window and returns how many attempts remain (and the oldest).
fn live(q: &mut VecDeque<Instant>, now: Instant, window: Duration) -> (usize, Option<Instant>) {
    while q.front().is_some_and(|t| now.duration_since(*t) >= window) {
        q.pop_front();
    }
    (q.len(), q.front().copied())
}

fn bound<K: Eq + std::hash::Hash + Clone>(map: &mut HashMap<K, VecDeque<Instant>>, now: Instant, window: Duration) {
    if map.len() <= MAX_KEYS {
        return;
    }
    map.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
    if map.len() > MAX_KEYS {
        let mut by_age: Vec<(K, Instant)> = map.iter().filter_map(|(k, q)| q.back().map(|t| (k.clone(), *t))).collect();
        by_age.sort_by_key(|(_, t)| *t);
        for (k, _) in by_age.into_iter().take(map.len() / 2) {
            map.remove(&k);
        }
    }
}

impl LoginLimiter {
    pub fn new(max_failures: usize, window: Duration) -> Self {
        Self { max_failures: max_failures.max(1), window, attempts: Mutex::new(Attempts::default()) }
    }

    /// Called before the password is checked; counts the attempt unless it is refused.
    pub fn begin(&self, user: &str, addr: &str) -> LimitDecision {
        self.begin_at(user, addr, Instant::now())
    }

    pub fn begin_at(&self, user: &str, addr: &str, now: Instant) -> LimitDecision {
        let (w, max) = (self.window, self.max_failures);
        let mut a = lock(&self.attempts);
        let pair = (user_key(user), addr.to_string());
        let wait =
            |oldest: Option<Instant>| oldest.map(|t| w.saturating_sub(now.duration_since(t))).unwrap_or(w).max(Duration::from_secs(1));
        if let Some(q) = a.pairs.get_mut(&pair) {
            let (n, oldest) = live(q, now, w);
            if n >= max {
                return LimitDecision::Limited { retry_after: wait(oldest) };
            }
        }
        if let Some(q) = a.addrs.get_mut(addr) {
            let (n, oldest) = live(q, now, w);
            if n >= 4 * max {
                return LimitDecision::Limited { retry_after: wait(oldest) };
            }
        }
        let earlier = a.users.get_mut(&pair.0).map(|q| live(q, now, w).0).unwrap_or(0);
        a.pairs.entry(pair.clone()).or_default().push_back(now);
        a.addrs.entry(addr.to_string()).or_default().push_back(now);
        a.users.entry(pair.0).or_default().push_back(now);
        bound(&mut a.pairs, now, w);
        bound(&mut a.addrs, now, w);
        bound(&mut a.users, now, w);
        if earlier >= max {
            let doublings = (earlier - max).min(10) as u32;
            LimitDecision::Delay((FIRST_DELAY * 2u32.pow(doublings)).min(MAX_DELAY))
        } else {
            LimitDecision::Allowed
        }
    }

    /// A successful sign-in: this user's attempts (from anywhere) and this pair's are forgotten;
    /// the address keeps its count, so one right password does not reset a guesser.
    pub fn success(&self, user: &str, addr: &str) {
        let mut a = lock(&self.attempts);
        let key = user_key(user);
        a.pairs.remove(&(key.clone(), addr.to_string()));
        a.users.remove(&key);
        if let Some(q) = a.addrs.get_mut(addr) {
            q.pop_back();
        }
    }

    /// Keys held, for tests of the memory bound.
    #[cfg(test)]
    pub fn tracked_keys(&self) -> usize {
        let a = lock(&self.attempts);
        a.pairs.len() + a.addrs.len() + a.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limited(d: LimitDecision) -> bool {
        matches!(d, LimitDecision::Limited { .. })
    }

    #[test]
    fn attempts_count_when_they_start_so_forty_at_once_let_only_five_through() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        let through = (0..40).filter(|_| !limited(l.begin_at("admin", "10.0.0.1", t0))).count();
        assert_eq!(through, 5);
        match l.begin_at("ADMIN", "10.0.0.1", t0 + Duration::from_secs(10)) {
            LimitDecision::Limited { retry_after } => assert_eq!(retry_after, Duration::from_secs(50)),
            other => panic!("expected a limit, got {other:?}"),
        }
        assert!(!limited(l.begin_at("admin", "10.0.0.1", t0 + Duration::from_secs(61))), "the window passed");
    }

    #[test]
    fn guessing_admin_from_one_address_does_not_lock_admin_out_elsewhere_but_slows_it() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..5 {
            l.begin_at("admin", "203.0.113.9", t0);
        }
        assert!(limited(l.begin_at("admin", "203.0.113.9", t0)));
        assert_eq!(
            l.begin_at("admin", "10.0.0.7", t0),
            LimitDecision::Delay(Duration::from_millis(250)),
            "another address gets in, slowly"
        );
        assert_eq!(l.begin_at("admin", "10.0.0.8", t0), LimitDecision::Delay(Duration::from_millis(500)), "the delay grows");
        l.success("admin", "10.0.0.8");
        assert_eq!(l.begin_at("admin", "10.0.0.8", t0), LimitDecision::Allowed, "a right password ends the slow-down");
    }

    #[test]
    fn one_address_guessing_many_names_is_refused_after_four_times_the_limit() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..20 {
            assert!(!limited(l.begin_at(&format!("user{i}"), "10.0.0.2", t0)), "attempt {i}");
        }
        assert!(limited(l.begin_at("someone-else", "10.0.0.2", t0)));
        assert_eq!(l.begin_at("someone-else", "10.0.0.3", t0), LimitDecision::Allowed);
    }

    #[test]
    fn invented_names_and_addresses_do_not_grow_memory_without_end() {
        let l = LoginLimiter::new(5, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..25_000 {
            l.begin_at(&format!("n{i}"), &format!("10.{}.{}.{}", i / 65536, (i / 256) % 256, i % 256), t0);
        }
        assert!(l.tracked_keys() <= 3 * MAX_KEYS, "{}", l.tracked_keys());
    }
}
