//! Benchmark: list 200 calls with 25 legs each (with lobby state per leg) from the CMS simulator
//! at 20 ms latency per request, concurrently (bounded per node) and one request at a time, in
//! the same run. `BENCH_CALLS`, `BENCH_LEGS`, `BENCH_LATENCY_MS` and `BENCH_CONCURRENCY` change
//! the sizes. Run: `cargo bench -p switchboard --features sim --bench cms_listing`.

use futures::stream::{self, StreamExt, TryStreamExt};
use std::time::{Duration, Instant};
use switchboard::cms::model::{CallLeg, CallLegSummary, CallSummary};
use switchboard::cms::{CmsNode, NodeConfig};
use switchboard::sim::cms::{Scenario, SimCms, SimConfig};

/// `BENCH_SMOKE=1` (or `--smoke`): the test command's run, every path at a size
/// that takes a second or two, so the benchmark cannot break unnoticed. Its figures mean nothing.
fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|v| v != "0") || std::env::args().any(|a| a == "--smoke")
}

/// A size from the environment, else the full run's or the smoke run's default.
fn env(name: &str, full: usize, smoke_size: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if smoke() { smoke_size } else { full })
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every path at a tiny size; the figures only show that it runs)");
    }
    let (calls, legs, latency, conc) =
        (env("BENCH_CALLS", 200, 10), env("BENCH_LEGS", 25, 5), env("BENCH_LATENCY_MS", 20, 2), env("BENCH_CONCURRENCY", 32, 8));
    let cfg = SimConfig { username: "bench".into(), password: "bench-pass".into(), ..SimConfig::default() };
    let sim = SimCms::start("127.0.0.1:0".parse().unwrap(), cfg).await.unwrap();
    Scenario::populate(&sim.cluster, 0, calls, legs);
    sim.node(0).faults.set_latency(Duration::from_millis(latency as u64));

    let mut nc = NodeConfig::new("cb1", &sim.url(0), "bench", "bench-pass");
    nc.max_concurrency = conc;
    nc.timeout = Duration::from_secs(30);
    let node = CmsNode::new(nc).unwrap();

    println!("Listing {calls} calls x {legs} legs (details per leg) at {latency} ms per request, sim page size 10");

    let t = Instant::now();
    let list = node.calls().await.unwrap();
    let detailed: Vec<Vec<CallLeg>> =
        stream::iter(list.iter()).map(|c| node.call_legs_detailed(&c.id)).buffer_unordered(conc).try_collect().await.unwrap();
    let concurrent = t.elapsed();
    let n_legs: usize = detailed.iter().map(Vec::len).sum();
    assert_eq!((list.len(), n_legs), (calls, calls * legs));
    let requests_concurrent = sim.node(0).requests().len();
    sim.node(0).clear_requests();

    let t = Instant::now();
    let list: Vec<CallSummary> = node.list_all_sequential("/calls", &[]).await.unwrap();
    let mut n = 0;
    for c in &list {
        let ls: Vec<CallLegSummary> = node.list_all_sequential(&format!("/calls/{}/callLegs", c.id), &[]).await.unwrap();
        for l in ls {
            node.call_leg(&l.id).await.unwrap();
            n += 1;
        }
    }
    let sequential = t.elapsed();
    assert_eq!(n, calls * legs);
    let requests_sequential = sim.node(0).requests().len();

    println!("  concurrent (<= {conc} in flight): {:>8.2} s  ({requests_concurrent} requests)", concurrent.as_secs_f64());
    println!("  one at a time (baseline):      {:>8.2} s  ({requests_sequential} requests)", sequential.as_secs_f64());
    println!("  speed-up: {:.1}x", sequential.as_secs_f64() / concurrent.as_secs_f64());
}
