//! Demo mode's simulated world: every simulator started, Switchboard's config pointed at them,
//! and simulated people who make things happen. (`switchboard sim …` is in `sim`.)

use crate::config::{CmsNodeConfig, Config, Secret};
use rand::distributions::{Alphanumeric, DistString};
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
    /// The faults the simulators meet (mild by default).
    pub faults: crate::demo_faults::DemoFaults,
    _scenario: tokio::task::JoinHandle<()>,
    _meetings: tokio::task::JoinHandle<()>,
    _misbehaving: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for DemoWorld {
    fn drop(&mut self) {
        self._scenario.abort();
        self._meetings.abort();
        if let Some(h) = &self._misbehaving {
            h.abort();
        }
    }
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

/// Starts a two-node simulated CMS cluster with living meetings and the other simulators, with
/// `faults` on, and points `cfg` at them. `seed` drives the living meetings and the faults.
pub async fn start(cfg: &mut Config, faults: crate::demo_faults::DemoFaults, seed: u64) -> anyhow::Result<DemoWorld> {
    let password = Alphanumeric.sample_string(&mut rand::thread_rng(), 20);
    // HTTPS with a self-signed certificate, as a CMS out of the box; Switchboard trusts it
    // through a CA file, as an administrator would configure it.
    let defaults = SimConfig::default();
    let max_page = faults.cms_max_page().unwrap_or(defaults.max_page);
    let sim_cfg = SimConfig { nodes: 2, username: "switchboard-demo".into(), password: password.clone(), tls: true, max_page, ..defaults };
    let cms = SimCms::start("127.0.0.1:0".parse()?, sim_cfg).await?;
    let ca_file = cfg.server.data_dir.join("demo-cms-ca.pem");
    std::fs::write(&ca_file, cms.cert_pem().unwrap_or_default())?;
    let scenario = Scenario::demo_setup(&cms.cluster);
    let handle = Scenario::run_demo(cms.cluster.clone(), scenario, seed);
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
    let misbehaving = faults.keep_misbehaving(ews.handle());
    let world = DemoWorld {
        cms,
        webex,
        connect,
        ews,
        ews_account,
        graph,
        faults,
        _scenario: handle,
        _meetings: meetings,
        _misbehaving: misbehaving,
    };
    let w = &world;
    faults.apply(crate::demo_faults::Sims { cms: &w.cms, webex: &w.webex, connect: &w.connect, graph: &w.graph, ews: &w.ews });
    Ok(world)
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
    // The simulated org's responders' space, by its id (as an admin would choose it).
    let responders = sim_cfg.org.room_by_title("Incident_Responders_Members").map(|r| r.id.clone());
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
    w.responders_space_id = responders;
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
