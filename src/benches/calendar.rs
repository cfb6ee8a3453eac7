//! Benchmark: 2,000 mailboxes watched in the EWS simulator, 500 `@cms` meetings created over a
//! minute: event → updated invite p50/p99, memory and connections used — beside the sample's
//! approach (every mailbox polled every 60 s) measured on the same simulator in the same run.
//! Run: `cargo bench -p switchboard --features sim --bench calendar`
//! (`BENCH_MAILBOXES`, `BENCH_MEETINGS`, `BENCH_SECONDS`, `BENCH_POLL_SECONDS`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::calendar::exchange::ews::{EwsClient, ItemChange};
use switchboard::calendar::service::{CalendarConfig, CalendarService};
use switchboard::calendar::users::{SyncConfig, UserSync};
use switchboard::calendar::watch::ews::EwsWatcher;
use switchboard::cms::{CmsNode, NodeConfig};
use switchboard::sim::cms::{SimCms, SimConfig};
use switchboard::sim::ews::{EwsSimConfig, SimEws};
use switchboard::store::Store;
use switchboard::workers::{WorkerSpec, Workers};
use time::OffsetDateTime;

/// `BENCH_SMOKE=1` (or `--smoke`): the test command's run, every path at a size
/// that takes a second or two, so the benchmark cannot break unnoticed. Its figures mean nothing.
fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|v| v != "0") || std::env::args().any(|a| a == "--smoke")
}

/// A size from the environment, else the full run's or the smoke run's default.
fn env(name: &str, full: usize, smoke_size: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if smoke() { smoke_size } else { full })
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .unwrap_or(0.0)
        / 1024.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

struct World {
    cms: SimCms,
    ews: SimEws,
    mailboxes: Vec<String>,
}

async fn world(n: usize) -> World {
    let cms = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "api".into(), password: "pw".into(), max_page: 20, ..SimConfig::default() },
    )
    .await
    .unwrap();
    for i in 1..=n {
        cms.cluster.add_user(&format!("user{i}@cms.example.com"), &format!("User {i}"), &format!("user{i}@example.com"));
        cms.cluster.add_co_space(
            &format!("User {i}"),
            &format!("user{i}.space"),
            &format!("{}", 500_000 + i),
            Some(&format!("user{i}@cms.example.com")),
            None,
        );
    }
    let mut cfg = EwsSimConfig::demo(n);
    cfg.keepalive_seconds = 30;
    let ews = SimEws::start("127.0.0.1:0".parse().unwrap(), cfg.clone()).await.unwrap();
    World { cms, ews, mailboxes: cfg.mailboxes }
}

async fn service(w: &World, dir: &std::path::Path) -> Arc<CalendarService> {
    let store = Store::open_in_dir(dir).await.unwrap();
    store.migrate().await.unwrap();
    let node = CmsNode::new(NodeConfig::new("cb1", &w.cms.url(0), "api", "pw")).unwrap();
    let users = Arc::new(UserSync::new(
        store.clone(),
        SyncConfig {
            mail_domain: "example.com".into(),
            space_suffix: "space".into(),
            web_app_url: "https://join.example.com".into(),
            concurrency: 16,
        },
        switchboard::secret::SecretBox::from_base64(&switchboard::secret::SecretBox::generate_key()).unwrap(),
    ));
    let r = users.run(&node, "bench").await.unwrap();
    assert_eq!((r.users, r.no_space), (w.mailboxes.len(), 0), "every user synced with a space before measuring");
    let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
    Arc::new(CalendarService::new(store, users, client, CalendarConfig { sip_domain: "example.com".into(), ..CalendarConfig::default() }))
}

/// Creates `meetings` over `seconds` and returns each one's event → updated-invite time.
async fn drive(w: &World, meetings: usize, seconds: usize, limit: Duration) -> Vec<f64> {
    let gap = Duration::from_secs_f64(seconds as f64 / meetings as f64);
    let start = OffsetDateTime::now_utc() + time::Duration::hours(3);
    let mut created: HashMap<String, Instant> = HashMap::new();
    let mut done: HashMap<String, f64> = HashMap::new();
    let t0 = Instant::now();
    let mut next = Instant::now();
    while created.len() < meetings || (done.len() < meetings && t0.elapsed() < limit) {
        if created.len() < meetings && Instant::now() >= next {
            let m = &w.mailboxes[(created.len() * 7) % w.mailboxes.len()];
            let id = w.ews.create_meeting(
                m,
                "Bench",
                "Room @cms",
                "<html><body><p>x</p></body></html>",
                start,
                start + time::Duration::hours(1),
            );
            created.insert(id, Instant::now());
            next += gap;
        }
        for (id, at) in &created {
            if !done.contains_key(id) && w.ews.item(id).is_some_and(|i| i.updates > 0) {
                done.insert(id.clone(), at.elapsed().as_secs_f64());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(done.len(), meetings, "every meeting got its invite");
    done.into_values().collect()
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every path at a tiny size; the figures only show that it runs)");
    }
    let (n, meetings, seconds, poll) =
        (env("BENCH_MAILBOXES", 2000, 20), env("BENCH_MEETINGS", 500, 5), env("BENCH_SECONDS", 60, 1), env("BENCH_POLL_SECONDS", 60, 1));
    println!("Calendar: {n} mailboxes in the EWS simulator, {meetings} @cms meetings created over {seconds} s");

    // Switchboard: streaming notifications.
    let w = world(n).await;
    let dir = tempfile::tempdir().unwrap();
    let svc = service(&w, dir.path()).await;
    let before = rss_mb();
    let client = EwsClient::new(reqwest::Client::new(), &w.ews.url(), "svc-switchboard", "svc-pass");
    let watcher = Arc::new(EwsWatcher::new(client, svc.clone(), Store::open_in_dir(dir.path()).await.unwrap()));
    let workers = Workers::new();
    let (wt, mbs) = (watcher.clone(), w.mailboxes.clone());
    workers.spawn(WorkerSpec::new("calendar-ews"), move |ctx| wt.clone().run(mbs.clone(), ctx));
    let t = Instant::now();
    while w.ews.open_streams() < n.div_ceil(200) as u64 {
        assert!(t.elapsed() < Duration::from_secs(300), "streams did not open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subscribed_in = t.elapsed().as_secs_f64();
    let mut lat = drive(&w, meetings, seconds, Duration::from_secs(seconds as u64 + 120)).await;
    let streams = w.ews.open_streams();
    let rss = rss_mb();
    workers.shutdown().await;
    let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
    println!("  streaming: p50 {p50:.2} s, p99 {p99:.2} s over {} meetings; now the baseline (a few minutes)", lat.len());

    // The sample's approach on the same simulator: every mailbox polled every `poll` seconds.
    let w2 = world(n).await;
    let dir2 = tempfile::tempdir().unwrap();
    let svc2 = service(&w2, dir2.path()).await;
    let client2 = EwsClient::new(reqwest::Client::new(), &w2.ews.url(), "svc-switchboard", "svc-pass");
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<()>();
    let poller = {
        let (svc2, client2, mbs, stop) = (svc2.clone(), client2.clone(), w2.mailboxes.clone(), stop.clone());
        tokio::spawn(async move {
            let mut states: HashMap<String, String> = HashMap::new();
            // Start from "now": the first pass only records where each mailbox is.
            for m in &mbs {
                if let Ok(p) = client2.sync(m, None).await {
                    states.insert(m.clone(), p.sync_state);
                }
            }
            let _ = ready_tx.send(());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let pass = Instant::now();
                for m in &mbs {
                    let Ok(p) = client2.sync(m, states.get(m).map(String::as_str)).await else { continue };
                    for c in &p.changes {
                        let (ItemChange::Changed(id) | ItemChange::Removed(id)) = c;
                        let _ = svc2.process(m, id, None).await;
                    }
                    states.insert(m.clone(), p.sync_state);
                }
                tokio::time::sleep(Duration::from_secs(poll as u64).saturating_sub(pass.elapsed())).await;
            }
        })
    };
    // Meetings start once every mailbox has a starting point (else early ones would count as old).
    let _ = ready_rx.await;
    let mut base = drive(&w2, meetings, seconds, Duration::from_secs(seconds as u64 + poll as u64 * 3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    poller.abort();
    let (b50, b99) = (pct(&mut base, 0.5), pct(&mut base, 0.99));

    println!("  {:<44} {:>8} {:>8}", "", "p50 s", "p99 s");
    println!("  {:<44} {p50:>8.2} {p99:>8.2}", format!("streaming ({streams} connections, subscribed in {subscribed_in:.1} s)"));
    println!("  {:<44} {b50:>8.2} {b99:>8.2}", format!("polling every {poll} s (the sample)"));
    println!("  p99 ratio: {:.0}x; goal p99 <= 5 s: {}", b99 / p99, if p99 <= 5.0 { "met" } else { "MISSED" });
    println!(
        "  memory: {rss:.0} MB RSS with {n} mailboxes watched (benchmark process incl. both simulators; {before:.0} MB before watching)"
    );
}
