//! Demo mode's simulated world, and `switchboard sim cms` to run the CMS simulator alone.

use crate::config::{CmsNodeConfig, Config, Secret};
use clap::{Args, ValueEnum};
use rand::distributions::{Alphanumeric, DistString};
use std::net::SocketAddr;
use std::time::Duration;
use switchboard::services::DemoControl;
use switchboard::sim::cms::{Scenario, SimCms, SimConfig};

/// Simulators started for demo mode; they stop when dropped.
pub struct DemoWorld {
    pub cms: SimCms,
    pub webex: switchboard::sim::webex::SimWebex,
    pub connect: switchboard::sim::connect::SimConnect,
    pub ews: switchboard::sim::ews::SimEws,
    pub ews_account: (String, String),
    pub graph: switchboard::sim::graph::SimGraph,
    _scenario: tokio::task::JoinHandle<()>,
    _meetings: tokio::task::JoinHandle<()>,
}

/// Demo controls backed by the simulated cluster.
pub struct SimControl {
    cluster: std::sync::Arc<switchboard::sim::cms::Cluster>,
    counter: std::sync::atomic::AtomicUsize,
}

impl DemoControl for SimControl {
    fn guest_joins(&self, call_id: &str) -> Result<String, String> {
        let n = self.counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let name = format!("Demo Guest {n}");
        for node in 0..self.cluster.nodes.len() {
            if self.cluster.calls(node).iter().any(|(id, _)| id == call_id) {
                return self
                    .cluster
                    .join(node, call_id, switchboard::sim::cms::Joiner::web_guest(&name))
                    .map(|_| name)
                    .map_err(|e| e.to_string());
            }
        }
        Err("That call has ended.".into())
    }
}

impl DemoWorld {
    pub fn control(&self) -> std::sync::Arc<dyn DemoControl> {
        std::sync::Arc::new(SimControl { cluster: self.cms.cluster.clone(), counter: Default::default() })
    }
}

/// Banner rules that fit the demo's addresses: rooms are secure, example.com is internal.
/// Only written when no rules were saved yet, so an operator's changes survive restarts.
pub async fn seed_rules(store: &switchboard::store::Store) -> anyhow::Result<()> {
    use switchboard::model::BannerRules;
    let banners = switchboard::banner::BannerStore::new(store.clone());
    if banners.rules().await?.is_none() {
        let rules = BannerRules {
            secure_domains: vec!["rooms.example.com".into()],
            internal_domains: vec!["example.com".into()],
            ..BannerRules::default()
        };
        banners.put_rules(&rules, "demo").await?;
    }
    Ok(())
}

/// Starts a two-node simulated CMS cluster with living meetings and points `cfg` at it.
pub async fn start(cfg: &mut Config) -> anyhow::Result<DemoWorld> {
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    // HTTPS with a self-signed certificate, as a CMS out of the box; Switchboard trusts it
    // through a CA file, as an administrator would configure it.
    let sim_cfg =
        SimConfig { nodes: 2, username: "switchboard-demo".into(), password: password.clone(), tls: true, ..SimConfig::default() };
    let cms = SimCms::start("127.0.0.1:0".parse()?, sim_cfg).await?;
    let ca_file = cfg.server.data_dir.join("demo-cms-ca.pem");
    std::fs::write(&ca_file, cms.cert_pem().unwrap_or_default())?;
    let scenario = Scenario::demo_setup(&cms.cluster);
    let handle = Scenario::run_demo(cms.cluster.clone(), scenario, rand::random());
    cfg.cms.username = "switchboard-demo".into();
    cfg.cms.password = Secret(password);
    cfg.cms.health_interval_seconds = 10;
    cfg.cms.nodes = (0..2)
        .map(|i| CmsNodeConfig {
            name: format!("cb{}", i + 1),
            url: cms.url(i),
            username: None,
            password: None,
            ca_file: Some(ca_file.clone()),
            insecure: false,
        })
        .collect();
    cfg.cms.cdr_receiver_url = Some(format!("http://{}/cdr", cfg.server.addr));
    cfg.cms.register_cdr_receiver = true;
    let (webex, connect) = start_webex(cfg).await?;
    let (ews, ews_account, graph, meetings) = start_calendar(cfg, &cms).await?;
    Ok(DemoWorld { cms, webex, connect, ews, ews_account, graph, _scenario: handle, _meetings: meetings })
}

/// Dave's mailbox is in Exchange Online; the others are on premises.
const DAVE: &str = "dave.diver@cloud.example.com";

/// The simulated Exchange: on premises (EWS) with a mailbox per demo CMS user, and Exchange
/// Online (Graph) with Dave's mailbox in `cloud.example.com` (a hybrid organisation);
/// Switchboard's calendar pointed at both, and simulated people who create `@cms` meetings now
/// and then (now and then without the keyword, which is left alone).
async fn start_calendar(
    cfg: &mut Config,
    cms: &SimCms,
) -> anyhow::Result<(switchboard::sim::ews::SimEws, (String, String), switchboard::sim::graph::SimGraph, tokio::task::JoinHandle<()>)> {
    use switchboard::sim::ews::{EwsSimConfig, SimAccount, SimEws};
    use switchboard::sim::graph::{GraphSimConfig, SimGraph};
    cms.cluster.add_user("dave.diver@example.com", "Dave Diver", DAVE);
    cms.cluster.add_co_space("Dave Diver's space", "dave.diver", "200004", Some("dave.diver@example.com"), None);
    let app_secret = Alphanumeric.sample_string(&mut rand::thread_rng(), 24);
    let graph_cfg = GraphSimConfig { client_secret: app_secret.clone(), mailboxes: vec![DAVE.to_string()], ..GraphSimConfig::demo(1) };
    let app = (graph_cfg.tenant.clone(), graph_cfg.client_id.clone(), app_secret);
    let graph = SimGraph::start("127.0.0.1:0".parse()?, graph_cfg).await?;
    let mailboxes =
        vec!["alice.admin@example.com".to_string(), "bob.builder@example.com".to_string(), "carol.cook@example.com".to_string()];
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
    let account = ("svc-switchboard".to_string(), password.clone());
    let ews_cfg = EwsSimConfig {
        accounts: vec![SimAccount { user: account.0.clone(), password, can_impersonate: vec![], impersonate_all: true }],
        mailboxes: mailboxes.clone(),
        page_max: 50,
        keepalive_seconds: 20,
    };
    let ews = SimEws::start("127.0.0.1:0".parse()?, ews_cfg).await?;
    point_calendar_at(cfg, &ews, &account, &graph, app);
    let meetings = tokio::spawn(create_meetings(ews.handle(), graph.handle(), mailboxes));
    Ok((ews, account, graph, meetings))
}

/// Switchboard's `[calendar]` pointed at both simulators. `app`: the Graph app registration
/// (tenant, client id, client secret).
fn point_calendar_at(
    cfg: &mut Config,
    ews: &switchboard::sim::ews::SimEws,
    account: &(String, String),
    graph: &switchboard::sim::graph::SimGraph,
    (tenant, app_id, app_secret): (String, String, String),
) {
    let port = cfg.server.addr.port();
    let c = &mut cfg.calendar;
    c.enabled = true;
    c.ews_url = ews.url();
    c.ews_user = account.0.clone();
    c.ews_password = Secret(account.1.clone());
    c.join.sip_domain = "example.com".into();
    c.mail_domain = "example.com".into();
    c.web_app_url = "https://join.example.com".into();
    c.join.dial_in = vec!["+1 408 555 0100".into()];
    c.graph_tenant = tenant;
    c.graph_client_id = app_id;
    c.graph_client_secret = Secret(app_secret);
    c.graph_domains = vec!["cloud.example.com".into()];
    // Change notifications to this server (the simulator posts to loopback); polling every
    // minute stays as the safety net.
    c.graph_poll_seconds = 60;
    if port != 0 {
        c.graph_notification_url = format!("http://127.0.0.1:{port}/hooks/graph");
    }
    c.graph_login_url = graph.login_url();
    c.graph_api_url = graph.api_url();
}

/// Simulated organisers: a meeting every 20 seconds, every fourth one Dave's (in Exchange
/// Online), every fourth without the keyword, and now and then one whose keyword is taken out.
async fn create_meetings(sim: switchboard::sim::ews::EwsHandle, online: switchboard::sim::graph::GraphHandle, mailboxes: Vec<String>) {
    let subjects = ["Budget review", "Design sync", "Customer call", "Roadmap", "Incident review", "1:1"];
    let mut n = 0usize;
    let mut created: Vec<String> = Vec::new();
    tokio::time::sleep(Duration::from_secs(4)).await;
    loop {
        // Every fourth meeting (the first one too) is Dave's, in Exchange Online.
        let organizer = if n.is_multiple_of(4) { DAVE } else { &mailboxes[n % mailboxes.len()] };
        let start = time::OffsetDateTime::now_utc() + time::Duration::hours(1 + (n % 5) as i64);
        let keyword = n % 4 != 3;
        let location = if keyword { format!("Room {} @cms", 100 + n) } else { format!("Room {}", 100 + n) };
        let (subject, body, end) =
            (subjects[n % subjects.len()], "<html><body><p>Agenda to follow.</p></body></html>", start + time::Duration::hours(1));
        if organizer == DAVE {
            online.create_meeting(organizer, subject, &location, body, start, end);
        } else {
            let id = sim.create_meeting(organizer, subject, &location, body, start, end);
            if keyword {
                created.push(id);
            }
        }
        // Now and then an organiser changes their mind: the keyword goes, and so do the details.
        if n % 6 == 5 {
            if let Some(id) = created.first().cloned() {
                created.remove(0);
                sim.edit_meeting(&id, Some("Room 7"), None, false);
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_secs(20)).await;
    }
}

/// The simulated Webex org and Webex Connect, and Switchboard pointed at them: org admins sign
/// in as admins, everyone else of example.com as operators. The sealing key is kept in the data
/// directory (demo only; production takes it from the environment).
async fn start_webex(cfg: &mut Config) -> anyhow::Result<(switchboard::sim::webex::SimWebex, switchboard::sim::connect::SimConnect)> {
    use switchboard::sim::connect::{ConnectConfig, SimConnect};
    use switchboard::sim::webex::{SimWebex, WebexSimConfig};
    // A fresh integration secret per run, as for the other simulated systems.
    let sim_cfg = WebexSimConfig { client_secret: Alphanumeric.sample_string(&mut rand::thread_rng(), 32), ..WebexSimConfig::demo() };
    let (client_id, client_secret) = (sim_cfg.client_id.clone(), sim_cfg.client_secret.clone());
    let webex = SimWebex::start("127.0.0.1:0".parse()?, sim_cfg).await?;
    let key = Alphanumeric.sample_string(&mut rand::thread_rng(), 24);
    let connect = SimConnect::start("127.0.0.1:0".parse()?, ConnectConfig { service_key: key.clone() }).await?;
    let key_file = cfg.server.data_dir.join("demo-secrets.key");
    let secrets_key = match std::fs::read_to_string(&key_file) {
        Ok(k) if switchboard::webex::SecretBox::from_base64(&k).is_ok() => k.trim().to_string(),
        _ => {
            let k = switchboard::webex::SecretBox::generate_key();
            std::fs::write(&key_file, &k)?;
            k
        }
    };
    let w = &mut cfg.webex;
    w.enabled = true;
    w.client_id = client_id;
    w.client_secret = Secret(client_secret);
    w.api_url = format!("{}/v1", webex.url());
    w.secrets_key = Some(Secret(secrets_key));
    w.org_admins_role = Some("admin".into());
    w.domains.insert("example.com".into(), "operator".into());
    cfg.connect.url = connect.url();
    cfg.connect.service_key = Some(Secret(key));
    cfg.connect.sms_from = "+14155550100".into();
    cfg.connect.voice_from = "+14155550199".into();
    Ok((webex, connect))
}

/// Demo mode connects the simulated org as its admin through the real OAuth flow (as an admin
/// clicking "Connect Webex org" would), so a newcomer can sign in with Webex at once.
pub async fn pregrant(services: &switchboard::services::Services, webex: &switchboard::sim::webex::SimWebex) -> anyhow::Result<()> {
    use switchboard::webex::LoginKind;
    let Some(w) = services.webex.as_ref() else { return Ok(()) };
    let now = time::OffsetDateTime::now_utc();
    let (url, pending) = w.oauth.begin(LoginKind::OrgGrant, "/incidents", now);
    let back = webex.consent(&url, "admin@example.com").await.map_err(anyhow::Error::msg)?;
    let code = back.split(['?', '&']).find_map(|kv| kv.strip_prefix("code=")).unwrap_or_default().to_string();
    let tokens = w.oauth.finish(&pending, &pending.state, &code, now).await?;
    w.incidents.connect_org(tokens, "demo").await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ScenarioArg {
    /// Meetings with lobbies, a restricted meeting, a call on two bridges; people come and go.
    Demo,
    /// Nothing happens unless you drive it.
    Quiet,
}

#[derive(Debug, Args)]
pub struct SimCmsArgs {
    /// Address of node 1; node k listens on port + k - 1.
    #[arg(long, default_value = "127.0.0.1:9445")]
    pub addr: SocketAddr,
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    #[arg(long, default_value = "admin")]
    pub user: String,
    #[arg(long, default_value = "admin-sim")]
    pub password: String,
    #[arg(long, value_enum, default_value = "demo")]
    pub scenario: ScenarioArg,
    /// Added to every API request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Share of API requests answered 503 (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub error_rate: f64,
    /// Share of API requests whose connection is dropped mid-answer (0..1).
    #[arg(long, default_value_t = 0.0)]
    pub drop_rate: f64,
    /// Largest page the API returns.
    #[arg(long, default_value_t = 10)]
    pub max_page: usize,
    /// A CDR receiver to register on every node at start (e.g. http://127.0.0.1:3000/cdr).
    #[arg(long)]
    pub cdr_receiver: Option<String>,
    /// Serve HTTPS with a self-signed certificate, written to this PEM file (trust it with
    /// `ca_file` in Switchboard's `[[cms.nodes]]`).
    #[arg(long)]
    pub tls_cert_out: Option<std::path::PathBuf>,
}

pub async fn run_sim_cms(a: SimCmsArgs) -> anyhow::Result<()> {
    let cfg = SimConfig {
        nodes: a.nodes.max(1),
        username: a.user.clone(),
        password: a.password,
        max_page: a.max_page.max(1),
        tls: a.tls_cert_out.is_some(),
        ..SimConfig::default()
    };
    let sim = SimCms::start(a.addr, cfg).await?;
    if let (Some(path), Some(pem)) = (&a.tls_cert_out, sim.cert_pem()) {
        std::fs::write(path, pem)?;
        println!("HTTPS certificate written to {}", path.display());
    }
    for i in 0..a.nodes.max(1) {
        let f = &sim.node(i).faults;
        f.set_latency(Duration::from_millis(a.latency_ms));
        f.set_error_rate(a.error_rate);
        f.set_drop_rate(a.drop_rate);
        if let Some(url) = &a.cdr_receiver {
            sim.cluster.add_cdr_receiver(i, url).map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let _driver = match a.scenario {
        ScenarioArg::Demo => {
            let s = Scenario::demo_setup(&sim.cluster);
            Some(Scenario::run_demo(sim.cluster.clone(), s, rand::random()))
        }
        ScenarioArg::Quiet => None,
    };
    println!("CMS simulator running ({} node(s)), API user '{}':", a.nodes.max(1), a.user);
    for i in 0..a.nodes.max(1) {
        println!("  {}  {}/api/v1   (inspect: {}/sim/requests, /sim/state, /sim/cdr)", sim.node(i).name, sim.url(i), sim.url(i));
    }
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

/// The fault flags of the HTTP simulators that share `sim::faults::HttpFaults` (Connect, Webex).
#[derive(Debug, Args)]
pub struct HttpFaultArgs {
    /// Added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// Every n-th request answers 429 with Retry-After (0 = never).
    #[arg(long, default_value_t = 0)]
    pub throttle_every: u64,
    /// The Retry-After those 429s carry, in seconds.
    #[arg(long, default_value_t = 1)]
    pub retry_after: u64,
    /// Every n-th request answers 503 (0 = never).
    #[arg(long, default_value_t = 0)]
    pub fail_every: u64,
}

impl HttpFaultArgs {
    fn apply(&self, faults: &switchboard::sim::faults::HttpFaults) {
        faults.set_latency(Duration::from_millis(self.latency_ms));
        faults.set_throttle_every(self.throttle_every);
        faults.set_retry_after_secs(self.retry_after);
        faults.set_fail_every(self.fail_every);
    }
}

#[derive(Debug, Args)]
pub struct SimConnectArgs {
    #[arg(long, default_value = "127.0.0.1:9446")]
    pub addr: SocketAddr,
    /// The service key callers send raw in `Authorization`.
    #[arg(long, default_value = "connect-sim-key")]
    pub key: String,
    #[command(flatten)]
    pub faults: HttpFaultArgs,
}

pub async fn run_sim_connect(a: SimConnectArgs) -> anyhow::Result<()> {
    use switchboard::sim::connect::{ConnectConfig, SimConnect};
    let sim = SimConnect::start(a.addr, ConnectConfig { service_key: a.key.clone() }).await?;
    a.faults.apply(sim.faults());
    println!("Webex Connect simulator running at {}:", sim.url());
    println!("  POST {}/v1/sms/messages and /v1/voice/messages with 'Authorization: {}'", sim.url(), a.key);
    println!("  What it received: {}/sim/messages", sim.url());
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

#[derive(Debug, Args)]
pub struct SimWebexArgs {
    #[arg(long, default_value = "127.0.0.1:8091")]
    pub addr: SocketAddr,
    /// How many people the simulated org has (admin@example.com and moderator@example.com among them).
    #[arg(long, default_value_t = 50)]
    pub people: usize,
    /// Access token lifetime in seconds (Webex: about 14 days).
    #[arg(long)]
    pub access_seconds: Option<u64>,
    /// Refresh token lifetime in seconds (Webex: about 90 days).
    #[arg(long)]
    pub refresh_seconds: Option<u64>,
    /// Faults on the API (`/v1/…`, not OAuth or `/sim`).
    #[command(flatten)]
    pub faults: HttpFaultArgs,
    /// The OAuth integration's client id.
    #[arg(long, default_value = "switchboard-sim-client")]
    pub client_id: String,
    /// The OAuth integration's client secret.
    #[arg(long, default_value = "switchboard-sim-secret")]
    pub client_secret: String,
}

pub async fn run_sim_webex(a: SimWebexArgs) -> anyhow::Result<()> {
    use switchboard::sim::webex::{SimOrg, SimWebex, WebexSimConfig};
    let mut cfg = WebexSimConfig { client_id: a.client_id.clone(), client_secret: a.client_secret.clone(), ..WebexSimConfig::demo() };
    cfg.org = SimOrg::demo(a.people);
    if let Some(s) = a.access_seconds {
        cfg.access_lifetime = Duration::from_secs(s);
    }
    if let Some(s) = a.refresh_seconds {
        cfg.refresh_lifetime = Duration::from_secs(s);
    }
    let users: Vec<(String, String, bool)> =
        cfg.org.people.iter().take(4).map(|p| (p.email.clone(), p.display_name.clone(), !p.roles.is_empty())).collect();
    let (access, refresh) = (cfg.access_lifetime.as_secs(), cfg.refresh_lifetime.as_secs());
    let sim = SimWebex::start(a.addr, cfg).await?;
    a.faults.apply(sim.faults());
    let url = sim.url();
    println!("Webex simulator running at {url} (API under {url}/v1):");
    println!("  Tokens: access {access} s, refresh {refresh} s");
    let f = &a.faults;
    if f.latency_ms > 0 || f.throttle_every > 0 || f.fail_every > 0 {
        println!(
            "  Faults on /v1: {} ms latency; 429 (Retry-After {} s) every {}; 503 every {} (0 = never)",
            f.latency_ms, f.retry_after, f.throttle_every, f.fail_every
        );
    }
    println!("  OAuth: {url}/v1/authorize and {url}/v1/access_token");
    println!("         client id '{}', client secret '{}' (any http(s) redirect URI)", a.client_id, a.client_secret);
    println!("  Users ({} in all):", a.people.max(2));
    for (email, name, admin) in &users {
        println!("    {email:<28} {name}{}", if *admin { "  (org admin)" } else { "" });
    }
    println!("  A token without the browser: curl '{url}/sim/token?email=admin@example.com'");
    println!("  What it received: {url}/sim/messages, {url}/sim/requests, {url}/sim/memberships?roomId=…");
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

#[derive(Debug, Args)]
pub struct SimEwsArgs {
    #[arg(long, default_value = "127.0.0.1:8092")]
    pub addr: SocketAddr,
    /// Mailboxes user1@example.com … userN@example.com.
    #[arg(long, default_value_t = 10)]
    pub mailboxes: usize,
    /// The account that may impersonate every mailbox.
    #[arg(long, default_value = "svc-switchboard")]
    pub user: String,
    #[arg(long, default_value = "svc-pass")]
    pub password: String,
    /// Basic authentication off: NTLM only (per connection), as many Exchange servers.
    #[arg(long)]
    pub ntlm_only: bool,
}

#[derive(Debug, Args)]
pub struct SimGraphArgs {
    #[arg(long, default_value = "127.0.0.1:8093")]
    pub addr: SocketAddr,
    /// Mailboxes user1@cloud.example.com … userN@cloud.example.com.
    #[arg(long, default_value_t = 10)]
    pub mailboxes: usize,
    /// At most this many events a delta page.
    #[arg(long, default_value_t = 10)]
    pub page_max: usize,
}

pub async fn run_sim_graph(a: SimGraphArgs) -> anyhow::Result<()> {
    use switchboard::sim::graph::{GraphSimConfig, SimGraph};
    let cfg = GraphSimConfig { page_max: a.page_max.max(1), ..GraphSimConfig::demo(a.mailboxes) };
    let (tenant, id, secret) = (cfg.tenant.clone(), cfg.client_id.clone(), cfg.client_secret.clone());
    let sim = SimGraph::start(a.addr, cfg).await?;
    println!("Microsoft Graph simulator (Exchange Online calendars) at {}", sim.api_url());
    println!(
        "  Token endpoint: {} (tenant {tenant}; client credentials {id} / {secret}; scope https://graph.microsoft.com/.default)",
        sim.token_url()
    );
    println!("  Mailboxes: user1@cloud.example.com … user{}@cloud.example.com", a.mailboxes.max(1));
    println!("  Served: users/{{id}}/calendarView/delta, users/{{id}}/events (POST), users/{{id}}/events/{{id}} (GET, PATCH with If-Match, DELETE),");
    println!("          subscriptions (POST with URL validation, PATCH, DELETE; notifications posted on every change).");
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

pub async fn run_sim_ews(a: SimEwsArgs) -> anyhow::Result<()> {
    use switchboard::sim::ews::{EwsSimConfig, SimAccount, SimEws};
    let mut cfg = EwsSimConfig::demo(a.mailboxes);
    cfg.accounts[0] = SimAccount { user: a.user.clone(), password: a.password.clone(), can_impersonate: vec![], impersonate_all: true };
    let first = cfg.mailboxes.first().cloned().unwrap_or_default();
    let sim = SimEws::start(a.addr, cfg).await?;
    sim.faults().set_ntlm_only(a.ntlm_only);
    println!("EWS simulator (Exchange 2016, SOAP 1.1) at {}", sim.url());
    if a.ntlm_only {
        println!("  NTLM only (Basic switched off); any domain, e.g. EXAMPLE\\{}", a.user);
    }
    println!("  Basic auth: {} / {} may impersonate every mailbox; limited / limited-pass only {first}", a.user, a.password);
    println!("  Mailboxes: user1@example.com … user{}@example.com", a.mailboxes.max(1));
    println!("  Served: Subscribe (streaming), GetStreamingEvents, SyncFolderItems, GetItem, UpdateItem, CreateItem, FindItem, GetFolder.");
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}
