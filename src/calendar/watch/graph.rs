//! Watching Exchange Online mailboxes through Graph: each mailbox's `calendarView/delta`
//! followed page by page to its delta link, which is stored (`calendar_graph_delta`) and asked
//! again every `interval` — so a restart continues where it stopped, and nothing needs a public
//! URL (change-notification webhooks are not used). The first round of a mailbox (or a round
//! after Graph forgot the link: 410) processes every meeting in the window, as the EWS
//! catch-up does; the rules leave meetings already handled alone. 429/503 wait their
//! `Retry-After`; a mailbox outside the app's access policy is reported and skipped. With a
//! public URL configured, change notifications ([`subscriptions`](super::subscriptions)) wake
//! the poller for one mailbox at once; the rounds stay as the safety net.

use super::subscriptions::{GraphSubscriptions, NotifyError, Wanted};
use super::WatchError;
use crate::calendar::exchange::graph::GraphClient;
use crate::calendar::model::{ProviderError, MAX_RETRY_AFTER};
use crate::calendar::service::CalendarService;
use crate::calendar::store::CalendarStore;
use crate::model::calendar::GroupHealth;
use crate::store::Store;
use crate::sync::lock;
use crate::workers::{Pulse, WorkerCtx};
use futures::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

pub struct GraphPoller {
    graph: GraphClient,
    service: Arc<CalendarService>,
    store: Store,
    calendar: CalendarStore,
    /// Between two rounds over all mailboxes.
    pub interval: Duration,
    /// The calendar window asked for: from a day ago to this many days ahead.
    pub days_ahead: i64,
    /// Mailboxes polled at once (Graph allows 4 concurrent requests per mailbox and app; this
    /// spreads over mailboxes).
    pub concurrency: usize,
    health: Mutex<GroupHealth>,
    /// Change notifications, when a public URL is configured.
    pub subscriptions: Option<GraphSubscriptions>,
    wake_tx: tokio::sync::mpsc::UnboundedSender<Wanted>,
    wake_rx: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Wanted>>,
}

impl GraphPoller {
    pub fn new(graph: GraphClient, service: Arc<CalendarService>, store: Store, interval: Duration) -> Self {
        let (wake_tx, wake_rx) = tokio::sync::mpsc::unbounded_channel();
        Self {
            graph,
            service,
            calendar: CalendarStore::new(store.clone()),
            store,
            interval,
            days_ahead: 365,
            concurrency: 4,
            health: Mutex::new(GroupHealth::default()),
            subscriptions: None,
            wake_tx,
            wake_rx: tokio::sync::Mutex::new(wake_rx),
        }
    }

    /// Change notifications to `url` (the public `…/hooks/graph`).
    pub fn with_notifications(mut self, url: String) -> Self {
        self.subscriptions = Some(GraphSubscriptions::new(self.graph.clone(), self.store.clone(), url));
        self
    }

    /// A notification POST from Graph (already past the validation handshake): each genuine
    /// notification wakes the worker for its mailbox. Returns how many did; quick, as Graph
    /// wants its 202 within seconds.
    pub async fn notified(&self, body: &[u8]) -> Result<usize, NotifyError> {
        let Some(subs) = &self.subscriptions else { return Err(NotifyError::Malformed("change notifications are not configured".into())) };
        let wanted = subs.read(body).await?;
        let n = wanted.len();
        if n > 0 {
            lock(&self.health).last_event = Some(OffsetDateTime::now_utc());
        }
        for w in wanted {
            let _ = self.wake_tx.send(w);
        }
        Ok(n)
    }

    /// One line for `/calendar` (the mailboxes it polls, the last round, what went wrong).
    pub fn health(&self) -> GroupHealth {
        lock(&self.health).clone()
    }

    /// One round for one mailbox: the pages from its stored delta link (or a new window) to
    /// the next delta link; every changed meeting processed (a series once, on its master).
    /// Returns how many were.
    pub async fn poll(&self, mailbox: &str) -> Result<usize, WatchError> {
        self.poll_beating(mailbox, &Pulse::detached()).await
    }

    /// [`Self::poll`], beating `pulse` for each page and meeting.
    async fn poll_beating(&self, mailbox: &str, pulse: &Pulse) -> Result<usize, WatchError> {
        let mut link = self.calendar.delta_link(mailbox).await?;
        if link.as_deref().is_some_and(|l| !self.graph.is_own_link(l)) {
            // Stored under another `graph_api_url`: our token does not go there; start over here.
            tracing::warn!(%mailbox, "the stored delta link is not on the configured Graph API; reading the calendar window again");
            self.calendar.save_delta_link(mailbox, None).await?;
            link = None;
        }
        let mut n = 0;
        // A series' occurrences span many pages; its master is read and handled once a round.
        let mut done = std::collections::HashSet::new();
        loop {
            let page = match self.graph.delta(mailbox, link.as_deref(), self.days_ahead).await {
                Err(ProviderError::SyncStateLost { .. }) if link.is_some() => {
                    tracing::warn!(%mailbox, "Graph forgot the delta link; reading the calendar window again");
                    self.calendar.save_delta_link(mailbox, None).await?;
                    link = None;
                    continue;
                }
                other => other?,
            };
            pulse.beat();
            for id in page.changed.iter().filter(|id| done.insert(id.to_string())) {
                n += 1;
                pulse.beat();
                if let Err(e) = self.service.process(mailbox, id, Some(OffsetDateTime::now_utc())).await {
                    tracing::warn!(%mailbox, error = %e, "a meeting could not be processed");
                }
            }
            match (page.next_link, page.delta_link) {
                (Some(next), _) => link = Some(next),
                (None, Some(delta)) => {
                    self.calendar.save_delta_link(mailbox, Some(&delta)).await?;
                    return Ok(n);
                }
                (None, None) => return Err(ProviderError::Protocol("a delta page without nextLink or deltaLink".into()).into()),
            }
        }
    }

    /// The worker: rounds over `mailboxes` every `interval` until shutdown (each round first
    /// makes sure every mailbox's subscription is there and not about to expire), and in
    /// between, the mailboxes notifications point at.
    pub async fn run(self: Arc<Self>, mailboxes: Vec<String>, ctx: WorkerCtx) {
        *lock(&self.health) = GroupHealth {
            first_mailbox: format!("Graph: {}", mailboxes.first().cloned().unwrap_or_default()),
            mailboxes: mailboxes.len(),
            ..Default::default()
        };
        let mut wake = self.wake_rx.lock().await;
        let pulse = ctx.pulse();
        ctx.idle();
        while !ctx.is_cancelled() {
            pulse.beat();
            let started = OffsetDateTime::now_utc();
            let (me, beat) = (&self, &pulse);
            let results: Vec<(String, Result<usize, WatchError>, Option<WatchError>)> = futures::stream::iter(mailboxes.iter().cloned())
                .map(|m| async move {
                    let sub = match &me.subscriptions {
                        Some(subs) => subs.ensure(&m).await.err(),
                        None => None,
                    };
                    beat.beat();
                    let r = me.poll_beating(&m, beat).await;
                    (m, r, sub)
                })
                .buffer_unordered(self.concurrency.max(1))
                .collect()
                .await;
            let wait = self.record_round(started, results);
            let now = tokio::time::Instant::now();
            let next = now.checked_add(wait).unwrap_or(now + MAX_RETRY_AFTER);
            loop {
                // Quiet on purpose until the next round.
                pulse.quiet_for(next.saturating_duration_since(tokio::time::Instant::now()));
                let w = tokio::select! {
                    _ = ctx.cancelled() => return,
                    _ = tokio::time::sleep_until(next) => break,
                    w = wake.recv() => match w { Some(w) => w, None => break },
                };
                pulse.beat();
                self.on_notification(w, &mailboxes, &pulse).await;
            }
        }
    }

    /// A round's results into the health line; returns the wait before the next round (longer
    /// when Graph asked for it).
    fn record_round(&self, started: OffsetDateTime, results: Vec<(String, Result<usize, WatchError>, Option<WatchError>)>) -> Duration {
        let mut wait = self.interval;
        let (mut denied, mut errors, mut changed) = (Vec::new(), Vec::new(), 0);
        for (m, r, sub) in results {
            if let Some(e) = sub {
                errors.push(format!("{m}: change notifications: {e}"));
            }
            match r {
                Ok(k) => changed += k,
                Err(WatchError::Provider(ProviderError::NoAccess(_))) => denied.push(m),
                Err(WatchError::Provider(ProviderError::Throttled { retry_after: d })) => {
                    wait = wait.max(d);
                    errors.push(format!("{m}: Graph is busy (retry after {} s)", d.as_secs()));
                }
                Err(e) => errors.push(format!("{m}: {e}")),
            }
        }
        let mut h = lock(&self.health);
        h.catch_ups += 1;
        if changed > 0 {
            h.last_event = Some(OffsetDateTime::now_utc());
        }
        h.no_impersonation = denied;
        if errors.is_empty() {
            h.connected_since.get_or_insert(started);
            h.last_error = None;
        } else {
            tracing::warn!(errors = errors.len(), first = %errors[0], "Graph round with errors");
            h.connected_since = None;
            h.last_error = Some(errors.join("; "));
        }
        wait
    }

    async fn on_notification(&self, w: Wanted, mailboxes: &[String], pulse: &Pulse) {
        let (mailbox, result) = match w {
            Wanted::Poll(m) if mailboxes.contains(&m) => {
                let r = self.poll_beating(&m, pulse).await.map(|_| ());
                (m, r)
            }
            Wanted::Renew(m) if mailboxes.contains(&m) => {
                let r = match &self.subscriptions {
                    Some(subs) => subs.renew(&m).await,
                    None => Ok(()),
                };
                (m, r)
            }
            Wanted::Recreate(m) if mailboxes.contains(&m) => {
                let r = match &self.subscriptions {
                    Some(subs) => subs.create(&m).await,
                    None => Ok(()),
                };
                // Changes may have been missed while it was gone.
                let r = r.and(self.poll_beating(&m, pulse).await.map(|_| ()));
                (m, r)
            }
            _ => return,
        };
        if let Err(e) = result {
            tracing::warn!(%mailbox, error = %e, "acting on a Graph notification failed; the next round tries again");
        }
    }
}
