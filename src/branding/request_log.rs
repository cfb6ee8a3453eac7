//! The log of what CMS asked for, for the page's "what CMS asked for" and "missing" lists.
//! Requests are queued without waiting (CMS must not be slowed) and written in batches by the
//! request-log worker, which also keeps the table to its newest rows.

use super::names::FileKind;
use crate::branding::store::{BrandingRequestRow, BrandingStore};
use crate::workers::WorkerCtx;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// Logged CMS requests kept in the database.
const KEEP_REQUESTS: i64 = 20_000;
/// Requests waiting to be logged; beyond this they are counted and dropped rather than slowing CMS.
const LOG_QUEUE: usize = 50_000;

/// One CMS-facing request, for the log the page shows.
#[derive(Debug, Clone)]
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

/// The queue between request handlers and the writer.
pub(super) struct RequestLog {
    tx: mpsc::Sender<LogMsg>,
    rx: tokio::sync::Mutex<mpsc::Receiver<LogMsg>>,
    dropped: AtomicU64,
}

impl RequestLog {
    pub(super) fn new() -> Self {
        let (tx, rx) = mpsc::channel(LOG_QUEUE);
        Self { tx, rx: tokio::sync::Mutex::new(rx), dropped: AtomicU64::new(0) }
    }

    /// Queues a CMS request; never waits (a full queue drops and counts).
    pub(super) fn push(&self, r: ServedRequest) {
        if self.tx.try_send(LogMsg::Row(SystemTime::now(), r)).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::warn!(dropped = n, "branding request log is behind; requests not logged");
            }
        }
    }

    /// Waits until every request queued so far is in the database.
    pub(super) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(LogMsg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// The writer: batches until shutdown, then writes what is still queued.
    pub(super) async fn run(&self, store: &BrandingStore, ctx: WorkerCtx) {
        let mut rx = self.rx.lock().await;
        write_log(store, &mut rx, &ctx).await
    }
}

fn row(at: SystemTime, mut r: ServedRequest) -> BrandingRequestRow {
    cut(&mut r.tenant, 64);
    cut(&mut r.name, 100);
    BrandingRequestRow {
        at: time::OffsetDateTime::from(at).format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        tenant: r.tenant,
        kind: r.kind.as_str(),
        name: r.name,
        method: r.method,
        status: r.status,
        served: r.served,
        remote: r.remote,
    }
}

/// Logged names are capped, so hostile megabyte names cost nothing to keep.
fn cut(s: &mut String, max_chars: usize) {
    if let Some((i, _)) = s.char_indices().nth(max_chars) {
        s.truncate(i);
    }
}

/// Writes queued request-log rows in batches and keeps the table to its newest rows. It pauses
/// between batches so that under load requests pile up into few large writes instead of waking
/// this task (and SQLite) once per request.
async fn write_log(store: &BrandingStore, rx: &mut mpsc::Receiver<LogMsg>, ctx: &WorkerCtx) {
    const PAUSE: Duration = Duration::from_millis(200);
    let mut written_since_prune = 0usize;
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            _ = ctx.cancelled() => rx.try_recv().ok(),
        };
        let Some(first) = first else { return };
        let mut rows = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(msg) = next {
            match msg {
                LogMsg::Row(at, r) => rows.push(row(at, r)),
                LogMsg::Flush(done) => flushes.push(done),
            }
            next = if rows.len() < 20_000 { rx.try_recv().ok() } else { None };
        }
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
        if busy && !ctx.is_cancelled() {
            tokio::time::sleep(PAUSE).await;
        }
    }
}
