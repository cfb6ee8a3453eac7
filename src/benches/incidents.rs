//! Benchmark: start an incident with 200 responders (200 Webex messages, 150 SMS, 100 voice
//! calls) against the Webex and Webex Connect simulators at 50 ms per request with 5 % of
//! requests answered 429: time until every delivery is accepted, next to the same work done one
//! request at a time, in the same run. Goal: <= 5 s.
//! Run: `cargo bench -p switchboard --features sim --bench incidents`
//! (`BENCH_RESPONDERS`, `BENCH_SMS`, `BENCH_VOICE`, `BENCH_LATENCY_MS`, `BENCH_CONCURRENCY`).

use std::sync::Arc;
use std::time::{Duration, Instant};
use switchboard::incident::{Commander, IncidentConfig, IncidentService, WebexAccess};
use switchboard::model::incident::{Channel, DeliveryStatus};
use switchboard::services::{Services, ServicesConfig, WebexSettings};
use switchboard::sim::connect::{ConnectConfig, SimConnect};
use switchboard::sim::webex::{SimOrg, SimWebex, WebexSimConfig};
use switchboard::store::Store;
use switchboard::webex::oauth::OAuthConfig;
use switchboard::webex::{LoginKind, SecretBox};
use switchboard::workers::WorkerSpec;

/// `BENCH_SMOKE=1` (or `--smoke`): the test command's run, every path at a size
/// that takes a second or two, so the benchmark cannot break unnoticed. Its figures mean nothing.
fn smoke() -> bool {
    std::env::var_os("BENCH_SMOKE").is_some_and(|v| v != "0") || std::env::args().any(|a| a == "--smoke")
}

/// A size from the environment, else the full run's or the smoke run's default.
fn env(name: &str, full: usize, smoke_size: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if smoke() { smoke_size } else { full })
}

struct Run {
    secs: f64,
    accepted: usize,
    throttled: usize,
}

/// The sizes of one run.
#[derive(Clone, Copy)]
struct Load {
    concurrency: usize,
    responders: usize,
    sms: usize,
    voice: usize,
    latency: u64,
}

/// The simulated world and the services under test, the org connected and its directory loaded.
struct World {
    webex: SimWebex,
    connect: SimConnect,
    org: SimOrg,
    services: Services,
    incidents: Arc<IncidentService>,
    _dir: tempfile::TempDir,
}

fn settings(sim_cfg: &WebexSimConfig, webex: &SimWebex, connect: &SimConnect, concurrency: usize) -> WebexSettings {
    let api = format!("{}/v1", webex.url());
    WebexSettings {
        oauth: OAuthConfig {
            client_id: sim_cfg.client_id.clone(),
            client_secret: sim_cfg.client_secret.clone(),
            authorize_url: format!("{api}/authorize"),
            token_url: format!("{api}/access_token"),
            redirect_url: "http://127.0.0.1:9/auth/webex/callback".into(),
            org_scopes: OAuthConfig::default_org_scopes(),
            user_scopes: OAuthConfig::default_user_scopes(),
        },
        api_base: api,
        secrets: SecretBox::from_base64(&SecretBox::generate_key()).unwrap(),
        access: WebexAccess::default(),
        connect: Some((connect.url(), "k".into())),
        incident: IncidentConfig {
            sms_from: "+14155550100".into(),
            voice_from: "+14155550199".into(),
            concurrency,
            responders_space_id: sim_cfg.org.room_by_title("Incident_Responders_Members").map(|r| r.id.clone()),
            ..IncidentConfig::default()
        },
        directory_refresh: Duration::from_secs(86_400),
        http: Default::default(),
        connect_http: Default::default(),
    }
}

/// Starts the simulators and the services, connects the org (admin consent) and loads the directory.
async fn world(load: Load) -> World {
    let mut sim_cfg = WebexSimConfig::demo();
    sim_cfg.org = SimOrg::demo(load.responders * 6 / 5 + 60);
    let org = sim_cfg.org.clone();
    let webex = SimWebex::start("127.0.0.1:0".parse().unwrap(), sim_cfg.clone()).await.unwrap();
    let connect = SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: "k".into() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let cfg = ServicesConfig {
        mode: "bench",
        rebuild_hours: 0,
        cdr_group_batches: 1,
        retention: Default::default(),
        webex: Some(settings(&sim_cfg, &webex, &connect, load.concurrency)),
        calendar: None,
    };
    let services = Services::build(store, None, None, cfg).await.unwrap();
    let w = services.webex.clone().unwrap();
    let (url, pending) = w.oauth.begin(LoginKind::OrgGrant, "/", time::OffsetDateTime::now_utc());
    let back = webex.consent(&url, "admin@example.com").await.unwrap();
    let code = back.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).unwrap().to_string();
    let tokens = w.oauth.finish(&pending, &pending.state, &code, time::OffsetDateTime::now_utc()).await.unwrap();
    let incidents: Arc<IncidentService> = w.incidents.clone();
    incidents.connect_org(tokens, "bench").await.unwrap();
    incidents.refresh_directory("bench").await.unwrap();
    World { webex, connect, org, services, incidents, _dir: dir }
}

/// The commander (checked against the simulator first: a fast 401 would look like speed).
async fn commander(w: &World) -> Commander {
    let token = w.webex.mint_token("moderator@example.com").unwrap();
    let me = w.services.webex.as_ref().unwrap().api.me(&token).await.unwrap();
    assert_eq!(me.email(), "moderator@example.com");
    Commander { person_id: me.id.clone(), name: me.display_name.clone(), email: me.email().into(), token }
}

/// Opens the space and adds the responders: people with a mobile number (SMS for the first
/// `sms`, voice for the first `voice`); returns the space and how many members it had before.
async fn populate(w: &World, c: &Commander, load: Load) -> (String, usize) {
    let room = w.org.room_by_title("Response - Network outage").unwrap().id.clone();
    w.incidents.open_space(c, &room, switchboard::model::Role::Operator).await.unwrap();
    let already: Vec<String> = w.webex.memberships(&room).iter().map(|m| m.person_id.clone()).collect();
    let people: Vec<_> = w
        .org
        .people
        .iter()
        .filter(|p| !already.contains(&p.id) && p.phones.iter().any(|(k, _)| k == "mobile"))
        .take(load.responders)
        .collect();
    assert_eq!(people.len(), load.responders, "enough people with a mobile number");
    for p in &people {
        w.incidents.add_internal(c, &room, &p.id).await.unwrap();
    }
    let page = w.incidents.page(&room, Some(&c.person_id), switchboard::model::Role::Admin).await.unwrap();
    let added: Vec<_> = page.responders.iter().filter(|r| !r.pre_existing && !r.is_commander).collect();
    for (i, r) in added.iter().enumerate() {
        if i < load.sms {
            w.incidents.set_channel("bench", &room, r.id, Channel::Sms, true).await.unwrap();
        }
        if i < load.voice {
            w.incidents.set_channel("bench", &room, r.id, Channel::Voice, true).await.unwrap();
        }
    }
    (room, page.responders.iter().filter(|r| r.pre_existing && !r.is_commander).count())
}

/// Starts the incident and waits until every delivery is accepted; returns the seconds taken.
async fn start_and_wait(w: &World, c: &Commander, room: &str, expected: usize) -> f64 {
    let t = Instant::now();
    let v = w.incidents.start(c, room, "Bench incident").await.unwrap();
    assert_eq!(v.deliveries.len(), expected, "200 messages (plus the space's own members), 150 SMS, 100 calls");
    loop {
        let v = w.incidents.incident(v.summary.id, switchboard::model::Role::Admin).await.unwrap();
        if v.deliveries.iter().all(|d| d.status.is_finished()) {
            let failed = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Failed).count();
            assert_eq!(failed, 0, "every delivery accepted");
            return t.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn run(load: Load) -> Run {
    let w = world(load).await;
    let c = commander(&w).await;
    let (room, pre) = populate(&w, &c, load).await;
    w.webex.faults().set_latency(Duration::from_millis(load.latency));
    w.webex.faults().set_throttle_every(20);
    w.connect.faults().set_latency(Duration::from_millis(load.latency));
    w.connect.faults().set_throttle_every(20);
    let worker = w.incidents.clone();
    w.services.workers.spawn(WorkerSpec::new("incident-deliveries").drains(), move |ctx| worker.clone().run_deliveries(ctx));
    let expected = load.responders + pre + load.sms + load.voice;
    let secs = start_and_wait(&w, &c, &room, expected).await;
    w.services.workers.shutdown().await;
    // What the simulators accepted: each once, with the incident's text.
    let msgs = w.webex.messages();
    assert_eq!(msgs.len(), load.responders + pre);
    assert!(msgs.iter().all(|m| m.markdown.as_deref().is_some_and(|t| t.contains("Bench incident"))));
    let accepted: Vec<_> = w.connect.messages().into_iter().filter(|m| m.status == 202).collect();
    assert_eq!(accepted.len(), load.sms + load.voice);
    let throttled =
        w.connect.messages().iter().filter(|m| m.status == 429).count() + w.webex.requests().iter().filter(|r| r.status == 429).count();
    Run { secs, accepted: msgs.len() + accepted.len(), throttled }
}

#[tokio::main]
async fn main() {
    if smoke() {
        println!("(smoke run: every path at a tiny size; the figures only show that it runs)");
    }
    let (n, sms, voice, latency, conc) = (
        env("BENCH_RESPONDERS", 200, 10),
        env("BENCH_SMS", 150, 6),
        env("BENCH_VOICE", 100, 4),
        env("BENCH_LATENCY_MS", 50, 5) as u64,
        env("BENCH_CONCURRENCY", 32, 8),
    );
    println!(
        "Incident start: {n} responders ({n} Webex messages, {sms} SMS, {voice} voice calls), {latency} ms per request, 5 % answered 429"
    );
    let load = Load { concurrency: conc, responders: n, sms, voice, latency };
    let fast = run(load).await;
    let slow = run(Load { concurrency: 1, ..load }).await;
    println!("  {:<34} {:>8} {:>10} {:>10}", "", "seconds", "accepted", "429s met");
    println!("  {:<34} {:>8.2} {:>10} {:>10}", format!("{conc} deliveries in flight"), fast.secs, fast.accepted, fast.throttled);
    println!("  {:<34} {:>8.2} {:>10} {:>10}", "one request at a time (baseline)", slow.secs, slow.accepted, slow.throttled);
    println!(
        "  ratio: {:.1}x faster; goal: every delivery accepted in <= 5 s: {}",
        slow.secs / fast.secs,
        if fast.secs <= 5.0 { "met" } else { "MISSED" }
    );
}
