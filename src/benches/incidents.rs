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

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Run {
    secs: f64,
    accepted: usize,
    throttled: usize,
}

async fn run(concurrency: usize, n: usize, sms: usize, voice: usize, latency: u64) -> Run {
    let mut sim_cfg = WebexSimConfig::demo();
    sim_cfg.org = SimOrg::demo(n * 6 / 5 + 60);
    let org = sim_cfg.org.clone();
    let webex = SimWebex::start("127.0.0.1:0".parse().unwrap(), sim_cfg.clone()).await.unwrap();
    let connect = SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: "k".into() }).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_in_dir(dir.path()).await.unwrap();
    store.migrate().await.unwrap();
    let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    let api = format!("{}/v1", webex.url());
    let settings = WebexSettings {
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
        secrets,
        access: WebexAccess::default(),
        connect: Some((connect.url(), "k".into())),
        incident: IncidentConfig {
            sms_from: "+14155550100".into(),
            voice_from: "+14155550199".into(),
            concurrency,
            ..IncidentConfig::default()
        },
        directory_refresh: Duration::from_secs(86_400),
    };
    let services = Services::build(
        store,
        None,
        None,
        ServicesConfig {
            mode: "bench",
            rebuild_hours: 0,
            cdr_group_batches: 1,
            retention: Default::default(),
            webex: Some(settings),
            calendar: None,
        },
    )
    .await
    .unwrap();
    let w = services.webex.clone().unwrap();
    let (url, pending) = w.oauth.begin(LoginKind::OrgGrant, "/", time::OffsetDateTime::now_utc());
    let back = webex.consent(&url, "admin@example.com").await.unwrap();
    let code = back.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).unwrap().to_string();
    let tokens = w.oauth.finish(&pending, &pending.state, &code, time::OffsetDateTime::now_utc()).await.unwrap();
    let incidents: Arc<IncidentService> = w.incidents.clone();
    incidents.connect_org(tokens, "bench").await.unwrap();
    incidents.refresh_directory("bench").await.unwrap();
    let token = webex.mint_token("moderator@example.com").unwrap();
    // Check first that the simulator answers as expected (a fast 401 would look like speed).
    let me = w.api.me(&token).await.unwrap();
    assert_eq!(me.email(), "moderator@example.com");
    let c = Commander { person_id: me.id.clone(), name: me.display_name.clone(), email: me.email().into(), token };
    let room = org.room_by_title("Response - Network outage").unwrap().id.clone();
    incidents.open_space(&c, &room).await.unwrap();

    // 200 responders: people with a mobile number (SMS for the first 150, voice for the first 100).
    let already: Vec<String> = webex.memberships(&room).iter().map(|m| m.person_id.clone()).collect();
    let people: Vec<_> =
        org.people.iter().filter(|p| !already.contains(&p.id) && p.phones.iter().any(|(k, _)| k == "mobile")).take(n).collect();
    assert_eq!(people.len(), n, "enough people with a mobile number");
    for p in &people {
        incidents.add_internal(&c, &room, &p.id).await.unwrap();
    }
    let page = incidents.page(&room, Some(&c.person_id)).await.unwrap();
    let added: Vec<_> = page.responders.iter().filter(|r| !r.pre_existing && !r.is_commander).collect();
    for (i, r) in added.iter().enumerate() {
        if i < sms {
            incidents.set_channel(&room, r.id, Channel::Sms, true).await.unwrap();
        }
        if i < voice {
            incidents.set_channel(&room, r.id, Channel::Voice, true).await.unwrap();
        }
    }
    let pre = page.responders.iter().filter(|r| r.pre_existing && !r.is_commander).count();

    webex.faults().set_latency(Duration::from_millis(latency));
    webex.faults().set_throttle_every(20);
    connect.faults().set_latency(Duration::from_millis(latency));
    connect.faults().set_throttle_every(20);
    let worker = incidents.clone();
    services.workers.spawn(WorkerSpec::new("incident-deliveries").drains(), move |ctx| worker.clone().run_deliveries(ctx));

    let t = Instant::now();
    let v = incidents.start(&c, &room, "Bench incident").await.unwrap();
    let total = v.deliveries.len();
    assert_eq!(total, n + pre + sms + voice, "200 messages (plus the space's own members), 150 SMS, 100 calls");
    let secs = loop {
        let v = incidents.incident(v.summary.id).await.unwrap();
        if v.deliveries.iter().all(|d| matches!(d.status, DeliveryStatus::Sent | DeliveryStatus::Failed)) {
            let failed = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Failed).count();
            assert_eq!(failed, 0, "every delivery accepted");
            break t.elapsed().as_secs_f64();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    services.workers.shutdown().await;
    // What the simulators accepted: each once, with the incident's text.
    let msgs = webex.messages();
    assert_eq!(msgs.len(), n + pre);
    assert!(msgs.iter().all(|m| m.markdown.as_deref().is_some_and(|t| t.contains("Bench incident"))));
    let accepted: Vec<_> = connect.messages().into_iter().filter(|m| m.status == 202).collect();
    assert_eq!(accepted.len(), sms + voice);
    let throttled =
        connect.messages().iter().filter(|m| m.status == 429).count() + webex.requests().iter().filter(|r| r.status == 429).count();
    Run { secs, accepted: msgs.len() + accepted.len(), throttled }
}

#[tokio::main]
async fn main() {
    let (n, sms, voice, latency, conc) = (
        env("BENCH_RESPONDERS", 200),
        env("BENCH_SMS", 150),
        env("BENCH_VOICE", 100),
        env("BENCH_LATENCY_MS", 50) as u64,
        env("BENCH_CONCURRENCY", 32),
    );
    println!(
        "Incident start: {n} responders ({n} Webex messages, {sms} SMS, {voice} voice calls), {latency} ms per request, 5 % answered 429"
    );
    let fast = run(conc, n, sms, voice, latency).await;
    let slow = run(1, n, sms, voice, latency).await;
    println!("  {:<34} {:>8} {:>10} {:>10}", "", "seconds", "accepted", "429s met");
    println!("  {:<34} {:>8.2} {:>10} {:>10}", format!("{conc} deliveries in flight"), fast.secs, fast.accepted, fast.throttled);
    println!("  {:<34} {:>8.2} {:>10} {:>10}", "one request at a time (baseline)", slow.secs, slow.accepted, slow.throttled);
    println!(
        "  ratio: {:.1}x faster; goal: every delivery accepted in <= 5 s: {}",
        slow.secs / fast.secs,
        if fast.secs <= 5.0 { "met" } else { "MISSED" }
    );
}
