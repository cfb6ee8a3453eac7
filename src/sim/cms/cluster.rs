//! The simulated cluster: the nodes, the database they share (users, coSpaces, profiles), the
//! queries tests make, and the delivery of each node's CDRs to its receivers.

use super::db::{self, CoSpace, Leg, NodeDb, Shared, User};
use super::node::{Faults, Node};
use super::{cdr, lock, SimConfig};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

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
    pub(super) shared: Mutex<Shared>,
    pub nodes: Vec<Node>,
    pub(super) http: reqwest::Client,
}

impl Cluster {
    pub(super) fn new(cfg: SimConfig) -> Arc<Self> {
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
                    log: Default::default(),
                    started: Instant::now(),
                }
            })
            .collect();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).pool_max_idle_per_host(2).build().unwrap_or_default();
        Arc::new(Self { cfg, shared: Mutex::new(Shared::default()), nodes, http })
    }

    pub(super) fn node(&self, i: usize) -> Result<&Node, SimError> {
        self.nodes.get(i).ok_or(SimError::NotFound("node"))
    }

    /// Appends a CDR to a node's outbox; call with the node's db lock held so records keep the
    /// order of the changes they describe.
    pub(super) fn emit(node: &Node, db: &NodeDb, kind: &'static str, inner: String) {
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

    /// Users as an LDAP import leaves them, `(jid, display name)` each, their email their JID,
    /// each owning a personal space `<local part>.<space_suffix>` (name and URI; call ids from
    /// `first_call_id` on). A JID already held, or a space URI already taken, is skipped.
    /// Returns how many users were added.
    pub fn import_users(&self, users: &[(String, String)], space_suffix: &str, first_call_id: u64) -> usize {
        let mut added = 0;
        for (jid, name) in users {
            if self.user_id(jid).is_some() {
                continue;
            }
            self.add_user(jid, name, jid);
            added += 1;
            let local = jid.split('@').next().unwrap_or(jid);
            let uri = if space_suffix.is_empty() { local.to_string() } else { format!("{local}.{space_suffix}") };
            if lock(&self.shared).co_spaces.values().any(|s| s.uri.eq_ignore_ascii_case(&uri)) {
                continue;
            }
            self.add_co_space(&uri, &uri, &(first_call_id + added as u64 - 1).to_string(), Some(jid), None);
        }
        added
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

    /// The Call Bridge at `node` restarts: its calls, legs and participants are gone (without
    /// CDRs, as when a node goes down), its CDR receivers stay configured, and its CDRs carry a
    /// new session with `recordIndex` from 1. Returns the new session.
    pub fn restart_node(&self, node: usize) -> Result<String, SimError> {
        let n = self.node(node)?;
        let mut db = lock(&n.db);
        db.calls.clear();
        db.legs.clear();
        db.participants.clear();
        let session = lock(&n.outbox).restart();
        drop(db);
        tracing::info!(node = %n.name, %session, "simulated Call Bridge restarted");
        Ok(session)
    }

    /// Sends pending CDRs of one node to every receiver until each has nothing left or fails.
    pub(super) async fn deliver(&self, n: &Node, backoff: &mut std::collections::HashMap<String, (Instant, Duration)>) {
        let urls = lock(&n.outbox).urls();
        for url in urls {
            if let Some((until, _)) = backoff.get(&url) {
                if Instant::now() < *until {
                    continue;
                }
            }
            loop {
                let next = {
                    let mut out = lock(&n.outbox);
                    let session = out.session.clone();
                    out.batch(&url, self.cfg.cdr_batch).map(|(last, body)| (session, last, body))
                };
                let Some((session, last, body)) = next else { break };
                let sent = self.http.post(&url).header("content-type", "text/xml").body(body).send().await;
                let ok = matches!(&sent, Ok(r) if r.status() == reqwest::StatusCode::OK);
                if let Ok(r) = sent {
                    // Drain the body so the connection goes back to the keep-alive pool.
                    let _ = r.bytes().await;
                }
                if ok && !n.faults.should_lose_ack() {
                    lock(&n.outbox).ack(&url, &session, last);
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
