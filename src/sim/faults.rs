//! Fault injection shared by the HTTP simulators: latency before answering, every n-th request
//! throttled (429 with `Retry-After`) or failed (503), and every n-th request carried out whose
//! answer is lost (the connection cut before a byte of it is written, see [`super::lost`]).
//! Changeable while running.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug)]
pub struct HttpFaults {
    latency_ms: AtomicU64,
    /// Every n-th request answers 429 with `Retry-After` (0 = never).
    throttle_every: AtomicU64,
    /// Every n-th request answers 503 (0 = never).
    fail_every: AtomicU64,
    retry_after_secs: AtomicU64,
    /// Every n-th request carried out loses its answer (0 = never).
    lose_answer_every: AtomicU64,
    seen: AtomicU64,
    carried_out: AtomicU64,
}

/// What a request meets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 429 with this `Retry-After` (seconds).
    Throttle(u64),
    /// 503.
    Fail,
}

impl Default for HttpFaults {
    fn default() -> Self {
        Self {
            latency_ms: AtomicU64::new(0),
            throttle_every: AtomicU64::new(0),
            fail_every: AtomicU64::new(0),
            retry_after_secs: AtomicU64::new(1),
            lose_answer_every: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            carried_out: AtomicU64::new(0),
        }
    }
}

impl HttpFaults {
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms.store(d.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn set_throttle_every(&self, n: u64) {
        self.throttle_every.store(n, Ordering::Relaxed);
    }
    pub fn set_fail_every(&self, n: u64) {
        self.fail_every.store(n, Ordering::Relaxed);
    }
    /// The `Retry-After` sent with a 429 (default 1 second).
    pub fn set_retry_after_secs(&self, n: u64) {
        self.retry_after_secs.store(n, Ordering::Relaxed);
    }

    /// Every n-th request that is carried out (a send accepted, a change made) loses its answer:
    /// the work is done, the connection is cut before the answer goes out (0 = never).
    pub fn set_lose_answer_every(&self, n: u64) {
        self.lose_answer_every.store(n, Ordering::Relaxed);
    }

    /// Counts a request that was carried out and says whether its answer is to be lost.
    pub fn lose_answer(&self) -> bool {
        let every = self.lose_answer_every.load(Ordering::Relaxed);
        let n = self.carried_out.fetch_add(1, Ordering::Relaxed) + 1;
        let lose = every > 0 && n.is_multiple_of(every);
        if lose {
            tracing::info!(fault = "answer lost after the work was done", "simulator fault");
        }
        lose
    }

    /// Waits the configured latency.
    pub async fn delay(&self) {
        let ms = self.latency_ms.load(Ordering::Relaxed);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    /// Counts a request and says which fault, if any, it meets.
    pub fn next(&self) -> Option<Fault> {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let hit = |a: &AtomicU64| matches!(a.load(Ordering::Relaxed), k if k > 0 && n.is_multiple_of(k));
        let fault = if hit(&self.throttle_every) {
            Some(Fault::Throttle(self.retry_after_secs.load(Ordering::Relaxed)))
        } else if hit(&self.fail_every) {
            Some(Fault::Fail)
        } else {
            None
        };
        // Logged, so that a demo shows what Switchboard rode through.
        match fault {
            Some(Fault::Throttle(secs)) => tracing::info!(fault = "429", retry_after = secs, "simulator fault"),
            Some(Fault::Fail) => tracing::info!(fault = "503", "simulator fault"),
            None => {}
        }
        fault
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_request_meets_its_fault() {
        let f = HttpFaults::default();
        assert_eq!((0..4).map(|_| f.next()).collect::<Vec<_>>(), vec![None; 4]);
        f.set_throttle_every(2);
        f.set_fail_every(3);
        f.set_retry_after_secs(7);
        let got: Vec<_> = (0..4).map(|_| f.next()).collect();
        // requests 5..8: 6 is both (throttle wins), 8 throttled
        assert_eq!(got, vec![None, Some(Fault::Throttle(7)), None, Some(Fault::Throttle(7))]);
    }

    #[test]
    fn every_nth_request_carried_out_loses_its_answer() {
        let f = HttpFaults::default();
        assert!(!(0..3).any(|_| f.lose_answer()), "off by default");
        let f = HttpFaults::default();
        f.set_lose_answer_every(2);
        assert_eq!((0..4).map(|_| f.lose_answer()).collect::<Vec<_>>(), vec![false, true, false, true]);
    }
}
