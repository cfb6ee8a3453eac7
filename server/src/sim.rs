//! `switchboard sim …`: each simulator on its own (CMS, Webex Connect, Webex, EWS, Graph), with
//! its fault switches, printing how to reach it.

use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::time::Duration;
use switchboard::sim::cms::{Scenario, SimCms, SimConfig};

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
    /// Pages in the middle of a list come back shorter than `limit` while `total` says more
    /// remain: all of them, or this share (0..1).
    #[arg(long, value_name = "RATE", num_args = 0..=1, default_missing_value = "1", default_value_t = 0.0)]
    pub short_pages: f64,
    #[command(flatten)]
    pub users: crate::sim_lists::CmsUserArgs,
    /// A CDR receiver to register on every node at start (e.g. http://127.0.0.1:3000/cdr).
    #[arg(long)]
    pub cdr_receiver: Option<String>,
    /// Serve HTTPS with a self-signed certificate, written to this PEM file (trust it with
    /// `ca_file` in Switchboard's `[[cms.nodes]]`).
    #[arg(long)]
    pub tls_cert_out: Option<std::path::PathBuf>,
}

pub async fn run_sim_cms(a: SimCmsArgs) -> anyhow::Result<()> {
    let users = a.users.resolve()?;
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
        f.set_short_page_rate(a.short_pages);
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
    let listed: Vec<(String, String)> = users.iter().map(|u| (u.jid.clone(), u.name.clone())).collect();
    let imported = sim.cluster.import_users(&listed, &a.users.space_suffix, LISTED_CALL_IDS);
    println!("CMS simulator running ({} node(s)), API user '{}':", a.nodes.max(1), a.user);
    for i in 0..a.nodes.max(1) {
        println!("  {}  {}/api/v1   (inspect: {}/sim/requests, /sim/state, /sim/cdr)", sim.node(i).name, sim.url(i), sim.url(i));
    }
    if !users.is_empty() {
        let example = users.first().map(|u| space_of(&u.jid, &a.users.space_suffix)).unwrap_or_default();
        println!("  Users from the list: {imported} added (of {}), each with a personal space such as '{example}'", users.len());
    }
    println!("  Faults: POST /sim/faults (latency_ms, error_rate, drop_rate, lost_ack_rate, short_page_rate, down);");
    println!("          POST /sim/restart-callbridge (calls end, CDRs under a new session from recordIndex 1)");
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

/// Call ids of the listed users' personal spaces start here (clear of the demo scenario's).
const LISTED_CALL_IDS: u64 = 5_000_001;

fn space_of(jid: &str, suffix: &str) -> String {
    let local = jid.split('@').next().unwrap_or(jid);
    if suffix.is_empty() {
        local.to_string()
    } else {
        format!("{local}.{suffix}")
    }
}

/// A few of a list of mailboxes, for the banner.
fn some_of(mailboxes: &[String]) -> String {
    match mailboxes {
        [] => "none".into(),
        [one] => one.clone(),
        [a, b] => format!("{a}, {b}"),
        [a, .., z] => format!("{a} … {z} ({} in all)", mailboxes.len()),
    }
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
    /// Every n-th request carried out (a send accepted, a change made) loses its answer: the
    /// connection is dropped before a byte of it is written (0 = never).
    #[arg(long, default_value_t = 0)]
    pub drop_after_accept_every: u64,
}

impl HttpFaultArgs {
    fn apply(&self, faults: &switchboard::sim::faults::HttpFaults) {
        faults.set_latency(Duration::from_millis(self.latency_ms));
        faults.set_throttle_every(self.throttle_every);
        faults.set_retry_after_secs(self.retry_after);
        faults.set_fail_every(self.fail_every);
        faults.set_lose_answer_every(self.drop_after_accept_every);
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
    if f.latency_ms > 0 || f.throttle_every > 0 || f.fail_every > 0 || f.drop_after_accept_every > 0 {
        println!(
            "  Faults on /v1: {} ms latency; 429 (Retry-After {} s) every {}; 503 every {}; answer dropped after every {} changes (0 = never)",
            f.latency_ms, f.retry_after, f.throttle_every, f.fail_every, f.drop_after_accept_every
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
    // Generated ones are user1@example.com … userN@example.com.
    #[command(flatten)]
    pub mailboxes: crate::sim_lists::MailboxArgs,
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
    // Generated ones are user1@cloud.example.com … userN@cloud.example.com.
    #[command(flatten)]
    pub mailboxes: crate::sim_lists::MailboxArgs,
    /// At most this many events a delta page.
    #[arg(long, default_value_t = 10)]
    pub page_max: usize,
    /// Serve HTTPS with a self-signed certificate, written to this PEM file (MSAL takes only
    /// `https://` authorities: trust the file, e.g. `verify=` in MSAL Python).
    #[arg(long)]
    pub tls_cert_out: Option<std::path::PathBuf>,
}

pub async fn run_sim_graph(a: SimGraphArgs) -> anyhow::Result<()> {
    use switchboard::sim::graph::{GraphSimConfig, SimGraph};
    let mailboxes = a.mailboxes.resolve("cloud.example.com")?;
    let cfg = GraphSimConfig {
        page_max: a.page_max.max(1),
        mailboxes: mailboxes.clone(),
        tls: a.tls_cert_out.is_some(),
        ..GraphSimConfig::demo(1)
    };
    let (tenant, id, secret) = (cfg.tenant.clone(), cfg.client_id.clone(), cfg.client_secret.clone());
    let sim = SimGraph::start(a.addr, cfg).await?;
    if let (Some(path), Some(pem)) = (&a.tls_cert_out, sim.cert_pem()) {
        std::fs::write(path, pem)?;
        println!("HTTPS certificate written to {}", path.display());
    }
    println!("Microsoft Graph simulator (Exchange Online calendars) at {}", sim.api_url());
    println!(
        "  Token endpoint: {} (tenant {tenant}; client credentials {id} / {secret}; scope https://graph.microsoft.com/.default)",
        sim.token_url()
    );
    println!(
        "  MSAL authority: {} (discovery: {{authority}}/v2.0/.well-known/openid-configuration, {}/common/discovery/instance)",
        sim.authority_url(),
        sim.login_url()
    );
    println!("  Mailboxes: {}", some_of(&mailboxes));
    println!("  Times: dateTimeTimeZone in Windows or IANA zones; answers in UTC or in Prefer: outlook.timezone=\"…\".");
    println!("  Served: users/{{id}}/calendarView/delta, users/{{id}}/events (POST), users/{{id}}/events/{{id}} (GET, PATCH with If-Match, DELETE),");
    println!("          subscriptions (POST with URL validation, PATCH, DELETE; notifications posted on every change).");
    println!("  What it received: {}/sim/requests", sim.login_url());
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}

pub async fn run_sim_ews(a: SimEwsArgs) -> anyhow::Result<()> {
    use switchboard::sim::ews::{EwsSimConfig, SimAccount, SimEws};
    let mut cfg = EwsSimConfig::demo(1);
    cfg.mailboxes = a.mailboxes.resolve("example.com")?;
    let first = cfg.mailboxes.first().cloned().unwrap_or_default();
    cfg.accounts = vec![
        SimAccount { user: a.user.clone(), password: a.password.clone(), can_impersonate: vec![], impersonate_all: true },
        SimAccount {
            user: "limited".into(),
            password: "limited-pass".into(),
            can_impersonate: vec![first.clone()],
            impersonate_all: false,
        },
    ];
    let mailboxes = cfg.mailboxes.clone();
    let sim = SimEws::start(a.addr, cfg).await?;
    sim.faults().set_ntlm_only(a.ntlm_only);
    println!("EWS simulator (Exchange 2016, SOAP 1.1) at {}", sim.url());
    if a.ntlm_only {
        println!("  NTLM only (Basic switched off); any domain, e.g. EXAMPLE\\{}", a.user);
    }
    println!("  Basic auth: {} / {} may impersonate every mailbox; limited / limited-pass only {first}", a.user, a.password);
    println!("  Mailboxes: {}", some_of(&mailboxes));
    println!("  Served: Subscribe (streaming), GetStreamingEvents, SyncFolderItems, GetItem, UpdateItem, CreateItem, FindItem, GetFolder.");
    println!("  What it received: {}/sim/requests", sim.base_url());
    println!("Stop with Ctrl-C.");
    crate::telemetry::shutdown_signal().await;
    Ok(())
}
