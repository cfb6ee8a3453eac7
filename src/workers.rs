//! The supervisor of every background task. A worker is named, runs under a cancellation
//! token, is restarted with backoff when it panics (or ends when it should not), and reports
//! its state: running since when, restarts, the last panic, and whether it is stuck (it
//! promised a heartbeat and went quiet). Which workers run is decided in one place, the
//! server's `workers` module; constructors never start tasks.

use crate::sync::lock;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How a worker wants to be run.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSpec {
    pub name: &'static str,
    /// The worker calls `WorkerCtx::beat` at least this often; three times this without a beat
    /// and it counts as stuck.
    pub heartbeat: Option<Duration>,
    /// At shutdown the worker ends by itself (it watches `WorkerCtx::cancelled`), e.g. to write
    /// what is queued; others are stopped at once.
    pub drains: bool,
    /// Ends for good when it returns (a one-off job); otherwise a return is restarted too.
    pub once: bool,
}

impl WorkerSpec {
    pub const fn new(name: &'static str) -> Self {
        Self { name, heartbeat: None, drains: false, once: false }
    }
    pub const fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = Some(every);
        self
    }
    pub const fn drains(mut self) -> Self {
        self.drains = true;
        self
    }
    pub const fn once(mut self) -> Self {
        self.once = true;
        self
    }
}

/// What a running worker gets: the shutdown signal and its heartbeat.
#[derive(Clone)]
pub struct WorkerCtx {
    cancel: CancellationToken,
    state: Arc<Mutex<WorkerState>>,
}

impl WorkerCtx {
    /// Says "still working" (for workers with a heartbeat).
    pub fn beat(&self) {
        lock(&self.state).last_beat = Instant::now();
    }

    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerPhase {
    Running,
    /// Waiting to be started again after a panic.
    Restarting,
    /// Done (a one-off job that finished, or stopped at shutdown).
    Finished,
}

#[derive(Debug, Clone)]
struct WorkerState {
    spec: WorkerSpec,
    phase: WorkerPhase,
    since: Instant,
    last_beat: Instant,
    restarts: u64,
    last_panic: Option<String>,
}

/// A worker's state as the dashboard, `/healthz` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    pub name: &'static str,
    pub phase: WorkerPhase,
    pub running_for: Duration,
    pub restarts: u64,
    pub last_panic: Option<String>,
    /// Promised a heartbeat and missed three.
    pub stuck: bool,
}

impl WorkerReport {
    /// Doing its job: running and not stuck, or a one-off that finished.
    pub fn healthy(&self) -> bool {
        match self.phase {
            WorkerPhase::Running => !self.stuck,
            WorkerPhase::Finished => true,
            WorkerPhase::Restarting => false,
        }
    }
}

type StateTable = BTreeMap<&'static str, Arc<Mutex<WorkerState>>>;

/// Cheap to clone; one per application.
#[derive(Clone, Default)]
pub struct Workers {
    cancel: CancellationToken,
    tracker: TaskTracker,
    states: Arc<Mutex<StateTable>>,
}

const FIRST_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A drained worker that has not ended after this long is stopped anyway.
const DRAIN_GRACE: Duration = Duration::from_secs(5);

impl Workers {
    pub fn new() -> Self {
        Self::default()
    }

    /// Cancelled when shutdown begins; request-started jobs (bulk admits) follow it too.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    /// Starts `make()` under supervision. `make` is called again for each restart.
    pub fn spawn<F, Fut>(&self, spec: WorkerSpec, make: F)
    where
        F: Fn(WorkerCtx) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let now = Instant::now();
        let state = Arc::new(Mutex::new(WorkerState {
            spec,
            phase: WorkerPhase::Running,
            since: now,
            last_beat: now,
            restarts: 0,
            last_panic: None,
        }));
        lock(&self.states).insert(spec.name, state.clone());
        let cancel = self.cancel.clone();
        self.tracker.spawn(supervise(spec, make, WorkerCtx { cancel, state }));
    }

    pub fn report(&self) -> Vec<WorkerReport> {
        let now = Instant::now();
        lock(&self.states)
            .values()
            .map(|s| {
                let s = lock(s);
                WorkerReport {
                    name: s.spec.name,
                    phase: s.phase,
                    running_for: now.duration_since(s.since),
                    restarts: s.restarts,
                    last_panic: s.last_panic.clone(),
                    stuck: s.phase == WorkerPhase::Running
                        && s.spec.heartbeat.is_some_and(|every| now.duration_since(s.last_beat) > every * 3),
                }
            })
            .collect()
    }

    /// Signals every worker to stop and waits for them (drained workers get a grace period).
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
    }
}

async fn supervise<F, Fut>(spec: WorkerSpec, make: F, ctx: WorkerCtx)
where
    F: Fn(WorkerCtx) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut backoff = FIRST_BACKOFF;
    loop {
        {
            let mut s = lock(&ctx.state);
            s.phase = WorkerPhase::Running;
            s.since = Instant::now();
            s.last_beat = s.since;
        }
        tracing::debug!(worker = spec.name, "worker started");
        let mut task = tokio::spawn(make(ctx.clone()));
        let ended = tokio::select! {
            r = &mut task => Some(r),
            _ = ctx.cancel.cancelled() => None,
        };
        let outcome = match ended {
            Some(r) => r,
            None => {
                if spec.drains {
                    if tokio::time::timeout(DRAIN_GRACE, &mut task).await.is_err() {
                        tracing::warn!(worker = spec.name, "worker did not finish draining in time; stopped");
                        task.abort();
                    }
                } else {
                    task.abort();
                    let _ = task.await;
                }
                lock(&ctx.state).phase = WorkerPhase::Finished;
                tracing::debug!(worker = spec.name, "worker stopped for shutdown");
                return;
            }
        };
        let problem = match outcome {
            Ok(()) if spec.once => {
                lock(&ctx.state).phase = WorkerPhase::Finished;
                return;
            }
            Ok(()) => "ended unexpectedly".to_string(),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_message(e.into_panic())),
            Err(e) => format!("stopped: {e}"),
        };
        let restarts = {
            let mut s = lock(&ctx.state);
            s.phase = WorkerPhase::Restarting;
            s.restarts += 1;
            s.last_panic = Some(problem.clone());
            s.restarts
        };
        tracing::error!(worker = spec.name, %problem, restarts, retry_in = ?backoff, "worker failed; restarting");
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = ctx.cancel.cancelled() => {
                lock(&ctx.state).phase = WorkerPhase::Finished;
                return;
            }
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_else(|| "(no message)".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn report(w: &Workers, name: &str) -> WorkerReport {
        w.report().into_iter().find(|r| r.name == name).unwrap()
    }

    #[tokio::test]
    async fn a_worker_that_panics_is_restarted_and_its_restarts_and_panic_are_reported() {
        let w = Workers::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        w.spawn(WorkerSpec::new("flaky"), move |_ctx| {
            let n = r.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    panic!("boom {n}");
                }
                std::future::pending::<()>().await
            }
        });
        // Restarts back off; wait for the third run (bounded), not a fixed time, so a busy
        // machine does not fail the test.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while (runs.load(Ordering::SeqCst) < 3 || report(&w, "flaky").phase != WorkerPhase::Running)
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let rep = report(&w, "flaky");
        assert_eq!(runs.load(Ordering::SeqCst), 3);
        assert_eq!((rep.phase, rep.restarts), (WorkerPhase::Running, 2));
        assert_eq!(rep.last_panic.as_deref(), Some("panicked: boom 1"));
        assert!(rep.healthy());
        w.shutdown().await;
        assert_eq!(report(&w, "flaky").phase, WorkerPhase::Finished);
    }

    #[tokio::test]
    async fn a_worker_that_stops_beating_is_reported_stuck() {
        let w = Workers::new();
        w.spawn(WorkerSpec::new("quiet").heartbeat(Duration::from_millis(20)), |_ctx| std::future::pending::<()>());
        w.spawn(WorkerSpec::new("busy").heartbeat(Duration::from_millis(20)), |ctx| async move {
            loop {
                ctx.beat();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(report(&w, "quiet").stuck && !report(&w, "quiet").healthy());
        assert!(!report(&w, "busy").stuck);
        w.shutdown().await;
    }

    #[tokio::test]
    async fn shutdown_lets_a_draining_worker_finish_and_stops_the_others_at_once() {
        let w = Workers::new();
        let drained = Arc::new(AtomicUsize::new(0));
        let d = drained.clone();
        w.spawn(WorkerSpec::new("writer").drains(), move |ctx| {
            let d = d.clone();
            async move {
                ctx.cancelled().await;
                tokio::time::sleep(Duration::from_millis(50)).await;
                d.fetch_add(1, Ordering::SeqCst);
            }
        });
        w.spawn(WorkerSpec::new("loop"), |_ctx| std::future::pending::<()>());
        w.spawn(WorkerSpec::new("job").once(), |_ctx| async {});
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(report(&w, "job").phase, WorkerPhase::Finished, "a one-off ends for good");
        tokio::time::timeout(Duration::from_secs(2), w.shutdown()).await.expect("shutdown finishes");
        assert_eq!(drained.load(Ordering::SeqCst), 1, "the writer finished its work");
    }
}
