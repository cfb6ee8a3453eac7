//! The supervisor of every background task. A worker is named, runs under a cancellation
//! token, is restarted with backoff when it panics (or ends when it should not), and reports
//! its state: running since when, restarts, the last panic, and whether it is stuck (it
//! promised a heartbeat and went quiet, [`liveness`]) — and one that asked for it is restarted
//! when it is. Which workers run is decided in one place, the server's `workers` module;
//! constructors never start tasks.

mod liveness;

pub use liveness::Pulse;

use crate::sync::lock;
use liveness::{silence, Liveness};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How a worker wants to be run.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSpec {
    pub name: &'static str,
    /// Silent longer than this (no `WorkerCtx::beat` or pulse, and no wait it announced), the
    /// worker counts as stuck.
    pub stale_after: Option<Duration>,
    /// A stuck worker is stopped and started again (else only reported).
    pub restart_stale: bool,
    /// At shutdown the worker ends by itself (it watches `WorkerCtx::cancelled`), e.g. to write
    /// what is queued; others are stopped at once.
    pub drains: bool,
    /// Ends for good when it returns (a one-off job); otherwise a return is restarted too.
    pub once: bool,
}

impl WorkerSpec {
    pub const fn new(name: &'static str) -> Self {
        Self { name, stale_after: None, restart_stale: false, drains: false, once: false }
    }
    /// The worker beats at least this often; three times this without a beat and it is stuck.
    pub const fn heartbeat(mut self, every: Duration) -> Self {
        self.stale_after = Some(every.saturating_mul(3));
        self
    }
    /// Silent for `after`, the worker is stopped and started again (and the restart reported).
    pub const fn restart_when_stale(mut self, after: Duration) -> Self {
        self.stale_after = Some(after);
        self.restart_stale = true;
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
    /// The worker's own heartbeat (besides the pulses of its parts).
    own: Pulse,
}

impl WorkerCtx {
    /// Says "still working" (for workers with a heartbeat).
    pub fn beat(&self) {
        self.own.beat();
    }

    /// Silent on purpose for `d` (a back-off, the wait to the next round).
    pub fn quiet_for(&self, d: Duration) {
        self.own.quiet_for(d);
    }

    /// Waiting for something outside (or only its parts' pulses count): never stale by itself.
    pub fn idle(&self) {
        self.own.idle();
    }

    /// A heartbeat for one part of the worker that can stall on its own (one stream of many):
    /// the worker is stuck when any live part is.
    pub fn pulse(&self) -> Pulse {
        let p = Pulse::new();
        lock(&self.state).parts.extend(p.watch());
        p
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
    /// The worker's own heartbeat and its parts' (dropped parts no longer count).
    parts: Vec<Weak<Mutex<Liveness>>>,
    restarts: u64,
    last_panic: Option<String>,
}

impl WorkerState {
    fn new(spec: WorkerSpec, now: Instant, own: &Pulse) -> Self {
        Self { spec, phase: WorkerPhase::Running, since: now, parts: own.watch().into_iter().collect(), restarts: 0, last_panic: None }
    }

    /// Silent longer than the spec allows.
    fn stuck(&self, now: Instant) -> bool {
        self.phase == WorkerPhase::Running && self.spec.stale_after.is_some_and(|after| silence(&self.parts, now) > after)
    }
}

/// A worker's state as the dashboard, `/healthz` and `/metrics` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerReport {
    pub name: &'static str,
    pub phase: WorkerPhase,
    pub running_for: Duration,
    pub restarts: u64,
    /// The last panic, or the last stall it was restarted for.
    pub last_panic: Option<String>,
    /// Promised a heartbeat and went silent longer than it allows.
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
        let own = Pulse::new();
        let state = Arc::new(Mutex::new(WorkerState::new(spec, Instant::now(), &own)));
        lock(&self.states).insert(spec.name, state.clone());
        let cancel = self.cancel.clone();
        self.tracker.spawn(supervise(spec, make, WorkerCtx { cancel, state, own }));
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
                    stuck: s.stuck(now),
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
            // A new run: its own heartbeat afresh, the parts of the last run forgotten.
            ctx.own.beat();
            s.parts = ctx.own.watch().into_iter().collect();
        }
        tracing::debug!(worker = spec.name, "worker started");
        let Some(problem) = run_once(spec, tokio::spawn(make(ctx.clone())), &ctx).await else {
            lock(&ctx.state).phase = WorkerPhase::Finished;
            return;
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

/// Runs one start of the worker to its end: `None` when it is done for good (shutdown, or a
/// one-off that finished), else what went wrong (a panic, an unexpected end, a stall).
async fn run_once(spec: WorkerSpec, mut task: tokio::task::JoinHandle<()>, ctx: &WorkerCtx) -> Option<String> {
    let ended = tokio::select! {
        r = &mut task => Some(r),
        silent = stalled(spec, &ctx.state) => {
            task.abort();
            let _ = task.await;
            return Some(format!("no sign of life for {} s (stale heartbeat): stopped and started again", silent.as_secs()));
        }
        _ = ctx.cancel.cancelled() => None,
    };
    let Some(outcome) = ended else {
        if spec.drains {
            if tokio::time::timeout(DRAIN_GRACE, &mut task).await.is_err() {
                tracing::warn!(worker = spec.name, "worker did not finish draining in time; stopped");
                task.abort();
            }
        } else {
            task.abort();
            let _ = task.await;
        }
        tracing::debug!(worker = spec.name, "worker stopped for shutdown");
        return None;
    };
    match outcome {
        Ok(()) if spec.once => None,
        Ok(()) => Some("ended unexpectedly".to_string()),
        Err(e) if e.is_panic() => Some(format!("panicked: {}", panic_message(e.into_panic()))),
        Err(e) => Some(format!("stopped: {e}")),
    }
}

/// Ends (with the silence) once a worker that is restarted when stale has been silent too
/// long; never for the others.
async fn stalled(spec: WorkerSpec, state: &Mutex<WorkerState>) -> Duration {
    let Some(after) = spec.stale_after.filter(|_| spec.restart_stale) else { return std::future::pending().await };
    let every = (after / 4).clamp(Duration::from_millis(10), Duration::from_secs(5));
    loop {
        tokio::time::sleep(every).await;
        let s = lock(state);
        let silent = silence(&s.parts, Instant::now());
        if silent > after {
            return silent;
        }
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

    /// Waits (bounded, not a fixed time) until `f` holds.
    async fn until(what: &str, f: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while !f() {
            assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    async fn a_worker_whose_heartbeat_goes_stale_is_restarted_and_one_waiting_on_purpose_is_not() {
        let w = Workers::new();
        let stale = Duration::from_millis(100);
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        w.spawn(WorkerSpec::new("stalls").restart_when_stale(stale), move |ctx| {
            r.fetch_add(1, Ordering::SeqCst);
            async move {
                ctx.beat();
                std::future::pending::<()>().await
            }
        });
        // Two parts: one keeps beating, the other stalls; the worker is stale all the same.
        w.spawn(WorkerSpec::new("one-part-stalls").restart_when_stale(stale), |ctx| async move {
            ctx.idle();
            let (alive, _stalled) = (ctx.pulse(), ctx.pulse());
            loop {
                alive.beat();
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        w.spawn(WorkerSpec::new("backs-off").restart_when_stale(stale), |ctx| async move {
            ctx.quiet_for(Duration::from_secs(3600));
            std::future::pending::<()>().await
        });
        w.spawn(WorkerSpec::new("waits-for-news").restart_when_stale(stale), |ctx| async move {
            ctx.idle();
            std::future::pending::<()>().await
        });
        until("two restarts", || runs.load(Ordering::SeqCst) >= 3 && report(&w, "one-part-stalls").restarts >= 2).await;
        let rep = report(&w, "stalls");
        assert!(rep.restarts >= 2, "{rep:?}");
        assert!(rep.last_panic.as_deref().is_some_and(|p| p.contains("stale heartbeat")), "{rep:?}");
        for quiet in ["backs-off", "waits-for-news"] {
            let rep = report(&w, quiet);
            assert_eq!((rep.restarts, rep.stuck), (0, false), "{rep:?}");
        }
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
