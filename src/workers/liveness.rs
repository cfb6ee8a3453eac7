//! Signs of life: a worker — or each part of it that can stall on its own, such as one EWS
//! stream of many — beats while it works, says when it waits on purpose (a back-off, the time to
//! the next round) and when it waits for something outside (a notification). The supervisor
//! reads the longest silence of all of a worker's parts.

use crate::sync::lock;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub(super) enum Liveness {
    /// Working; the last sign of life.
    Beat(Instant),
    /// Waiting on purpose until then: silence until then is no sign of a stall.
    QuietUntil(Instant),
    /// Waiting for something outside (a notification, new users): never stale.
    Idle,
}

impl Liveness {
    fn silent_for(&self, now: Instant) -> Duration {
        match self {
            Liveness::Beat(t) | Liveness::QuietUntil(t) => now.saturating_duration_since(*t),
            Liveness::Idle => Duration::ZERO,
        }
    }
}

/// One part's heartbeat (cheap to clone; the part is watched while a clone lives). A detached
/// pulse, for code run outside a supervisor, beats into nothing.
#[derive(Debug, Clone, Default)]
pub struct Pulse(Option<Arc<Mutex<Liveness>>>);

impl Pulse {
    pub fn detached() -> Self {
        Self(None)
    }

    pub(super) fn new() -> Self {
        Self(Some(Arc::new(Mutex::new(Liveness::Beat(Instant::now())))))
    }

    fn set(&self, l: Liveness) {
        if let Some(s) = &self.0 {
            *lock(s) = l;
        }
    }

    /// Says "still working".
    pub fn beat(&self) {
        self.set(Liveness::Beat(Instant::now()));
    }

    /// Silent on purpose for `d` (a back-off, the wait to the next round).
    pub fn quiet_for(&self, d: Duration) {
        let now = Instant::now();
        self.set(now.checked_add(d).map_or(Liveness::Idle, Liveness::QuietUntil));
    }

    /// Waiting for something outside, however long it takes.
    pub fn idle(&self) {
        self.set(Liveness::Idle);
    }

    pub(super) fn watch(&self) -> Option<Weak<Mutex<Liveness>>> {
        self.0.as_ref().map(Arc::downgrade)
    }
}

/// The longest silence of the parts still alive.
pub(super) fn silence(parts: &[Weak<Mutex<Liveness>>], now: Instant) -> Duration {
    parts.iter().filter_map(Weak::upgrade).map(|p| lock(&p).silent_for(now)).max().unwrap_or_default()
}
