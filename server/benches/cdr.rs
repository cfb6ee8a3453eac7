//! Benchmark of the CDR receiver, against the real `switchboard` binary in its own process:
//! 1. ingest over keep-alive HTTP on loopback, 50 records per POST, durable (fsync before the
//!    200): 1, 2 and 8 Call Bridges posting at once, records/s and POST latency p50/p99 (targets
//!    at 8: >= 50,000 records/s, p99 <= 50 ms), next to the same work committed one batch at a
//!    time (`cdr.max_group_batches = 1`) and next to the same binary not durable (its database
//!    on tmpfs, where fsync is free) in the same run, and parsing alone in-process;
//! 2. from a guest joining in the CMS simulator to the banner PUT reaching it, at a steady
//!    ~500 records/s of other traffic: p50/p99 (target p99 <= 50 ms);
//! 3. peak memory (VmHWM) of the server holding 5,000 live legs (target <= 150 MB).
//!
//! Run: `cargo bench -p server --bench cdr` (`BENCH_RECORDS` changes the size of part 1).

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use switchboard::sim::cms::{Joiner, SimCms, SimConfig};

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn peak_rss_mb(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let kb = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kb("VmHWM:") / 1024.0, kb("VmRSS:") / 1024.0)
    }
}

/// Where a server keeps its database: on the disk the product runs on (every commit fsynced
/// before its 200), or on tmpfs, where fsync costs nothing and nothing survives a power failure
/// — the same binary and SQL without what durability costs, as the not-durable baseline.
#[derive(Clone, Copy, PartialEq)]
enum Medium {
    Disk,
    Tmpfs,
}

async fn start_server(extra: &str) -> Server {
    start_server_on(extra, Medium::Disk).await
}

async fn start_server_on(extra: &str, medium: Medium) -> Server {
    let dir = match medium {
        Medium::Disk => tempfile::tempdir().unwrap(),
        Medium::Tmpfs => tempfile::tempdir_in("/dev/shm").expect("a tmpfs at /dev/shm for the not-durable baseline"),
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = dir.path().join("bench.toml");
    let mut f = std::fs::File::create(&cfg).unwrap();
    // The benchmark posts from loopback without a token: an open receiver, on purpose.
    writeln!(f, "[server]\naddr = \"127.0.0.1:{port}\"\ndata_dir = \"{}\"\nmax_body_bytes = 8388608\n", dir.path().join("data").display())
        .unwrap();
    let extra =
        if extra.contains("[cdr]") { extra.replace("[cdr]\n", "[cdr]\nopen = true\n") } else { format!("[cdr]\nopen = true\n{extra}") };
    writeln!(f, "{extra}").unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(["serve", "--config", cfg.to_str().unwrap()])
        .env("SWITCHBOARD_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start switchboard");
    // Owned at once, so the process is killed and reaped on every path (a panic included).
    let server = Server { child, base: format!("http://127.0.0.1:{port}"), _dir: dir };
    let http = reqwest::Client::new();
    for _ in 0..200 {
        if http.get(format!("{}/healthz", server.base)).send().await.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("switchboard did not start");
}

/// A CMS-style GUID from numbers (CDR call and leg ids must be GUIDs).
fn gid(kind: u32, a: u64, b: u64) -> String {
    format!("{kind:02x}{:06x}-0000-4000-8000-{b:012x}", a & 0xff_ffff)
}

/// CDR bodies of `n_batches` x 50 records: calls that start, gain legs that connect and leave, end.
fn bodies(session: &str, n_batches: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(n_batches);
    let mut idx = 0u64;
    let mut call = 0u64;
    let mut recs: Vec<String> = Vec::new();
    let mut push = |recs: &mut Vec<String>, kind: &str, inner: String| {
        idx += 1;
        recs.push(format!(
            "<record type=\"{kind}\" time=\"2026-11-23T10:00:00Z\" recordIndex=\"{idx}\" correlatorIndex=\"{}\">{inner}</record>",
            idx - 1
        ));
    };
    while out.len() < n_batches {
        call += 1;
        let c = gid(0xc0, call, session.len() as u64);
        push(
            &mut recs,
            "callStart",
            format!(
                "<call id=\"{c}\"><name>Bench {call}</name><callType>coSpace</callType><callCorrelator>k-{call}</callCorrelator></call>"
            ),
        );
        for leg in 0..8 {
            let id = gid(0x1e, call, leg);
            push(&mut recs, "callLegStart", format!("<callLeg id=\"{id}\"><displayName>Person {leg}</displayName><remoteAddress>p{leg}@example.com</remoteAddress><type>sip</type><direction>incoming</direction><call>{c}</call></callLeg>"));
            push(
                &mut recs,
                "callLegUpdate",
                format!("<callLeg id=\"{id}\"><state>connected</state><call>{c}</call><deactivated>false</deactivated></callLeg>"),
            );
        }
        for leg in 0..8 {
            push(
                &mut recs,
                "callLegEnd",
                format!(
                    "<callLeg id=\"{}\"><reason>remoteTeardown</reason><durationSeconds>60</durationSeconds></callLeg>",
                    gid(0x1e, call, leg)
                ),
            );
        }
        push(
            &mut recs,
            "callEnd",
            format!("<call id=\"{c}\"><callLegsCompleted>8</callLegsCompleted><durationSeconds>60</durationSeconds></call>"),
        );
        while recs.len() >= 50 && out.len() < n_batches {
            let batch: Vec<String> = recs.drain(..50).collect();
            out.push(format!("<?xml version=\"1.0\"?>\n<records session=\"{session}\">{}</records>", batch.concat()));
        }
    }
    out
}

/// Posts every body, spread over `connections` Call Bridges (one keep-alive connection and one
/// batch in flight each, as CMS sends). Returns records/s and every POST's latency in ms.
async fn ingest(server: &Server, bodies: Vec<String>, connections: usize) -> (f64, Vec<f64>) {
    let n_records = bodies.len() * 50;
    let chunks: Vec<Vec<String>> = {
        let mut c = vec![Vec::new(); connections];
        for (i, b) in bodies.into_iter().enumerate() {
            c[i % connections].push(b);
        }
        c
    };
    let t = Instant::now();
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let url = format!("{}/cdr", server.base);
            tokio::spawn(async move {
                let http = reqwest::Client::builder().pool_max_idle_per_host(1).build().unwrap();
                let mut lat = Vec::with_capacity(chunk.len());
                for b in chunk {
                    let t = Instant::now();
                    let r = http.post(&url).header("content-type", "text/xml").body(b).send().await.unwrap();
                    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
                    lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                lat
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let rate = n_records as f64 / t.elapsed().as_secs_f64();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (rate, latencies)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Refuses to measure a server that does not store what it is sent: a fast 4xx looks like speed.
async fn check_answers(server: &Server) {
    let http = reqwest::Client::new();
    let body = bodies("S-check", 1).remove(0);
    let r = http.post(format!("{}/cdr", server.base)).body(body).send().await.unwrap();
    assert_eq!(r.status(), 200, "the receiver must accept a real batch before it is measured");
    let metrics = http.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_cdr_records_total 50"), "the 50 records were stored: {metrics}");
}

/// `BENCH_SMOKE=1` (or `--smoke`): the test command's run, every part at a size
/// that takes a few seconds, so the benchmark cannot break unnoticed. Its figures mean nothing.
/// (Not a `SWITCHBOARD_` name: the server started here would read it as configuration.)
fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|v| v != "0") || std::env::args().any(|a| a == "--smoke")
}

/// The full run's size, or the smoke run's.
fn size(full: usize, smoke_size: usize) -> usize {
    if smoke() {
        smoke_size
    } else {
        full
    }
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every part at a tiny size; the figures only show that it runs)");
    }
    let n_records: usize = std::env::var("BENCH_RECORDS").ok().and_then(|v| v.parse().ok()).unwrap_or(size(200_000, 1_000));
    throughput(n_records / 50).await;
    memory_with_live_legs().await;
    banner_latency().await;
}

/// Part 1, ingest throughput and POST latency at 1, 2 and 8 bridges: durable with group
/// commit, durable one commit per batch, and not durable; then parsing alone.
async fn throughput(n_batches: usize) {
    let baseline_bodies = bodies("S-parse", n_batches);
    let t = Instant::now();
    let mut parsed = 0;
    for b in &baseline_bodies {
        parsed += switchboard::cdr::parse::parse_batch(b).unwrap().records.len();
    }
    let parse_rate = parsed as f64 / t.elapsed().as_secs_f64();
    println!("CDR ingest, 50 records per POST, keep-alive on loopback. Durable: the database on disk, fsync before each 200.");
    println!("Not durable: the same binary with its database on tmpfs (/dev/shm), where fsync is free and a power failure loses all.");
    println!(
        "  bridges | durable, group commit: records/s  p50 ms  p99 ms | durable, one commit per batch: records/s  p99 ms | not durable: records/s  p99 ms | group/one  durable/not"
    );
    let mut at8 = (0.0, 0.0);
    for bridges in [1usize, 2, 8] {
        let mut row = Vec::new();
        for (group, medium) in [(200usize, Medium::Disk), (1, Medium::Disk), (200, Medium::Tmpfs)] {
            let server = start_server_on(&format!("[cdr]\nmax_group_batches = {group}\n"), medium).await;
            check_answers(&server).await;
            let (rate, lat) = ingest(&server, bodies(&format!("S-{bridges}-{group}"), n_batches / 2), bridges).await;
            row.push((rate, pct(&lat, 0.5), pct(&lat, 0.99)));
        }
        let ((g, g50, g99), (b, _, b99), (n, _, n99)) = (row[0], row[1], row[2]);
        println!(
            "  {bridges:>7} | {g:>33.0} {g50:>7.1} {g99:>7.1} | {b:>40.0} {b99:>7.1} | {n:>22.0} {n99:>7.1} | {:>8.2}x {:>10.2}x",
            g / b,
            g / n
        );
        if bridges == 8 {
            at8 = (g, g99);
        }
    }
    println!(
        "  at 8 bridges, durable: {:.0} records/s ({:.0}% of the 50,000/s target), p99 {:.1} ms (target <= 50 ms)",
        at8.0,
        at8.0 / 500.0,
        at8.1
    );
    println!("  baseline, parsing alone in-process: {parse_rate:>9.0} records/s");
}

/// Part 3, memory with 5,000 live legs (fresh process): 200 calls x 25 connected legs.
async fn memory_with_live_legs() {
    let calls = size(200, 4) as u64;
    let server = start_server("").await;
    let (before, _) = server.peak_rss_mb();
    let mut live = Vec::new();
    let mut idx = 0u64;
    for call in 0..calls {
        let mut recs = vec![];
        idx += 1;
        let m = gid(0xaa, call, 0);
        recs.push(format!("<record type=\"callStart\" time=\"t\" recordIndex=\"{idx}\"><call id=\"{m}\"><name>Meeting {call}</name><callCorrelator>mk-{call}</callCorrelator></call></record>"));
        for leg in 0..25 {
            idx += 1;
            let l = gid(0xab, call, leg);
            recs.push(format!("<record type=\"callLegStart\" time=\"t\" recordIndex=\"{idx}\"><callLeg id=\"{l}\"><displayName>Person {leg} of meeting {call}</displayName><remoteAddress>person{leg}.m{call}@example.com</remoteAddress><localAddress>meeting{call}@meet.example.com</localAddress><type>sip</type><direction>incoming</direction><call>{m}</call></callLeg></record>"));
            idx += 1;
            recs.push(format!("<record type=\"callLegUpdate\" time=\"t\" recordIndex=\"{idx}\"><callLeg id=\"{l}\"><state>connected</state><call>{m}</call><deactivated>false</deactivated></callLeg></record>"));
        }
        live.push(format!("<records session=\"S-mem\">{}</records>", recs.concat()));
    }
    check_answers(&server).await;
    ingest(&server, live, 1).await;
    let (peak, rss) = server.peak_rss_mb();
    println!("Memory with {} live legs: peak {peak:.1} MB, now {rss:.1} MB (at start {before:.1} MB; target <= 150 MB)", calls * 25);
    drop(server);
}

/// Part 2, banner latency under a steady ~500 records/s.
async fn banner_latency() {
    let sim = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "b".into(), password: "b-pass".into(), ..SimConfig::default() },
    )
    .await
    .unwrap();
    let server = start_server(&format!(
        "[cms]\nusername = \"b\"\npassword = \"b-pass\"\nhealth_interval_seconds = 60\n[[cms.nodes]]\nname = \"cb1\"\nurl = \"{}\"\n",
        sim.url(0)
    ))
    .await;
    sim.cluster.add_cdr_receiver(0, &format!("{}/cdr", server.base)).unwrap();
    // Background: restricted calls (their banner never changes) where people join and leave.
    let background: Vec<String> =
        (0..20).map(|i| sim.cluster.start_call(0, None, Some(&format!("Restricted load {i}"))).unwrap()).collect();
    let cluster = sim.cluster.clone();
    let load = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(4));
        let mut joined: Vec<(String, String)> = Vec::new();
        let mut n = 0usize;
        loop {
            tick.tick().await;
            n += 1;
            let call = &background[n % background.len()];
            if joined.len() > 200 || (n.is_multiple_of(2) && !joined.is_empty()) {
                let (c, l) = joined.remove(0);
                let _ = cluster.leave(0, &l);
                let _ = c;
            } else if let Ok(j) = cluster.join(0, call, Joiner::sip("Load", "load@example.com", true)) {
                joined.push((call.clone(), j.leg));
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(size(2000, 300) as u64)).await;
    let mut latencies = Vec::new();
    for i in 0..size(150, 5) {
        let call = sim.cluster.start_call(0, None, Some(&format!("Probe {i}"))).unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
        let t0 = sim.node(0).clock_us();
        sim.cluster.join(0, &call, Joiner::web_guest("Probe guest")).unwrap();
        let path = format!("/api/v1/calls/{call}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(r) = sim.node(0).requests().iter().rev().find(|r| r.method == "PUT" && r.path == path) {
                latencies.push((r.at_us.saturating_sub(t0)) as f64 / 1000.0);
                break;
            }
            if Instant::now() > deadline {
                latencies.push(5000.0);
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = sim.cluster.end_call(0, &call);
        if i % 50 == 49 {
            sim.node(0).clear_requests();
        }
    }
    load.abort();
    let stats = sim.node(0).cdr_stats();
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    println!(
        "Guest joins -> banner PUT at the simulator (includes CMS's CDR send), {} probes under ~500 records/s: p50 {:.1} ms, p99 {:.1} ms (target p99 <= 50 ms); {} records delivered",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        stats.iter().map(|s| s.delivered).sum::<u64>()
    );
    drop(server);
}
