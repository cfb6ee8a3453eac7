//! Makes every call show the banner the rules want: on each change it compares the desired
//! banner of the meeting with what each call instance shows, PUTs only the difference to the
//! node hosting that instance, clears banners whose condition went away, retries failures with
//! backoff, and records every attempt in the banner history. Runs as one supervised worker.

use super::service::BannerService;
use crate::cdr::{CallEvent, CallKey, CdrService};
use crate::cms::{CmsCluster, CmsError};
use crate::model::{BannerDuration, LiveCall, Meeting};
use crate::sync::lock;
use crate::workers::WorkerCtx;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

pub struct Enforcer {
    cdr: Arc<CdrService>,
    cluster: Arc<CmsCluster>,
    banners: Arc<BannerService>,
    in_flight: Mutex<HashSet<CallKey>>,
    retry: Mutex<HashMap<CallKey, (Instant, u32)>>,
}

impl Enforcer {
    pub fn new(cdr: Arc<CdrService>, cluster: Arc<CmsCluster>, banners: Arc<BannerService>) -> Arc<Self> {
        Arc::new(Self { cdr, cluster, banners, in_flight: Mutex::new(HashSet::new()), retry: Mutex::new(HashMap::new()) })
    }

    /// The worker: reacts to call changes and rule changes, retries what failed, and checks
    /// everything every 30 s in case an event was missed. PUTs in flight end with it.
    pub async fn run(self: Arc<Self>, ctx: WorkerCtx) {
        let mut rx = self.cdr.subscribe();
        // After a restart, PUTs of the previous run are gone with it: nothing is in flight.
        lock(&self.in_flight).clear();
        let mut puts = JoinSet::new();
        self.check_all(&mut puts);
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        let mut full = Instant::now();
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(CallEvent::Changed(k)) => {
                        if let Some(m) = self.cdr.meeting_of(&k) { self.check_meeting(m, &mut puts) }
                    }
                    Ok(CallEvent::Ended(k)) => { lock(&self.retry).remove(&k); }
                    // We fell behind: look at everything.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => self.check_all(&mut puts),
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                },
                _ = self.banners.rules_changed() => self.check_all(&mut puts),
                Some(_) = puts.join_next(), if !puts.is_empty() => {},
                _ = tick.tick() => {
                    ctx.beat();
                    let now = Instant::now();
                    let due: Vec<CallKey> = lock(&self.retry).iter().filter(|(_, (at, _))| *at <= now).map(|(k, _)| k.clone()).collect();
                    for k in due {
                        if let Some(m) = self.cdr.meeting_of(&k) { self.check_meeting(m, &mut puts) }
                    }
                    if full.elapsed() > Duration::from_secs(30) {
                        full = Instant::now();
                        self.check_all(&mut puts);
                    }
                }
            }
        }
    }

    fn check_all(self: &Arc<Self>, puts: &mut JoinSet<()>) {
        for m in self.cdr.meetings() {
            self.check_meeting(m, puts);
        }
    }

    fn check_meeting(self: &Arc<Self>, meeting: Meeting, puts: &mut JoinSet<()>) {
        let desired = self.banners.desired_for(&meeting);
        for call in meeting.instances {
            let k = CallKey(call.id.clone());
            if call.shown_banner() == desired.as_deref() {
                lock(&self.retry).remove(&k);
                continue;
            }
            if lock(&self.retry).get(&k).is_some_and(|(at, _)| *at > Instant::now()) {
                continue;
            }
            if !lock(&self.in_flight).insert(k) {
                continue;
            }
            let me = self.clone();
            let desired = desired.clone();
            puts.spawn(async move { me.apply(call, desired).await });
        }
    }

    async fn apply(self: Arc<Self>, call: LiveCall, desired: Option<String>) {
        let key = CallKey(call.id.clone());
        let rules = self.banners.rules();
        // Clearing is an empty text with duration 0.
        let (text, duration) = match &desired {
            Some(t) => (t.clone(), rules.duration),
            None => (String::new(), BannerDuration::Seconds(0)),
        };
        let (position, duration) = (rules.position.as_str(), duration.as_cms());
        let result: Result<String, CmsError> = match call.node.as_deref().and_then(|n| self.cluster.node(n)) {
            Some(node) => node.set_call_message(&call.id, &text, position, &duration).await.map(|_| node.name().to_string()),
            None => self.cluster.set_call_message(&call.id, &text, position, &duration).await,
        };
        let label = if text.is_empty() { "(cleared)".to_string() } else { text.clone() };
        match result {
            Ok(node) => {
                tracing::info!(call = %call.id, %node, banner = %label, "banner updated");
                self.cdr.set_node(&key, &node);
                self.banners.record_attempt(&call.id, &node, &call.name, &label, "ok").await;
                lock(&self.retry).remove(&key);
                lock(&self.in_flight).remove(&key);
                self.cdr.set_message(&key, desired);
            }
            Err(CmsError::NotFound { .. }) => {
                // The call ended before we got there.
                lock(&self.retry).remove(&key);
                lock(&self.in_flight).remove(&key);
            }
            Err(e) => {
                let attempts = lock(&self.retry).get(&key).map(|(_, n)| n + 1).unwrap_or(1);
                let wait = Duration::from_millis(500 * 2u64.pow(attempts.min(7)));
                tracing::warn!(call = %call.id, error = %e, attempt = attempts, retry_in = ?wait, "banner update failed");
                let node = call.node.clone().unwrap_or_else(|| "?".into());
                self.banners.record_attempt(&call.id, &node, &call.name, &label, &format!("failed: {e}")).await;
                lock(&self.retry).insert(key.clone(), (Instant::now() + wait, attempts));
                lock(&self.in_flight).remove(&key);
            }
        }
    }
}
