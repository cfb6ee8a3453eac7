//! Benchmark: the lobby against the CMS simulator at 20 ms per request. Builds the lobby view for
//! 200 calls x 25 legs from the API (the reconcile a page opening triggers) and bulk-admits 200
//! people, each next to a one-request-at-a-time baseline in the same run.
//! Run: `cargo bench -p switchboard --features sim --bench lobby`
//! (`BENCH_CALLS`, `BENCH_LEGS`, `BENCH_ADMIT`, `BENCH_LATENCY_MS`, `BENCH_CONCURRENCY`).

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::cdr::CdrService;
use switchboard::cms::model::{CallLeg, CallLegSummary, CallSummary, Participant};
use switchboard::cms::{CmsCluster, CmsNode, NodeConfig};
use switchboard::lobby::view::lobby_view;
use switchboard::lobby::LobbyService;
use switchboard::model::{AdmitTarget, LobbyMeeting};
use switchboard::sim::cms::{Scenario, SimCms, SimConfig};
use switchboard::store::Store;

/// `BENCH_SMOKE=1` (or `--smoke`): the test command's run, every path at a size
/// that takes a second or two, so the benchmark cannot break unnoticed. Its figures mean nothing.
fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|v| v != "0") || std::env::args().any(|a| a == "--smoke")
}

/// A size from the environment, else the full run's or the smoke run's default.
fn env(name: &str, full: usize, smoke_size: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if smoke() { smoke_size } else { full })
}

/// The run's size, from the environment.
struct Settings {
    calls: usize,
    legs: usize,
    n_admit: usize,
    latency: usize,
    conc: usize,
}

impl Settings {
    fn from_env() -> Self {
        Self {
            calls: env("BENCH_CALLS", 200, 10),
            legs: env("BENCH_LEGS", 25, 6),
            n_admit: env("BENCH_ADMIT", 200, 5),
            latency: env("BENCH_LATENCY_MS", 20, 2),
            conc: env("BENCH_CONCURRENCY", 128, 16),
        }
    }
}

/// The simulator filled with calls, and Switchboard's side: the CMS client and the CDR service
/// on a fresh store.
struct Bench {
    sim: SimCms,
    cluster: Arc<CmsCluster>,
    node: Arc<CmsNode>,
    store: Store,
    cdr: Arc<CdrService>,
    _dir: tempfile::TempDir,
}

async fn set_up(s: &Settings) -> Bench {
    let sim = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "b".into(), password: "b-pass".into(), ..SimConfig::default() },
    )
    .await
    .unwrap();
    Scenario::populate(&sim.cluster, 0, s.calls, s.legs);
    sim.node(0).faults.set_latency(Duration::from_millis(s.latency as u64));
    let mut nc = NodeConfig::new("cb1", &sim.url(0), "b", "b-pass");
    nc.max_concurrency = s.conc;
    nc.timeout = Duration::from_secs(60);
    let cluster = Arc::new(CmsCluster::new(vec![nc]).unwrap());
    let node = cluster.nodes()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let cdr = Arc::new(CdrService::new(store.clone()));
    Bench { sim, cluster, node, store, cdr, _dir: dir }
}

/// View, concurrent: what Switchboard does when the lobby page opens.
async fn view_concurrent(b: &Bench, calls: usize) -> (Duration, Vec<LobbyMeeting>, usize) {
    let t = Instant::now();
    let problems = b.cdr.reconcile(&b.cluster).await;
    let view = lobby_view(&b.cdr.meetings());
    let view_time = t.elapsed();
    assert!(problems.is_empty(), "{problems:?}");
    let waiting: usize = view.iter().map(|m| m.waiting.len()).sum();
    assert_eq!(view.len(), calls);
    b.sim.node(0).clear_requests();
    (view_time, view, waiting)
}

/// View, baseline: one request at a time; returns the time and how many were waiting.
async fn view_one_at_a_time(node: &CmsNode) -> (Duration, usize) {
    let t = Instant::now();
    let list: Vec<CallSummary> = node.list_all_sequential("/calls", &[]).await.unwrap();
    let mut base_waiting = 0;
    for c in &list {
        node.call(&c.id).await.unwrap();
        let ls: Vec<CallLegSummary> = node.list_all_sequential(&format!("/calls/{}/callLegs", c.id), &[]).await.unwrap();
        for l in ls {
            let leg: CallLeg = node.call_leg(&l.id).await.unwrap();
            base_waiting += leg.status.deactivated as usize;
        }
    }
    (t.elapsed(), base_waiting)
}

/// `2 * n_admit` waiting people across calls: the first half for Switchboard, the rest for the baseline.
fn admit_targets(view: &[LobbyMeeting], n_admit: usize) -> Vec<AdmitTarget> {
    let targets: Vec<AdmitTarget> = view
        .iter()
        .flat_map(|m| m.waiting.iter())
        .take(2 * n_admit)
        .map(|p| AdmitTarget { call_id: p.call_id.clone(), leg_id: p.leg_id.clone() })
        .collect();
    assert_eq!(targets.len(), 2 * n_admit, "enough people waiting");
    targets
}

/// Bulk admit through the lobby service, as the page does.
async fn admit_concurrent(b: &Bench, targets: &[AdmitTarget]) -> Duration {
    let lobby =
        LobbyService::new(b.cdr.clone(), Some(b.cluster.clone()), switchboard::store::AuditLog::new(b.store.clone()), Default::default());
    let t = Instant::now();
    let results = lobby.admit("bench", targets.to_vec(), |_, _| {}).await;
    let admit_time = t.elapsed();
    assert!(
        results.iter().all(|r| r.outcome == switchboard::model::AdmitOutcome::Admitted),
        "{:?}",
        results.iter().find(|r| !r.outcome.ok())
    );
    admit_time
}

/// Baseline admit: resolve each person's participant and PUT, one request at a time.
async fn admit_one_at_a_time(node: &CmsNode, targets: &[AdmitTarget]) -> Duration {
    let t = Instant::now();
    for tg in targets {
        let ps: Vec<Participant> = node.list_all_sequential(&format!("/calls/{}/participants", tg.call_id), &[]).await.unwrap();
        for p in ps {
            let ls: Vec<CallLegSummary> = node.list_all_sequential(&format!("/participants/{}/callLegs", p.id), &[]).await.unwrap();
            if ls.iter().any(|l| l.id == tg.leg_id) {
                node.admit_participant(&p.id).await.unwrap();
                break;
            }
        }
    }
    t.elapsed()
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every path at a tiny size; the figures only show that it runs)");
    }
    let s = Settings::from_env();
    let b = set_up(&s).await;
    let (calls, legs, n_admit, latency, conc) = (s.calls, s.legs, s.n_admit, s.latency, s.conc);
    println!("Lobby: {calls} calls x {legs} legs, {latency} ms per CMS request, sim page size 10, <= {conc} requests in flight");

    let (view_time, view, waiting) = view_concurrent(&b, calls).await;
    let (view_base, base_waiting) = view_one_at_a_time(&b.node).await;
    assert_eq!(base_waiting, waiting);

    let targets = admit_targets(&view, n_admit);
    let (first, second) = targets.split_at(n_admit);
    let admit_time = admit_concurrent(&b, first).await;
    let admit_base = admit_one_at_a_time(&b.node, second).await;

    println!(
        "  view ({waiting} waiting):   concurrent {:>7.2} s   one at a time {:>7.2} s   speed-up {:.1}x   (target <= 1 s)",
        view_time.as_secs_f64(),
        view_base.as_secs_f64(),
        view_base.as_secs_f64() / view_time.as_secs_f64()
    );
    println!(
        "  bulk admit {n_admit} people:   concurrent {:>7.2} s   one at a time {:>7.2} s   speed-up {:.1}x   (target <= 2 s)",
        admit_time.as_secs_f64(),
        admit_base.as_secs_f64(),
        admit_base.as_secs_f64() / admit_time.as_secs_f64()
    );
}
