//! Benchmark: Exchange Online through Graph, against the real application in-process and the
//! Graph simulator over HTTP. `BENCH_MAILBOXES` mailboxes (default 500), `BENCH_MEETINGS` `@cms`
//! meetings (default 200) created over `BENCH_SECONDS` (default 40): event → updated invite
//! p50/p99 with change notifications to `/hooks/graph` (polling at an hour, so only the
//! notifications count), beside polling alone every `BENCH_POLL_SECONDS` (default 60, the
//! default `graph_poll_seconds`), measured on a fresh simulator in the same run.
//! Before measuring, each setup is checked: `/healthz` answers 200 with its "ok" text, every
//! mailbox had its first round, and (notifications) every mailbox is subscribed — which the
//! simulator only allows after `/hooks/graph` answered its validation with 200 and the very token.
//! After, every notification must have been answered 202 (a fast 4xx would look like speed).
//! Run: `cargo bench -p server --bench calendar_graph`

use server::config::{CmsNodeConfig, Config, Secret};
use server::startup::{Application, Mode};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use switchboard::sim::cms::{SimCms, SimConfig};
use switchboard::sim::graph::{GraphSimConfig, SimGraph};
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

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(((v.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN)
}

struct Run {
    _cms: SimCms,
    graph: SimGraph,
    mailboxes: Vec<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

async fn start(n: usize, notifications: bool, poll_seconds: u64) -> Run {
    let cms = SimCms::start(
        "127.0.0.1:0".parse().unwrap(),
        SimConfig { username: "api".into(), password: "pw".into(), max_page: 20, ..SimConfig::default() },
    )
    .await
    .unwrap();
    let mailboxes: Vec<String> = (1..=n).map(|i| format!("user{i}@cloud.example.com")).collect();
    for (i, m) in mailboxes.iter().enumerate() {
        let jid = format!("user{}@cms.example.com", i + 1);
        cms.cluster.add_user(&jid, &format!("User {}", i + 1), m);
        cms.cluster.add_co_space(
            &format!("User {}", i + 1),
            &format!("user{}.space", i + 1),
            &format!("{}", 600_000 + i),
            Some(&jid),
            None,
        );
    }
    let graph = SimGraph::start("127.0.0.1:0".parse().unwrap(), GraphSimConfig { mailboxes: mailboxes.clone(), ..GraphSimConfig::demo(1) })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut cfg = Config::default();
    cfg.server.addr = format!("127.0.0.1:{port}").parse().unwrap();
    cfg.server.data_dir = dir.path().to_path_buf();
    cfg.server.secure_cookies = Some(false);
    cfg.cms.username = "api".into();
    cfg.cms.password = Secret("pw".into());
    cfg.cms.nodes =
        vec![CmsNodeConfig { name: "cb1".into(), url: cms.url(0), username: None, password: None, ca_file: None, insecure: false }];
    let c = &mut cfg.calendar;
    c.enabled = true;
    // Meeting passcodes are sealed at rest: the calendar refuses to start without a key.
    c.secrets_key = Some(Secret(switchboard::secret::SecretBox::generate_key()));
    c.join.sip_domain = "example.com".into();
    c.mail_domain = "cloud.example.com".into();
    c.web_app_url = "https://join.example.com".into();
    c.graph_tenant = "contoso".into();
    c.graph_client_id = "switchboard-app".into();
    c.graph_client_secret = Secret("app-secret".into());
    c.graph_login_url = graph.login_url();
    c.graph_api_url = graph.api_url();
    c.graph_poll_seconds = poll_seconds;
    if notifications {
        c.graph_notification_url = format!("http://127.0.0.1:{port}/hooks/graph");
    }
    let app = Application::build(&cfg, Mode::Serve).await.expect("application builds");
    let (stop, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    wait_until_ready(&graph, n, notifications, port).await;
    Run { _cms: cms, graph, mailboxes, stop, task, _dir: dir }
}

/// Ready: every mailbox's first round done (a delta request each), and with notifications
/// every mailbox subscribed; healthy; and every validation of `/hooks/graph` answered 200.
async fn wait_until_ready(graph: &SimGraph, n: usize, notifications: bool, port: u16) {
    let t = Instant::now();
    loop {
        let asked: std::collections::HashSet<String> = graph
            .requests()
            .into_iter()
            .filter(|(_, p)| p.contains("/calendarView/delta"))
            .filter_map(|(_, p)| p.split('/').nth(3).map(str::to_string))
            .collect();
        let subscribed = graph.subscriptions().len();
        if asked.len() >= n && (!notifications || subscribed >= n) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(300), "not ready: {} mailboxes polled, {subscribed} subscribed", asked.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await.expect("the server answers");
    assert_eq!(health.status(), 200, "healthy before measuring");
    assert!(health.text().await.unwrap_or_default().starts_with("ok:"), "the health text");
    if notifications {
        let validations: Vec<u16> = graph.deliveries().iter().filter(|d| d.kind == "validation").map(|d| d.status).collect();
        assert!(validations.len() >= n && validations.iter().all(|s| *s == 200), "every validation answered 200");
    }
}

/// Creates `meetings` over `seconds` and returns each one's event → updated-invite time.
async fn drive(r: &Run, meetings: usize, seconds: usize, limit: Duration) -> Vec<f64> {
    let gap = Duration::from_secs_f64(seconds as f64 / meetings as f64);
    let start = OffsetDateTime::now_utc() + time::Duration::hours(3);
    let mut created: HashMap<String, Instant> = HashMap::new();
    let mut done: HashMap<String, f64> = HashMap::new();
    let (t0, mut next) = (Instant::now(), Instant::now());
    while created.len() < meetings || (done.len() < meetings && t0.elapsed() < limit) {
        if created.len() < meetings && Instant::now() >= next {
            let m = &r.mailboxes[(created.len() * 7) % r.mailboxes.len()];
            let id = r.graph.create_meeting(m, "Bench", "Room @cms", "<p>x</p>", start, start + time::Duration::hours(1));
            created.insert(id, Instant::now());
            next += gap;
        }
        for (id, at) in &created {
            if !done.contains_key(id) && r.graph.event(id).is_some_and(|e| e.updates > 0) {
                done.insert(id.clone(), at.elapsed().as_secs_f64());
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(done.len(), meetings, "every meeting got its invite");
    done.into_values().collect()
}

async fn stop(r: Run) {
    let _ = r.stop.send(());
    let _ = r.task.await;
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every path at a tiny size; the figures only show that it runs)");
    }
    let (n, meetings, seconds, poll) =
        (env("BENCH_MAILBOXES", 500, 10), env("BENCH_MEETINGS", 200, 5), env("BENCH_SECONDS", 40, 1), env("BENCH_POLL_SECONDS", 60, 5));
    println!("Calendar over Graph: {n} mailboxes in the Graph simulator, {meetings} @cms meetings created over {seconds} s");

    let t = Instant::now();
    let run = start(n, true, 3600).await;
    let ready = t.elapsed().as_secs_f64();
    let mut lat = drive(&run, meetings, seconds, Duration::from_secs(seconds as u64 + 120)).await;
    let posts: Vec<u16> = run.graph.deliveries().iter().filter(|d| d.kind == "created" || d.kind == "updated").map(|d| d.status).collect();
    assert!(
        posts.iter().all(|s| *s == 202),
        "every notification answered 202: {:?}",
        posts.iter().filter(|s| **s != 202).collect::<Vec<_>>()
    );
    let sent = posts.len();
    stop(run).await;
    let (p50, p99) = (pct(&mut lat, 0.5), pct(&mut lat, 0.99));
    println!("  notifications: p50 {p50:.2} s, p99 {p99:.2} s; now the baseline (polling, a few minutes)");

    let run = start(n, false, poll as u64).await;
    let mut base = drive(&run, meetings, seconds, Duration::from_secs(seconds as u64 + poll as u64 * 3)).await;
    stop(run).await;
    let (b50, b99) = (pct(&mut base, 0.5), pct(&mut base, 0.99));

    println!("  {:<58} {:>8} {:>8}", "", "p50 s", "p99 s");
    println!("  {:<58} {p50:>8.2} {p99:>8.2}", format!("change notifications ({n} subscriptions, ready in {ready:.1} s, {sent} posts)"));
    println!("  {:<58} {b50:>8.2} {b99:>8.2}", format!("delta polling every {poll} s"));
    println!("  p99 ratio: {:.0}x", b99 / p99);
}
