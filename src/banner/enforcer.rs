//! Makes every call show the banner the rules want: on each change it compares the desired
//! banner of the meeting with what each call instance shows, PUTs only the difference to the
//! node hosting that instance, clears banners whose condition went away, retries failures with
//! backoff, and records every attempt in the banner history.

use super::rules::desired_banner;
use crate::cdr::{CallEvent, CallKey, CdrService};
use crate::cms::{CmsCluster, CmsError};
use crate::model::{BannerRules, LiveCall};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

pub struct Enforcer {
    cdr: Arc<CdrService>,
    cluster: Arc<CmsCluster>,
    rules: RwLock<BannerRules>,
    in_flight: Mutex<HashSet<CallKey>>,
    retry: Mutex<HashMap<CallKey, (Instant, u32)>>,
    sweep: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Enforcer {
    pub fn new(cdr: Arc<CdrService>, cluster: Arc<CmsCluster>, rules: BannerRules) -> Arc<Self> {
        Arc::new(Self {
            cdr,
            cluster,
            rules: RwLock::new(rules),
            in_flight: Mutex::new(HashSet::new()),
            retry: Mutex::new(HashMap::new()),
            sweep: Notify::new(),
        })
    }

    pub fn rules(&self) -> BannerRules {
        self.rules.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// New rules apply to every live call at once.
    pub fn set_rules(&self, rules: BannerRules) {
        if let Ok(mut r) = self.rules.write() {
            *r = rules;
        }
        self.sweep.notify_one();
    }

    /// The banner the meeting of this call should show.
    pub fn desired_for(&self, meeting: &[LiveCall]) -> Option<String> {
        desired_banner(meeting, &self.rules())
    }

    pub fn spawn(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        let mut rx = self.cdr.subscribe();
        tokio::spawn(async move {
            me.check_all();
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            let mut full = Instant::now();
            loop {
                tokio::select! {
                    ev = rx.recv() => match ev {
                        Ok(CallEvent::Changed(k)) => me.check_meeting(&k),
                        Ok(CallEvent::Ended(k)) => { lock(&me.retry).remove(&k); }
                        // We fell behind: look at everything.
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => me.check_all(),
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                    },
                    _ = me.sweep.notified() => me.check_all(),
                    _ = tick.tick() => {
                        let due: Vec<CallKey> = lock(&me.retry).iter().filter(|(_, (at, _))| *at <= Instant::now()).map(|(k, _)| k.clone()).collect();
                        for k in due { me.check_meeting(&k); }
                        // A periodic full check catches anything an event missed.
                        if full.elapsed() > Duration::from_secs(30) { full = Instant::now(); me.check_all(); }
                    }
                }
            }
        })
    }

    fn check_all(self: &Arc<Self>) {
        for c in self.cdr.calls() {
            self.check_meeting(&CallKey(c.id));
        }
    }

    fn check_meeting(self: &Arc<Self>, key: &CallKey) {
        let meeting = self.cdr.meeting_of(key);
        if meeting.is_empty() {
            return;
        }
        let desired = self.desired_for(&meeting);
        for call in meeting {
            let k = CallKey(call.id.clone());
            let shown = call.message_text.clone().filter(|t| !t.is_empty());
            if shown == desired {
                lock(&self.retry).remove(&k);
                continue;
            }
            if let Some((at, _)) = lock(&self.retry).get(&k) {
                if *at > Instant::now() {
                    continue;
                }
            }
            if !lock(&self.in_flight).insert(k.clone()) {
                continue;
            }
            let me = self.clone();
            let desired = desired.clone();
            tokio::spawn(async move { me.apply(call, desired).await });
        }
    }

    async fn apply(self: Arc<Self>, call: LiveCall, desired: Option<String>) {
        let key = CallKey(call.id.clone());
        let rules = self.rules();
        // Clearing is an empty text with duration 0, as the original script did.
        let (text, position, duration) = match &desired {
            Some(t) => (t.clone(), rules.position.clone(), rules.duration.clone()),
            None => (String::new(), rules.position.clone(), "0".to_string()),
        };
        let result: Result<String, CmsError> = match call.node.as_deref().and_then(|n| self.cluster.node(n)) {
            Some(node) => node.set_call_message(&call.id, &text, &position, &duration).await.map(|_| node.name().to_string()),
            None => self.cluster.set_call_message(&call.id, &text, &position, &duration).await,
        };
        let label = if text.is_empty() { "(cleared)".to_string() } else { text.clone() };
        match result {
            Ok(node) => {
                tracing::info!(call = %call.id, %node, banner = %label, "banner updated");
                self.cdr.set_node(&key, &node);
                let _ = self.cdr.store().banner_event(&call.id, &node, &call.name, &label, "ok").await;
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
                let _ = self.cdr.store().banner_event(&call.id, &node, &call.name, &label, &format!("failed: {e}")).await;
                lock(&self.retry).insert(key.clone(), (Instant::now() + wait, attempts));
                lock(&self.in_flight).remove(&key);
            }
        }
    }
}
