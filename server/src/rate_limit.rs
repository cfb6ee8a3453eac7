//! Per-client request limits on the routes anyone may call without signing in (the Webex
//! sign-in start and callback, Graph's notifications, acknowledgement links): a token bucket per
//! client address (`governor`), IPv6 clients counted by their /64 (one host holds a whole one).
//! Memory is bounded: past `max_clients`, the client seen longest ago is forgotten. Beyond its
//! rate a client gets 429 with `Retry-After` and a sentence saying when to try again.

use crate::client_addr::ClientAddr;
use crate::page::problem;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use lru::LruCache;
use std::net::{IpAddr, Ipv6Addr};
use std::num::{NonZeroU32, NonZeroUsize};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use switchboard::sync::lock;

/// A route's allowance per client.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Requests at once…
    pub burst: NonZeroU32,
    /// …and how many more each minute.
    pub per_minute: NonZeroU32,
    /// Clients remembered.
    pub max_clients: NonZeroUsize,
}

pub struct ClientLimiter {
    quota: Quota,
    clock: DefaultClock,
    clients: Mutex<LruCache<IpAddr, DefaultDirectRateLimiter>>,
}

impl ClientLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            quota: Quota::per_minute(rate.per_minute).allow_burst(rate.burst),
            clock: DefaultClock::default(),
            clients: Mutex::new(LruCache::new(rate.max_clients)),
        }
    }

    /// `Ok` when `client` may go on; else how long until it may.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let mut clients = lock(&self.clients);
        let bucket = clients.get_or_insert(bucket_of(client), || RateLimiter::direct_with_clock(self.quota, self.clock.clone()));
        bucket.check().map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }

    /// Clients remembered now (for tests of the bound).
    pub fn tracked(&self) -> usize {
        lock(&self.clients).len()
    }
}

/// The key a client counts under: its IPv4 address, or its IPv6 /64.
fn bucket_of(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u64::MAX as u128))),
        v4 => v4,
    }
}

/// The layer on each unauthenticated route.
pub async fn limit(State(limiter): State<Arc<ClientLimiter>>, req: Request, next: Next) -> Response {
    match limiter.check(ClientAddr::of(req.extensions()).0) {
        Ok(()) => next.run(req).await,
        Err(wait) => too_many(wait),
    }
}

fn too_many(wait: Duration) -> Response {
    let secs = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut res = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many requests",
        &format!("Too many requests from your address. Wait {secs} seconds and try again."),
    );
    res.headers_mut().insert(header::RETRY_AFTER, secs.into());
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, clients: usize) -> ClientLimiter {
        ClientLimiter::new(Rate {
            burst: NonZeroU32::new(burst).unwrap(),
            per_minute: NonZeroU32::new(60).unwrap(),
            max_clients: NonZeroUsize::new(clients).unwrap(),
        })
    }

    #[test]
    fn a_client_beyond_its_burst_is_told_how_long_to_wait_and_others_are_not_affected() {
        let l = limiter(5, 100);
        let a: IpAddr = "203.0.113.9".parse().unwrap();
        assert!((0..5).all(|_| l.check(a).is_ok()));
        let wait = l.check(a).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1), "one more each second: {wait:?}");
        assert!(l.check("203.0.113.10".parse().unwrap()).is_ok(), "another client has its own bucket");
    }

    #[test]
    fn ipv6_clients_count_by_their_slash_64() {
        let l = limiter(2, 100);
        assert!(l.check("2001:db8:1:2::1".parse().unwrap()).is_ok());
        assert!(l.check("2001:db8:1:2::ffff".parse().unwrap()).is_ok());
        assert!(l.check("2001:db8:1:2:abcd::9".parse().unwrap()).is_err(), "same /64");
        assert!(l.check("2001:db8:1:3::1".parse().unwrap()).is_ok(), "another /64");
    }

    #[test]
    fn many_clients_do_not_grow_memory_past_the_bound() {
        let l = limiter(1, 100);
        for i in 0..10_000u32 {
            let _ = l.check(IpAddr::V4(i.into()));
        }
        assert_eq!(l.tracked(), 100);
    }

    #[test]
    fn a_limited_answer_is_429_with_retry_after_in_whole_seconds_and_a_sentence() {
        let res = too_many(Duration::from_millis(1500));
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
    }
}
