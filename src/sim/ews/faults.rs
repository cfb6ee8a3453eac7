//! The awkward parts on request: ErrorServerBusy (every n-th request, or the next few of one
//! operation), a ChangeKey race before UpdateItem, a limit on open streams, NTLM only.

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// Open streaming connections an account may hold unless told otherwise: Exchange on
/// premises' `HangingConnectionLimit` (../shared/reference/exchange.md §2.3).
pub const DEFAULT_STREAMS_PER_ACCOUNT: u64 = 3;

/// Faults to inject.
#[derive(Debug)]
pub struct EwsFaults {
    /// Every n-th request answers ErrorServerBusy (0 = never).
    busy_every: AtomicU64,
    seen: AtomicU64,
    /// Open streams are cut without `Closed`.
    pub(super) drop_streams: AtomicBool,
    /// The organiser edits the item just before the next UpdateItem lands (a ChangeKey race).
    pub(super) edit_before_update: AtomicBool,
    /// At most this many open streaming connections per account (0 = no limit), as Exchange's
    /// throttling policy ([`DEFAULT_STREAMS_PER_ACCOUNT`] unless set).
    pub(super) stream_limit: AtomicU64,
    /// Basic is switched off: only NTLM (per connection) is accepted, as on many Exchange servers.
    pub(super) ntlm_only: AtomicBool,
    /// NTLM Negotiate messages received (one per connection that signs in).
    pub(super) ntlm_handshakes: AtomicU64,
    /// Operation → how many of its next requests answer ErrorServerBusy.
    busy_ops: Mutex<HashMap<String, u64>>,
    /// ErrorServerBusy without `BackOffMilliseconds` (as Exchange may send it).
    pub(super) busy_without_back_off: AtomicBool,
    /// Operation → how many of its next requests a front end answers with a 503 HTML page.
    unavailable_ops: Mutex<HashMap<String, u64>>,
}

impl Default for EwsFaults {
    fn default() -> Self {
        Self {
            busy_every: AtomicU64::new(0),
            seen: AtomicU64::new(0),
            drop_streams: AtomicBool::new(false),
            edit_before_update: AtomicBool::new(false),
            stream_limit: AtomicU64::new(DEFAULT_STREAMS_PER_ACCOUNT),
            ntlm_only: AtomicBool::new(false),
            ntlm_handshakes: AtomicU64::new(0),
            busy_ops: Mutex::default(),
            busy_without_back_off: AtomicBool::new(false),
            unavailable_ops: Mutex::default(),
        }
    }
}

impl EwsFaults {
    pub fn set_busy_every(&self, n: u64) {
        self.busy_every.store(n, Ordering::Relaxed);
    }
    /// The next `times` requests of operation `op` (GetItem, UpdateItem, …) answer
    /// ErrorServerBusy with a back-off of 300 ms.
    pub fn set_busy_for(&self, op: &str, times: u64) {
        lock(&self.busy_ops).insert(op.to_string(), times);
    }
    /// Whether this request answers ErrorServerBusy: every n-th one, else the next few of its
    /// operation.
    pub(super) fn busy(&self, op: &str) -> bool {
        let n = self.seen.fetch_add(1, Ordering::Relaxed) + 1;
        let every = self.busy_every.load(Ordering::Relaxed);
        let busy = (every > 0 && n.is_multiple_of(every)) || self.busy_now(op);
        if busy {
            tracing::info!(fault = "ErrorServerBusy", operation = op, "EWS simulator fault");
        }
        busy
    }
    /// ErrorServerBusy is sent without `BackOffMilliseconds`.
    pub fn set_busy_without_back_off(&self, on: bool) {
        self.busy_without_back_off.store(on, Ordering::Relaxed);
    }
    /// The next `times` requests of operation `op` meet a front end (IIS, a load balancer) that
    /// answers `503 Service Unavailable` with an HTML page.
    pub fn set_unavailable_for(&self, op: &str, times: u64) {
        lock(&self.unavailable_ops).insert(op.to_string(), times);
    }
    pub(super) fn unavailable(&self, op: &str) -> bool {
        take_one(&self.unavailable_ops, op)
    }
    fn busy_now(&self, op: &str) -> bool {
        take_one(&self.busy_ops, op)
    }
    /// Basic authentication off, NTLM only (`WWW-Authenticate: Negotiate` / `NTLM`).
    pub fn set_ntlm_only(&self, on: bool) {
        self.ntlm_only.store(on, Ordering::Relaxed);
    }
    /// NTLM handshakes begun so far (one per connection that signs in).
    pub fn ntlm_handshakes(&self) -> u64 {
        self.ntlm_handshakes.load(Ordering::Relaxed)
    }
    /// More than `n` open streams of one account at once answer `ErrorExceededConnectionCount`
    /// (0 = no limit; [`DEFAULT_STREAMS_PER_ACCOUNT`] until set).
    pub fn set_stream_limit(&self, n: u64) {
        self.stream_limit.store(n, Ordering::Relaxed);
    }
    /// The next UpdateItem meets an organiser's edit made a moment before (its ChangeKey is stale).
    pub fn edit_before_next_update(&self) {
        self.edit_before_update.store(true, Ordering::Relaxed);
    }
}

/// Counts one of the next faulty requests of `op` down; whether this one is faulty.
fn take_one(ops: &Mutex<HashMap<String, u64>>, op: &str) -> bool {
    match lock(ops).get_mut(op) {
        Some(n) if *n > 0 => {
            *n -= 1;
            true
        }
        _ => false,
    }
}
