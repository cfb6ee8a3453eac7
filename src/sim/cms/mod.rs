//! A Cisco Meeting Server simulator: one or more Call Bridges on loopback ports, the XML API with
//! Basic auth and short pages, CDRs sent to registered receivers exactly as CMS sends them, a
//! scenario driver for realistic traffic, fault injection, and `/sim/...` inspection endpoints.

mod api;
pub mod cdr;
pub mod db;
mod scenario;
mod xml;

pub use scenario::{Scenario, ScenarioKind};

use db::{Call, CoSpace, Leg, LegKind, NodeDb, Participant, Shared, User};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub nodes: usize,
    pub username: String,
    pub password: String,
    /// Largest page the API returns, whatever `limit` asks for.
    pub max_page: usize,
    /// CDR records kept per receiver while it does not answer; beyond that the oldest are lost.
    pub cdr_buffer: usize,
    /// Records per CDR POST at most.
    pub cdr_batch: usize,
    /// Serve the API over HTTPS with a self-signed certificate (as CMS does by default).
    pub tls: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self { nodes: 1, username: "admin".into(), password: "admin-sim".into(), max_page: 10, cdr_buffer: 2000, cdr_batch: 20, tls: false }
    }
}

/// Fault injection, per node, changeable while running.
#[derive(Debug, Default)]
pub struct Faults {
    latency_ms: AtomicU64,
    /// Per-million chance of each kind.
    error_ppm: AtomicU64,
    drop_ppm: AtomicU64,
    /// Chance that a CDR batch's 200 is "not seen", so CMS sends the batch again.
    lost_ack_ppm: AtomicU64,
    /// Every API request fails with 503 while set (the node is "down").
    down: AtomicU64,
    /// The next N API requests fail with 503 / lose their connection (deterministic faults).
    fail_next: AtomicU64,
    drop_next: AtomicU64,
}

impl Faults {
    pub fn set_latency(&self, d: Duration) {
        self.latency_ms.store(d.as_millis() as u64, Ordering::Relaxed);
    }
    pub fn set_error_rate(&self, rate: f64) {
        self.error_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_drop_rate(&self, rate: f64) {
        self.drop_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_lost_ack_rate(&self, rate: f64) {
        self.lost_ack_ppm.store((rate.clamp(0.0, 1.0) * 1e6) as u64, Ordering::Relaxed);
    }
    pub fn set_down(&self, down: bool) {
        self.down.store(down as u64, Ordering::Relaxed);
    }
    pub fn fail_next(&self, n: u64) {
        self.fail_next.store(n, Ordering::Relaxed);
    }
    pub fn drop_next(&self, n: u64) {
        self.drop_next.store(n, Ordering::Relaxed);
    }
    fn take(counter: &AtomicU64) -> bool {
        counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    }
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }
    fn roll(ppm: &AtomicU64) -> bool {
        let p = ppm.load(Ordering::Relaxed);
        p > 0 && rand::Rng::gen_range(&mut rand::thread_rng(), 0..1_000_000) < p
    }
    pub fn should_error(&self) -> bool {
        self.down.load(Ordering::Relaxed) == 1 || Self::take(&self.fail_next) || Self::roll(&self.error_ppm)
    }
    pub fn should_drop(&self) -> bool {
        Self::take(&self.drop_next) || Self::roll(&self.drop_ppm)
    }
    pub fn should_lose_ack(&self) -> bool {
        Self::roll(&self.lost_ack_ppm)
    }
}

/// One request as the simulator saw it, for tests to inspect.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub status: u16,
    /// When the answer was sent, in microseconds since the node started.
    pub at_us: u64,
}

pub struct Node {
    pub index: usize,
    pub name: String,
    /// The Call Bridge GUID (`callBridge` in CDRs and participants).
    pub bridge_id: String,
    db: Mutex<NodeDb>,
    outbox: Mutex<cdr::Outbox>,
    cdr_wake: Notify,
    pub faults: Faults,
    log: Mutex<VecDeque<LoggedRequest>>,
    started: Instant,
}

pub(crate) use crate::sync::lock;

impl Node {
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.log).iter().cloned().collect()
    }
    pub fn clear_requests(&self) {
        lock(&self.log).clear();
    }
    fn record(&self, r: LoggedRequest) {
        let mut log = lock(&self.log);
        if log.len() >= 10_000 {
            log.pop_front();
        }
        log.push_back(r);
    }
    /// Microseconds since this node started, the clock of `LoggedRequest::at_us`.
    pub fn clock_us(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
    pub fn cdr_stats(&self) -> Vec<cdr::ReceiverStats> {
        lock(&self.outbox).stats()
    }
    pub fn cdr_pending(&self) -> usize {
        lock(&self.outbox).pending()
    }
    /// CDR receiver URLs configured on this node.
    pub fn cdr_receivers(&self) -> Vec<String> {
        lock(&self.db).cdr_receivers.values().cloned().collect()
    }
}

/// What joins a call.
#[derive(Debug, Clone)]
pub struct Joiner {
    pub name: String,
    pub remote: String,
    pub kind: LegKind,
    /// A web-app guest login (`guestConnection`).
    pub guest: bool,
    /// Host-type participant: needsActivation=false.
    pub activator: bool,
    /// Arrives through the IVR first (callLegUpdate with `<ivr/>` before the call is known).
    pub via_ivr: bool,
}

impl Joiner {
    pub fn sip(name: &str, remote: &str, activator: bool) -> Self {
        Self { name: name.into(), remote: remote.into(), kind: LegKind::Sip, guest: false, activator, via_ivr: false }
    }
    pub fn web_guest(name: &str) -> Self {
        Self {
            name: name.into(),
            remote: format!("guest{}@webapp", rand::random::<u16>()),
            kind: LegKind::WebApp,
            guest: true,
            activator: false,
            via_ivr: false,
        }
    }
    pub fn web_user(name: &str, jid: &str, activator: bool) -> Self {
        Self { name: name.into(), remote: jid.into(), kind: LegKind::WebApp, guest: false, activator, via_ivr: false }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub leg: String,
    pub participant: String,
    pub deactivated: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("no such {0}")]
    NotFound(&'static str),
    /// CMS refuses to admit while no activator is connected. The element name is ours: the
    /// real one is not in the reference.
    #[error("no activator in the call")]
    NoActivator,
    #[error("{0}")]
    Invalid(String),
}

pub struct Cluster {
    pub cfg: SimConfig,
    shared: Mutex<Shared>,
    pub nodes: Vec<Node>,
    http: reqwest::Client,
}

impl Cluster {
    fn new(cfg: SimConfig) -> Arc<Self> {
        let clustered = cfg.nodes > 1;
        let nodes = (0..cfg.nodes.max(1))
            .map(|i| {
                let bridge_id = db::new_id();
                Node {
                    index: i,
                    name: format!("cb{}", i + 1),
                    outbox: Mutex::new(cdr::Outbox::new(clustered.then(|| bridge_id.clone()), cfg.cdr_buffer)),
                    bridge_id,
                    db: Mutex::new(NodeDb::default()),
                    cdr_wake: Notify::new(),
                    faults: Faults::default(),
                    log: Mutex::new(VecDeque::new()),
                    started: Instant::now(),
                }
            })
            .collect();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(2).build().unwrap_or_default();
        Arc::new(Self { cfg, shared: Mutex::new(Shared::default()), nodes, http })
    }

    fn node(&self, i: usize) -> Result<&Node, SimError> {
        self.nodes.get(i).ok_or(SimError::NotFound("node"))
    }

    /// Appends a CDR to a node's outbox; call with the node's db lock held so records keep the
    /// order of the changes they describe.
    fn emit(node: &Node, db: &NodeDb, kind: &'static str, inner: String) {
        let mut out = lock(&node.outbox);
        let urls: Vec<String> = db.cdr_receivers.values().cloned().collect();
        out.sync_receivers(&urls);
        out.emit(kind, inner);
        drop(out);
        node.cdr_wake.notify_one();
    }

    pub fn add_user(&self, jid: &str, name: &str, email: &str) -> String {
        let id = db::new_id();
        let u = User { id: id.clone(), user_jid: jid.into(), name: name.into(), email: email.into(), tenant: None };
        lock(&self.shared).users.insert(id.clone(), u);
        id
    }

    /// The id of the user with this JID.
    pub fn user_id(&self, jid: &str) -> Option<String> {
        lock(&self.shared).users.values().find(|u| u.user_jid.eq_ignore_ascii_case(jid)).map(|u| u.id.clone())
    }

    /// The user leaves (as when removed from the LDAP source and synced).
    pub fn remove_user(&self, id: &str) -> bool {
        lock(&self.shared).users.remove(id).is_some()
    }

    pub fn add_co_space(&self, name: &str, uri: &str, call_id: &str, owner_jid: Option<&str>, passcode: Option<&str>) -> String {
        let id = db::new_id();
        let s = CoSpace {
            id: id.clone(),
            name: name.into(),
            uri: uri.into(),
            secondary_uri: None,
            call_id: call_id.into(),
            passcode: passcode.map(str::to_string),
            secret: db::new_id().replace('-', "").chars().take(16).collect(),
            owner_jid: owner_jid.map(str::to_string),
            tenant: None,
        };
        lock(&self.shared).co_spaces.insert(id.clone(), s);
        id
    }

    pub fn co_space_name(&self, id: &str) -> Option<String> {
        lock(&self.shared).co_spaces.get(id).map(|s| s.name.clone())
    }

    /// A call starts on a node (in a space, or ad hoc when `co_space` is None).
    pub fn start_call(&self, node: usize, co_space: Option<&str>, name: Option<&str>) -> Result<String, SimError> {
        let n = self.node(node)?;
        let (space_name, owner) = match co_space {
            Some(id) => {
                let shared = lock(&self.shared);
                let s = shared.co_spaces.get(id).ok_or(SimError::NotFound("coSpace"))?;
                (Some(s.name.clone()), s.owner_jid.clone())
            }
            None => (None, None),
        };
        let call = Call {
            id: db::new_id(),
            name: name.map(str::to_string).or(space_name).unwrap_or_else(|| "Ad hoc call".into()),
            co_space: co_space.map(str::to_string),
            correlator: db::new_id(),
            tenant: None,
            started: Instant::now(),
            locked: false,
            message_text: String::new(),
            message_position: "bottom".into(),
            message_duration: "0".into(),
            legs_completed: 0,
            legs_max_active: 0,
        };
        let id = call.id.clone();
        let mut db = lock(&n.db);
        Self::emit(n, &db, "callStart", cdr::records::call_start(&call, owner.as_deref()));
        db.calls.insert(id.clone(), call);
        Ok(id)
    }

    /// Spreads a call to another Call Bridge: a second call instance with the same
    /// callCorrelator and coSpace, and a distributionLink leg on each side.
    pub fn distribute(&self, from: usize, call_id: &str, to: usize) -> Result<String, SimError> {
        if from == to {
            return Err(SimError::Invalid("a call cannot be distributed to its own node".into()));
        }
        let (a, b) = (self.node(from)?, self.node(to)?);
        let mut inst = lock(&a.db).calls.get(call_id).cloned().ok_or(SimError::NotFound("call"))?;
        inst.id = db::new_id();
        inst.started = Instant::now();
        inst.legs_completed = 0;
        inst.legs_max_active = 0;
        let remote_id = inst.id.clone();
        {
            let mut db = lock(&b.db);
            Self::emit(b, &db, "callStart", cdr::records::call_start(&inst, None));
            db.calls.insert(remote_id.clone(), inst);
        }
        for (node, call, peer) in [(a, call_id.to_string(), b), (b, remote_id.clone(), a)] {
            let j = Joiner {
                name: format!("distribution link to {}", peer.name),
                remote: format!("{}@{}.cluster.local", call, peer.name),
                kind: LegKind::DistributionLink,
                guest: false,
                activator: false,
                via_ivr: false,
            };
            self.join_on(node, &call, j)?;
        }
        Ok(remote_id)
    }

    pub fn join(&self, node: usize, call_id: &str, j: Joiner) -> Result<Joined, SimError> {
        let n = self.node(node)?;
        self.join_on(n, call_id, j)
    }

    fn join_on(&self, n: &Node, call_id: &str, j: Joiner) -> Result<Joined, SimError> {
        let mut db = lock(&n.db);
        let call = db.calls.get(call_id).ok_or(SimError::NotFound("call"))?.clone();
        let link = j.kind == LegKind::DistributionLink;
        // Non-activators wait in the lobby while no activator is in, or while the call is locked.
        let deactivated = !link && !j.activator && (call.locked || !db.has_activator(call_id));
        let leg = Leg {
            id: db::new_id(),
            call: call_id.to_string(),
            participant: db::new_id(),
            name: j.name.clone(),
            remote: j.remote.clone(),
            local: call
                .co_space
                .as_ref()
                .map(|_| format!("{}@meet.example.com", call.name.to_lowercase().replace(' ', ".")))
                .unwrap_or_default(),
            kind: j.kind,
            guest: j.guest,
            direction: "incoming",
            activator: j.activator,
            deactivated,
            started: Instant::now(),
            sip_call_id: (j.kind == LegKind::Sip).then(|| format!("{}@sip.example.com", db::new_id())),
        };
        let joined = Joined { leg: leg.id.clone(), participant: leg.participant.clone(), deactivated };
        if j.via_ivr {
            Self::emit(n, &db, "callLegStart", cdr::records::leg_start(&leg, false));
            Self::emit(n, &db, "callLegUpdate", cdr::records::leg_update(&leg, true));
        } else {
            Self::emit(n, &db, "callLegStart", cdr::records::leg_start(&leg, true));
        }
        Self::emit(n, &db, "callLegUpdate", cdr::records::leg_update(&leg, false));
        if !link {
            db.participants.insert(
                leg.participant.clone(),
                Participant { id: leg.participant.clone(), name: leg.name.clone(), call: call_id.to_string(), leg: leg.id.clone() },
            );
        }
        db.legs.insert(leg.id.clone(), leg);
        let active = db.legs_of(call_id).count() as u32;
        if let Some(c) = db.calls.get_mut(call_id) {
            c.legs_max_active = c.legs_max_active.max(active);
        }
        // The first activator releases the lobby of an unlocked call.
        if j.activator && !call.locked {
            let waiting: Vec<String> = db.legs_of(call_id).filter(|l| l.deactivated).map(|l| l.id.clone()).collect();
            for id in waiting {
                Self::activate(n, &mut db, &id);
            }
        }
        Ok(joined)
    }

    fn activate(n: &Node, db: &mut NodeDb, leg_id: &str) {
        if let Some(l) = db.legs.get_mut(leg_id) {
            l.deactivated = false;
            let l = l.clone();
            Self::emit(n, db, "callLegUpdate", cdr::records::leg_update(&l, false));
        }
    }

    /// `PUT /participants/<id>` with `deactivated=false`, as the API does it.
    pub fn admit(&self, node: usize, participant: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        let p = db.participants.get(participant).cloned().ok_or(SimError::NotFound("participant"))?;
        let leg = db.legs.get(&p.leg).cloned().ok_or(SimError::NotFound("participant"))?;
        if !leg.deactivated {
            return Ok(());
        }
        if !db.has_activator(&p.call) {
            return Err(SimError::NoActivator);
        }
        Self::activate(n, &mut db, &leg.id);
        Ok(())
    }

    pub fn set_locked(&self, node: usize, call_id: &str, locked: bool) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        db.calls.get_mut(call_id).ok_or(SimError::NotFound("call"))?.locked = locked;
        Ok(())
    }

    pub fn leave(&self, node: usize, leg_id: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        Self::remove_leg(n, &mut db, leg_id, "remoteTeardown", true)
    }

    fn remove_leg(n: &Node, db: &mut NodeDb, leg_id: &str, reason: &str, remote: bool) -> Result<(), SimError> {
        let leg = db.legs.remove(leg_id).ok_or(SimError::NotFound("callLeg"))?;
        db.participants.remove(&leg.participant);
        let activated = if leg.deactivated { Duration::ZERO } else { leg.started.elapsed() };
        Self::emit(n, db, "callLegEnd", cdr::records::leg_end(&leg, reason, remote, activated));
        if let Some(c) = db.calls.get_mut(&leg.call) {
            c.legs_completed += 1;
        }
        Ok(())
    }

    /// The call ends: every leg is torn down, then callEnd.
    pub fn end_call(&self, node: usize, call_id: &str) -> Result<(), SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        if !db.calls.contains_key(call_id) {
            return Err(SimError::NotFound("call"));
        }
        let legs: Vec<String> = db.legs_of(call_id).map(|l| l.id.clone()).collect();
        for l in legs {
            Self::remove_leg(n, &mut db, &l, "callEnded", false)?;
        }
        if let Some(c) = db.calls.remove(call_id) {
            Self::emit(n, &db, "callEnd", cdr::records::call_end(&c));
        }
        Ok(())
    }

    /// (call id, name) of every active call on a node.
    pub fn calls(&self, node: usize) -> Vec<(String, String)> {
        self.nodes.get(node).map(|n| lock(&n.db).calls.values().map(|c| (c.id.clone(), c.name.clone())).collect()).unwrap_or_default()
    }

    /// Legs of a call on a node.
    pub fn legs(&self, node: usize, call_id: &str) -> Vec<Leg> {
        self.nodes.get(node).map(|n| lock(&n.db).legs_of(call_id).cloned().collect()).unwrap_or_default()
    }

    /// The banner a call shows now: (text, position, duration).
    pub fn call_message(&self, node: usize, call_id: &str) -> Option<(String, String, String)> {
        let n = self.nodes.get(node)?;
        let db = lock(&n.db);
        db.calls.get(call_id).map(|c| (c.message_text.clone(), c.message_position.clone(), c.message_duration.clone()))
    }

    /// Registers a CDR receiver directly (as the web admin's CDR settings would).
    pub fn add_cdr_receiver(&self, node: usize, url: &str) -> Result<String, SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        let id = db::new_id();
        db.cdr_receivers.insert(id.clone(), url.to_string());
        Ok(id)
    }

    /// Sends pending CDRs of one node to every receiver until each has nothing left or fails.
    async fn deliver(&self, n: &Node, backoff: &mut std::collections::HashMap<String, (Instant, Duration)>) {
        let urls = lock(&n.outbox).urls();
        for url in urls {
            if let Some((until, _)) = backoff.get(&url) {
                if Instant::now() < *until {
                    continue;
                }
            }
            loop {
                let Some((last, body)) = lock(&n.outbox).batch(&url, self.cfg.cdr_batch) else { break };
                let sent = self.http.post(&url).header("content-type", "text/xml").body(body).send().await;
                let ok = matches!(&sent, Ok(r) if r.status() == reqwest::StatusCode::OK);
                if let Ok(r) = sent {
                    // Drain the body so the connection goes back to the keep-alive pool.
                    let _ = r.bytes().await;
                }
                if ok && !n.faults.should_lose_ack() {
                    lock(&n.outbox).ack(&url, last);
                    backoff.remove(&url);
                } else {
                    lock(&n.outbox).nack(&url);
                    let wait = backoff.get(&url).map(|(_, w)| (*w * 2).min(Duration::from_secs(5))).unwrap_or(Duration::from_millis(200));
                    backoff.insert(url.clone(), (Instant::now() + wait, wait));
                    break;
                }
            }
        }
    }
}

/// A running simulator: the cluster's state plus one HTTP listener per node.
pub struct SimCms {
    pub cluster: Arc<Cluster>,
    addrs: Vec<SocketAddr>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// With TLS: the self-signed certificate every node presents (PEM), to trust as a CA.
    cert_pem: Option<String>,
}

impl SimCms {
    /// Starts `cfg.nodes` Call Bridges. Node k listens on `addr`'s port + k (or each on an
    /// ephemeral port when the port is 0).
    pub async fn start(addr: SocketAddr, cfg: SimConfig) -> std::io::Result<SimCms> {
        let tls = if cfg.tls {
            let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), addr.ip().to_string()];
            let key = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
            let (cert, key) = (key.cert.pem(), key.signing_key.serialize_pem());
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(cert.clone().into_bytes(), key.into_bytes()).await?;
            Some((cert, config))
        } else {
            None
        };
        let cluster = Cluster::new(cfg);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for i in 0..cluster.nodes.len() {
            let mut a = addr;
            if addr.port() != 0 {
                a.set_port(addr.port() + i as u16);
            }
            let listener = TcpListener::bind(a).await?;
            addrs.push(listener.local_addr()?);
            let app = api::router(cluster.clone(), i);
            let std_listener = listener.into_std()?;
            let log = |r: std::io::Result<()>| {
                if let Err(e) = r {
                    tracing::error!(error = %e, "CMS simulator node stopped");
                }
            };
            tasks.push(match &tls {
                Some((_, config)) => {
                    let s = axum_server::tls_rustls::from_tcp_rustls(std_listener, config.clone())?;
                    tokio::spawn(async move { log(s.serve(app).await) })
                }
                None => {
                    let s = axum_server::from_tcp(std_listener)?;
                    tokio::spawn(async move { log(s.serve(app).await) })
                }
            });
            let c = cluster.clone();
            tasks.push(tokio::spawn(async move {
                let mut backoff = std::collections::HashMap::new();
                loop {
                    let n = &c.nodes[i];
                    tokio::select! {
                        _ = n.cdr_wake.notified() => {},
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {},
                    }
                    c.deliver(n, &mut backoff).await;
                }
            }));
        }
        Ok(SimCms { cluster, addrs, tasks, cert_pem: tls.map(|(c, _)| c) })
    }

    /// Base URL of node `i` (what goes into Switchboard's config).
    pub fn url(&self, i: usize) -> String {
        let scheme = if self.cert_pem.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addrs[i])
    }

    /// The certificate the nodes present when serving HTTPS (PEM).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.cluster.nodes[i]
    }

    /// Waits until every CDR queued so far was acknowledged (or the timeout passes).
    pub async fn flush_cdrs(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.cluster.nodes.iter().all(|n| n.cdr_pending() == 0) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn stop(&self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for SimCms {
    fn drop(&mut self) {
        self.stop();
    }
}
