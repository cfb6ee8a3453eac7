//! Logins under way, between the redirect to Webex and its callback. They live in memory, not
//! in the session table: an anonymous `GET /auth/webex` must not write a row per hit. The store
//! is bounded (when full, the oldest login is dropped) and short-lived (a login older than its
//! lifetime is gone), so a flood of starts costs a fixed amount of memory and nothing on disk.

use super::oauth::PendingLogin;
use crate::sync::lock;
use lru::LruCache;
use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::Duration;
use time::OffsetDateTime;

pub struct PendingLogins {
    /// Keyed by the login's `state`. Only ever inserted and taken (never read in place), so the
    /// least recently used entry is the oldest one.
    logins: Mutex<LruCache<String, PendingLogin>>,
    lifetime: Duration,
}

impl PendingLogins {
    pub fn new(capacity: NonZeroUsize, lifetime: Duration) -> Self {
        Self { logins: Mutex::new(LruCache::new(capacity)), lifetime }
    }

    /// Remembers a login until its callback (or until it ages out or is pushed out).
    pub fn insert(&self, login: PendingLogin, now: OffsetDateTime) {
        let mut logins = lock(&self.logins);
        // Expired logins at the old end go first, so a quiet server holds nothing for long.
        while logins.peek_lru().is_some_and(|(_, p)| self.expired(p, now)) {
            logins.pop_lru();
        }
        logins.put(login.state.clone(), login);
    }

    /// The login started with `state`, used up: a second callback finds nothing. `None` when it
    /// was never started here, was already used, aged out or was pushed out.
    pub fn take(&self, state: &str, now: OffsetDateTime) -> Option<PendingLogin> {
        lock(&self.logins).pop(state).filter(|p| !self.expired(p, now))
    }

    /// Logins held now (for tests of the bound).
    pub fn len(&self) -> usize {
        lock(&self.logins).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn expired(&self, p: &PendingLogin, now: OffsetDateTime) -> bool {
        now.unix_timestamp() - p.started >= self.lifetime.as_secs() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::webex::LoginKind;

    fn login(state: &str, started: OffsetDateTime) -> PendingLogin {
        PendingLogin {
            kind: LoginKind::SignIn,
            state: state.into(),
            verifier: "v".into(),
            started: started.unix_timestamp(),
            next: "/".into(),
            by: None,
        }
    }

    fn store(capacity: usize) -> PendingLogins {
        PendingLogins::new(NonZeroUsize::new(capacity).unwrap(), Duration::from_secs(600))
    }

    #[test]
    fn a_pending_login_is_taken_once() {
        let s = store(10);
        let now = OffsetDateTime::now_utc();
        s.insert(login("a", now), now);
        assert_eq!(s.take("a", now).map(|p| p.state), Some("a".to_string()));
        assert!(s.take("a", now).is_none(), "used up");
        assert!(s.take("never-started", now).is_none());
    }

    #[test]
    fn a_flood_of_starts_keeps_at_most_the_capacity_dropping_the_oldest() {
        let s = store(100);
        let now = OffsetDateTime::now_utc();
        for i in 0..10_000 {
            s.insert(login(&format!("s{i}"), now), now);
        }
        assert_eq!(s.len(), 100);
        assert!(s.take("s0", now).is_none(), "the oldest was dropped");
        assert!(s.take("s9999", now).is_some(), "the newest is kept");
    }

    #[test]
    fn a_login_older_than_its_lifetime_is_gone_and_expired_ones_are_dropped_on_insert() {
        let s = store(100);
        let t0 = OffsetDateTime::now_utc();
        s.insert(login("old", t0), t0);
        s.insert(login("older-too", t0), t0);
        let later = t0 + time::Duration::seconds(601);
        assert!(s.take("old", later).is_none(), "too old");
        s.insert(login("fresh", later), later);
        assert_eq!(s.len(), 1, "the expired one was dropped when a new one came");
        assert!(s.take("fresh", later + time::Duration::seconds(599)).is_some());
    }
}
