//! Benchmark: the lobby against the CMS simulator at 20 ms per request. Builds the lobby view for
//! 200 calls x 25 legs from the API (the reconcile a page opening triggers) and bulk-admits 200
//! people, each next to a one-request-at-a-time baseline in the same run.
//! Run: `cargo bench -p switchboard --features sim --bench lobby`
//! (`BENCH_CALLS`, `BENCH_LEGS`, `BENCH_ADMIT`, `BENCH_LATENCY_MS`, `BENCH_CONCURRENCY`).

use std::time::{Duration, Instant};
use switchboard::cdr::CdrService;
use switchboard::cms::model::{CallLeg, CallLegSummary, CallSummary, Participant};
use switchboard::cms::{CmsCluster, NodeConfig};
use switchboard::lobby::view::lobby_view;
use switchboard::lobby::LobbyService;
use switchboard::model::AdmitTarget;
use switchboard::sim::cms::{Scenario, SimCms, SimConfig};
use switchboard::store::Store;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let (calls, legs, n_admit, latency, conc) = (
        env("BENCH_CALLS", 200),
        env("BENCH_LEGS", 25),
        env("BENCH_ADMIT", 200),
        env("BENCH_LATENCY_MS", 20),
        env("BENCH_CONCURRENCY", 128),
    );
    let sim = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "b".into(), password: "b-pass".into(), ..SimConfig::default() },
    )
    .await
    .unwrap();
    Scenario::populate(&sim.cluster, 0, calls, legs);
    sim.node(0).faults.set_latency(Duration::from_millis(latency as u64));
    let mut nc = NodeConfig::new("cb1", &sim.url(0), "b", "b-pass");
    nc.max_concurrency = conc;
    nc.timeout = Duration::from_secs(60);
    let cluster = std::sync::Arc::new(CmsCluster::new(vec![nc]).unwrap());
    let node = cluster.nodes()[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let cdr = std::sync::Arc::new(CdrService::new(store.clone()));

    println!("Lobby: {calls} calls x {legs} legs, {latency} ms per CMS request, sim page size 10, <= {conc} requests in flight");

    // View, concurrent: what Switchboard does when the lobby page opens.
    let t = Instant::now();
    let problems = cdr.reconcile(&cluster).await;
    let view = lobby_view(&cdr.meetings());
    let view_time = t.elapsed();
    assert!(problems.is_empty(), "{problems:?}");
    let waiting: usize = view.iter().map(|m| m.waiting.len()).sum();
    assert_eq!(view.len(), calls);
    sim.node(0).clear_requests();

    // View, baseline: one request at a time.
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
    let view_base = t.elapsed();
    assert_eq!(base_waiting, waiting);

    // Bulk admit: `n_admit` waiting people across calls; the baseline admits the next `n_admit`.
    let targets: Vec<AdmitTarget> = view
        .iter()
        .flat_map(|m| m.waiting.iter())
        .take(2 * n_admit)
        .map(|p| AdmitTarget { call_id: p.call_id.clone(), leg_id: p.leg_id.clone() })
        .collect();
    assert_eq!(targets.len(), 2 * n_admit, "enough people waiting");
    let (first, second) = targets.split_at(n_admit);
    let lobby = LobbyService::new(cdr.clone(), Some(cluster.clone()), switchboard::store::AuditLog::new(store.clone()), Default::default());
    let t = Instant::now();
    let results = lobby.admit("bench", first.to_vec(), |_, _| {}).await;
    let admit_time = t.elapsed();
    assert!(
        results.iter().all(|r| r.outcome == switchboard::model::AdmitOutcome::Admitted),
        "{:?}",
        results.iter().find(|r| !r.outcome.ok())
    );

    // Baseline admit for the other half: resolve each person's participant and PUT, one request at a time.
    let t = Instant::now();
    for tg in second {
        let ps: Vec<Participant> = node.list_all_sequential(&format!("/calls/{}/participants", tg.call_id), &[]).await.unwrap();
        for p in ps {
            let ls: Vec<CallLegSummary> = node.list_all_sequential(&format!("/participants/{}/callLegs", p.id), &[]).await.unwrap();
            if ls.iter().any(|l| l.id == tg.leg_id) {
                node.admit_participant(&p.id).await.unwrap();
                break;
            }
        }
    }
    let admit_base = t.elapsed();

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
