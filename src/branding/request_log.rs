//! The log of what CMS asked for, for the page's "what CMS asked for" and "missing" lists.
//! Nothing here makes CMS wait. Answers that went wrong (status 400 and up: misses, bad names,
//! errors) are queued one row each; answers served (2xx, 304) are counted in memory instead, one
//! tally per distinct request, and written as one row with its count per round — CMS fetches the
//! same few files in bursts, and a row per fetch cost the branding host more than serving it.
//! The request-log worker writes both in batches and keeps the table to its newest rows.

use super::names::FileKind;
use crate::branding::store::{BrandingRequestRow, BrandingStore};
use crate::workers::WorkerCtx;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// Logged CMS requests kept in the database.
const KEEP_REQUESTS: i64 = 20_000;
/// Requests waiting to be logged; beyond this they are counted and dropped rather than slowing CMS.
const LOG_QUEUE: usize = 50_000;
/// Distinct served requests counted between two writes; beyond this (endless made-up names
/// answered 200 cannot happen, but many clients could) further ones are dropped and counted.
const MAX_TALLIES: usize = 10_000;
/// How often the counted requests are written (and so at most how old the page's view is; the
/// page asks for a flush first anyway).
const TALLY_INTERVAL: Duration = Duration::from_secs(1);

/// One CMS-facing request, for the log the page shows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServedRequest {
    pub tenant: String,
    pub kind: FileKind,
    pub name: String,
    pub method: String,
    pub status: u16,
    pub served: Option<String>,
    pub remote: Option<String>,
}

enum LogMsg {
    /// Time as taken, formatted by the writer: the request path stays cheap.
    Row(SystemTime, ServedRequest),
    Flush(oneshot::Sender<()>),
}

/// How many times one served request was made since the last write, and when last.
struct Tally {
    count: u64,
    last: SystemTime,
}

/// The queue between request handlers and the writer, and the counts of served requests.
pub(super) struct RequestLog {
    tx: mpsc::Sender<LogMsg>,
    rx: tokio::sync::Mutex<mpsc::Receiver<LogMsg>>,
    /// Keyed by the whole request (what was asked, how it was answered, by whom), so the rows
    /// written say exactly what a row per request would have said, only once with a count.
    tallies: Mutex<HashMap<ServedRequest, Tally>>,
    dropped: AtomicU64,
}

impl RequestLog {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::channel(LOG_QUEUE);
        Self { tx, rx: tokio::sync::Mutex::new(rx), tallies: Mutex::new(HashMap::new()), dropped: AtomicU64::new(0) }
    }

    /// Logs a CMS request; never waits. Served ones are counted, others queued one row each
    /// (a full queue, or too many distinct tallies, drops and counts).
    pub(super) fn push(&self, mut r: ServedRequest) {
        // Capped before keying, so hostile megabyte names cost nothing to count or keep.
        cut(&mut r.tenant, 64);
        cut(&mut r.name, 100);
        let now = SystemTime::now();
        if r.status < 400 {
            let mut tallies = crate::sync::lock(&self.tallies);
            if let Some(t) = tallies.get_mut(&r) {
                t.count += 1;
                t.last = now;
                return;
            }
            if tallies.len() < MAX_TALLIES {
                tallies.insert(r, Tally { count: 1, last: now });
                return;
            }
        } else if self.tx.try_send(LogMsg::Row(now, r)).is_ok() {
            return;
        }
        let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if n.is_power_of_two() {
            tracing::warn!(dropped = n, "branding request log is behind; requests not logged");
        }
    }

    /// The counted requests as rows, and the tallies emptied.
    fn take_tallies(&self) -> Vec<BrandingRequestRow> {
        let tallies = std::mem::take(&mut *crate::sync::lock(&self.tallies));
        tallies.into_iter().map(|(r, t)| row(t.last, r, t.count)).collect()
    }

    /// Waits until every request queued so far is in the database.
    pub(super) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(LogMsg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The writer: batches until shutdown, then writes what is still queued and counted.
    pub(super) async fn run(&self, store: &BrandingStore, ctx: WorkerCtx) {
        let mut rx = self.rx.lock().await;
        write_log(self, store, &mut rx, &ctx).await
    }
}

fn row(at: SystemTime, r: ServedRequest, count: u64) -> BrandingRequestRow {
    BrandingRequestRow {
        at: time::OffsetDateTime::from(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        tenant: r.tenant,
        kind: r.kind.as_str(),
        name: r.name,
        method: r.method,
        status: r.status,
        served: r.served,
        remote: r.remote,
        count: i64::try_from(count).unwrap_or(i64::MAX),
    }
}

/// Logged names are capped, so hostile megabyte names cost nothing to keep.
fn cut(s: &mut String, max_chars: usize) {
    if let Some((i, _)) = s.char_indices().nth(max_chars) {
        s.truncate(i);
    }
}

/// Writes queued request-log rows and the counted ones in batches, and keeps the table to its
/// newest rows. It pauses between batches so that under load requests pile up into few large
/// writes instead of waking this task (and SQLite) once per request; counted requests are
/// written at least every `TALLY_INTERVAL`, and at once when a flush is asked for.
async fn write_log(log: &RequestLog, store: &BrandingStore, rx: &mut mpsc::Receiver<LogMsg>, ctx: &WorkerCtx) {
    const PAUSE: Duration = Duration::from_millis(200);
    let mut written_since_prune = 0usize;
    let mut tick = tokio::time::interval(TALLY_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (first, stopping) = tokio::select! {
            // `None`: every sender is gone (cannot happen while the service lives); stop.
            m = rx.recv() => {
                let closed = m.is_none();
                (m, closed)
            }
            _ = tick.tick() => (None, false),
            _ = ctx.cancelled() => (None, true),
        };
        let mut rows = Vec::new();
        let mut flushes = Vec::new();
        let mut next = first;
        loop {
            match next {
                Some(LogMsg::Row(at, r)) => rows.push(row(at, r, 1)),
                Some(LogMsg::Flush(done)) => flushes.push(done),
                None => {}
            }
            // Stopping: everything still queued, however much.
            if rows.len() >= 20_000 && !stopping {
                break;
            }
            match rx.try_recv() {
                Ok(m) => next = Some(m),
                Err(_) => break,
            }
        }
        rows.extend(log.take_tallies());
        if !rows.is_empty() {
            if let Err(e) = store.log_requests(&rows).await {
                tracing::warn!(error = %e, rows = rows.len(), "could not log CMS branding requests");
            }
            written_since_prune += rows.len();
            if written_since_prune >= 5_000 {
                written_since_prune = 0;
                if let Err(e) = store.prune_requests(KEEP_REQUESTS).await {
                    tracing::warn!(error = %e, "could not prune the branding request log");
                }
            }
        }
        let busy = rows.len() > 100;
        for f in flushes {
            let _ = f.send(());
        }
        if stopping {
            return;
        }
        if busy {
            tokio::select! {
                _ = tokio::time::sleep(PAUSE) => {}
                _ = ctx.cancelled() => {}
            }
        }
    }
}
