//! One simulated Call Bridge: its fault switches, its request log, its own database of calls and
//! legs, and the outbox of CDRs it has still to send.

use super::db::NodeDb;
use super::{cdr, lock};
pub use crate::sim::request_log::LoggedRequest;
use crate::sim::request_log::RequestLog;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Fault injection, per node, changeable while running.
#[derive(Debug, Default)]
pub struct Faults {
    latency_ms: AtomicU64,
    /// Per-million chance of each kind.
    error_ppm: AtomicU64,
    drop_ppm: AtomicU64,
    /// Chance that a CDR batch's 200 is "not seen", so CMS sends the batch again.
    lost_ack_ppm: AtomicU64,
    /// Chance that a page with rows after it comes back shorter than its `limit` (never the
    /// first page: a client must cope with a short page in the middle of a list).
    short_page_ppm: AtomicU64,
    /// Every API request fails with 503 while set (the node is "down").
    down: AtomicU64,
    /// The next N API requests fail with 503 / lose their connection (deterministic faults).
    fail_next: AtomicU64,
    drop_next: AtomicU64,
    /// The chances above drawn from these generators once seeded (repeatable runs), one per
    /// kind so that CDR traffic does not shift the API's faults; the thread's generator until then.
    seeded: Mutex<Option<[StdRng; 4]>>,
}

impl Faults {
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms.store(d.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn set_error_rate(&self, rate: f64) {
        self.error_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_drop_rate(&self, rate: f64) {
        self.drop_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_lost_ack_rate(&self, rate: f64) {
        self.lost_ack_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    /// 1.0: every page but the first and the last is short.
    pub fn set_short_page_rate(&self, rate: f64) {
        self.short_page_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_down(&self, down: bool) {
        self.down.store(down as u64, Ordering::Relaxed);
    }
    pub fn fail_next(&self, n: u64) {
        self.fail_next.store(n, Ordering::Relaxed);
    }
    pub fn drop_next(&self, n: u64) {
        self.drop_next.store(n, Ordering::Relaxed);
    }
    /// Draws the chances from a generator seeded with `seed`: the same seed and the same
    /// requests meet the same faults.
    pub fn seed(&self, seed: u64) {
        let kind = |k: u64| StdRng::seed_from_u64(seed.wrapping_mul(4).wrapping_add(k));
        *lock(&self.seeded) = Some([kind(0), kind(1), kind(2), kind(3)]);
    }
    fn take(counter: &AtomicU64) -> bool {
        counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    }
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }
    fn roll(&self, ppm: &AtomicU64, kind: usize) -> bool {
        let p = ppm.load(Ordering::Relaxed);
        if p == 0 {
            return false;
        }
        let draw = match lock(&self.seeded).as_mut() {
            Some(rngs) => rngs[kind].gen_range(0..1_000_000),
            None => rand::thread_rng().gen_range(0..1_000_000),
        };
        draw < p
    }
    pub fn should_error(&self) -> bool {
        let down = self.down.load(Ordering::Relaxed) == 1;
        down || Self::take(&self.fail_next) || self.rolled(&self.error_ppm, 0, "503 Service Unavailable")
    }
    pub fn should_drop(&self) -> bool {
        Self::take(&self.drop_next) || self.rolled(&self.drop_ppm, 1, "connection dropped")
    }
    pub fn should_short_page(&self) -> bool {
        self.rolled(&self.short_page_ppm, 2, "a short page")
    }
    pub fn should_lose_ack(&self) -> bool {
        self.rolled(&self.lost_ack_ppm, 3, "a CDR batch's 200 not seen (the batch comes again)")
    }
    /// A chance drawn; a fault met is logged, so that a demo shows what Switchboard rode through.
    fn rolled(&self, ppm: &AtomicU64, kind: usize, what: &str) -> bool {
        let hit = self.roll(ppm, kind);
        if hit {
            tracing::info!(fault = what, "CMS simulator fault");
        }
        hit
    }
}

pub struct Node {
    pub index: usize,
    pub name: String,
    /// The Call Bridge GUID (`callBridge` in CDRs and participants).
    pub bridge_id: String,
    pub(super) db: Mutex<NodeDb>,
    pub(super) outbox: Mutex<cdr::Outbox>,
    pub(super) cdr_wake: Notify,
    pub faults: Faults,
    pub(super) log: RequestLog,
    pub(super) started: Instant,
}

impl Node {
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.requests()
    }
    pub fn clear_requests(&self) {
        self.log.clear();
    }
    /// Microseconds since this node started, the clock of `LoggedRequest::at_us`.
    pub fn clock_us(&self) -> u64 {
        self.log.clock_us()
    }
    pub fn cdr_stats(&self) -> Vec<cdr::ReceiverStats> {
        lock(&self.outbox).stats()
    }
    pub fn cdr_pending(&self) -> usize {
        lock(&self.outbox).pending()
    }
    /// CDR receiver URLs configured on this node.
    pub fn cdr_receivers(&self) -> Vec<String> {
        lock(&self.db).cdr_receivers.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draws(f: &Faults) -> Vec<(bool, bool, bool)> {
        (0..200).map(|_| (f.should_short_page(), f.should_error(), f.should_lose_ack())).collect()
    }

    fn mild(seed: u64) -> Faults {
        let f = Faults::default();
        f.set_short_page_rate(0.3);
        f.set_error_rate(0.1);
        f.set_lost_ack_rate(0.2);
        f.seed(seed);
        f
    }

    #[test]
    fn the_same_seed_gives_the_same_faults_and_another_seed_others() {
        let (a, b, c) = (draws(&mild(7)), draws(&mild(7)), draws(&mild(8)));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().any(|d| d.0) && a.iter().any(|d| !d.0), "short pages now and then, not always");
    }

    #[test]
    fn no_chance_set_means_no_fault_whatever_the_seed() {
        let f = Faults::default();
        f.seed(7);
        assert!(draws(&f).iter().all(|d| *d == (false, false, false)));
    }
}
