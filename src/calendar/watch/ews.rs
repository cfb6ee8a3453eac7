//! Watching mailboxes through EWS streaming notifications: mailboxes in groups of at most 200
//! (one `GetStreamingEvents` connection each, the group's affinity cookie kept), a reconnect when
//! Exchange closes the stream, and after any gap — start, restart, a dropped stream, lost
//! subscriptions — a new subscription and a catch-up from the mailbox's saved SyncState, so
//! nothing created meanwhile is missed. A mailbox the account may not impersonate is reported
//! and skipped; the others go on. A busy Exchange is waited out as it asks; a meeting Exchange
//! stays too busy (or unreachable) to process is not stepped over: the catch-up stops before
//! saving a SyncState past it, and a stream starts over with a catch-up.

use super::WatchError;
use crate::calendar::exchange::ews::{EventKind, EwsClient, ItemChange, Notification, StreamBatch};
use crate::calendar::model::ProviderError;
use crate::calendar::service::{CalendarError, CalendarService};
use crate::calendar::store::CalendarStore;
use crate::model::calendar::GroupHealth;
use crate::store::Store;
use crate::sync::lock;
use crate::workers::{Pulse, WorkerCtx};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

pub const GROUP_SIZE: usize = 200;

pub struct EwsWatcher {
    ews: EwsClient,
    service: Arc<CalendarService>,
    store: CalendarStore,
    /// Minutes a streaming connection is asked to stay open (1–30).
    pub connection_minutes: u32,
    health: Mutex<Vec<GroupHealth>>,
    /// Each mailbox's calendar folder id, asked for the first time a move is reported.
    calendar_folders: Mutex<HashMap<String, String>>,
}

/// Mailboxes in groups of at most [`GROUP_SIZE`], sorted so a group keeps its first mailbox.
pub fn groups(mut mailboxes: Vec<String>) -> Vec<Vec<String>> {
    mailboxes.sort();
    mailboxes.dedup();
    mailboxes.chunks(GROUP_SIZE).map(|c| c.to_vec()).collect()
}

/// A group's subscriptions: the affinity cookie, subscription id → mailbox.
struct Subscribed {
    cookie: Option<String>,
    subs: HashMap<String, String>,
}

/// How a followed stream ended.
enum StreamEnd {
    /// Exchange closed it at its timeout: open the next one.
    Closed,
    /// The subscriptions are gone, or shutdown: start over (subscribe, catch up).
    StartOver,
}

impl EwsWatcher {
    pub fn new(ews: EwsClient, service: Arc<CalendarService>, store: Store) -> Self {
        Self {
            ews,
            service,
            store: CalendarStore::new(store),
            connection_minutes: 30,
            health: Mutex::new(Vec::new()),
            calendar_folders: Mutex::default(),
        }
    }

    pub fn health(&self) -> Vec<GroupHealth> {
        lock(&self.health).clone()
    }

    fn update(&self, g: usize, f: impl FnOnce(&mut GroupHealth)) {
        let mut h = lock(&self.health);
        if let Some(x) = h.get_mut(g) {
            f(x);
        }
    }

    /// Everything that changed in the mailbox's calendar since its saved SyncState, processed.
    pub async fn catch_up(&self, mailbox: &str) -> Result<usize, WatchError> {
        self.catch_up_beating(mailbox, &Pulse::detached()).await
    }

    /// [`Self::catch_up`], beating `pulse` for each page and meeting.
    async fn catch_up_beating(&self, mailbox: &str, pulse: &Pulse) -> Result<usize, WatchError> {
        let mut state = self.store.sync_state(mailbox).await?;
        let mut n = 0;
        loop {
            let page = match self.ews.sync(mailbox, state.as_deref()).await {
                Err(ProviderError::SyncStateLost { .. }) if state.is_some() => {
                    // Exchange no longer knows our place (moved mailbox, new server): from the start.
                    tracing::warn!(%mailbox, "saved SyncState refused; synchronising from the start");
                    state = None;
                    continue;
                }
                other => other?,
            };
            pulse.beat();
            for change in &page.changes {
                let ItemChange::Changed(id) = change else { continue };
                n += 1;
                pulse.beat();
                match self.service.process(mailbox, id, None).await {
                    Err(CalendarError::Provider(e)) if e.is_transient() => {
                        // This page's SyncState is not saved: the next catch-up (after the
                        // group's back-off) reads these changes again, so the meeting is not
                        // missed; those already done are up to date by then, not written twice.
                        tracing::warn!(%mailbox, error = %e, "catch-up stopped at a meeting Exchange could not serve; trying again later");
                        return Err(e.into());
                    }
                    Err(e) => tracing::warn!(%mailbox, error = %e, "catch-up: a meeting could not be processed"),
                    Ok(_) => {}
                }
            }
            self.store.save_sync_state(mailbox, &page.sync_state).await?;
            state = Some(page.sync_state);
            if page.includes_last || page.changes.is_empty() {
                return Ok(n);
            }
        }
    }

    /// Watches all `mailboxes` until shutdown: one task per group, each with its own pulse (a
    /// stalled stream makes the worker stale even while the other groups' streams are alive).
    pub async fn run(self: Arc<Self>, mailboxes: Vec<String>, ctx: WorkerCtx) {
        let gs = groups(mailboxes);
        *lock(&self.health) =
            gs.iter().map(|g| GroupHealth { first_mailbox: g[0].clone(), mailboxes: g.len(), ..Default::default() }).collect();
        ctx.idle();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, g) in gs.into_iter().enumerate() {
            let (me, ctx, pulse) = (self.clone(), ctx.clone(), ctx.pulse());
            tasks.spawn(async move { me.run_group(i, g, ctx, pulse).await });
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn run_group(&self, g: usize, mailboxes: Vec<String>, ctx: WorkerCtx, pulse: Pulse) {
        let mut backoff = Duration::from_secs(1);
        while !ctx.is_cancelled() {
            match self.watch_once(g, &mailboxes, &ctx, &pulse).await {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(e) => {
                    let wait = match &e {
                        WatchError::Provider(ProviderError::Throttled { retry_after }) => *retry_after,
                        _ => backoff,
                    };
                    tracing::warn!(group = g, error = %e, wait_ms = wait.as_millis() as u64, "EWS watch interrupted; resubscribing after a pause");
                    self.update(g, |h| {
                        h.last_error = Some(e.to_string());
                        h.connected_since = None;
                    });
                    pulse.quiet_for(wait);
                    tokio::select! {
                        _ = ctx.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    pulse.beat();
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Subscribes each mailbox of the group (those without the right are reported).
    async fn subscribe_group(&self, g: usize, mailboxes: &[String], pulse: &Pulse) -> Result<Subscribed, ProviderError> {
        let mut s = Subscribed { cookie: None, subs: HashMap::new() };
        let mut denied = Vec::new();
        for m in mailboxes {
            pulse.beat();
            match self.ews.subscribe(m, s.cookie.as_deref()).await {
                Ok((id, c)) => {
                    s.cookie = s.cookie.or(c);
                    s.subs.insert(id, m.clone());
                }
                Err(ProviderError::NoAccess(_)) => denied.push(m.clone()),
                Err(e) => return Err(e),
            }
        }
        self.update(g, |h| h.no_impersonation = denied);
        Ok(s)
    }

    /// Subscribes the group, catches up, and follows its stream until the subscriptions are
    /// gone (then returns Ok to start over) or something fails.
    async fn watch_once(&self, g: usize, mailboxes: &[String], ctx: &WorkerCtx, pulse: &Pulse) -> Result<(), WatchError> {
        let s = self.subscribe_group(g, mailboxes, pulse).await?;
        for m in s.subs.values() {
            self.catch_up_beating(m, pulse).await?;
        }
        self.update(g, |h| h.catch_ups += 1);
        if s.subs.is_empty() {
            // Nothing to watch here (no rights anywhere): look again later.
            pulse.quiet_for(Duration::from_secs(300));
            tokio::select! {
                _ = ctx.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            }
            return Ok(());
        }
        let ids: Vec<String> = s.subs.keys().cloned().collect();
        loop {
            pulse.beat();
            let stream = self.ews.stream(&mailboxes[0], &ids, self.connection_minutes, s.cookie.as_deref()).await?;
            pulse.beat();
            self.update(g, |h| {
                h.connected_since = Some(OffsetDateTime::now_utc());
                h.last_error = None;
            });
            let end = self.follow(g, stream, &s.subs, ctx, pulse).await?;
            if let StreamEnd::StartOver = end {
                return Ok(());
            }
            self.update(g, |h| h.reconnects += 1);
        }
    }

    /// Processes a stream's notifications until it ends; every document (a keep-alive too) is a
    /// sign of life.
    async fn follow(
        &self,
        g: usize,
        stream: impl futures::Stream<Item = Result<StreamBatch, ProviderError>>,
        subs: &HashMap<String, String>,
        ctx: &WorkerCtx,
        pulse: &Pulse,
    ) -> Result<StreamEnd, WatchError> {
        futures::pin_mut!(stream);
        loop {
            let next = tokio::select! {
                _ = ctx.cancelled() => return Ok(StreamEnd::StartOver),
                d = stream.next() => d,
            };
            pulse.beat();
            let Some(batch) = next else {
                // Dropped mid-way: events may have been lost; start over with a catch-up.
                self.update(g, |h| h.reconnects += 1);
                return Err(ProviderError::Unavailable("the stream was dropped".into()).into());
            };
            let batch = batch.inspect_err(|e| {
                if matches!(e, ProviderError::Unavailable(_) | ProviderError::TimedOut(_) | ProviderError::Protocol(_)) {
                    // Cut mid-document (a reset): start over with a catch-up, as above.
                    self.update(g, |h| h.reconnects += 1);
                }
            })?;
            if batch.subscriptions_lost {
                return Ok(StreamEnd::StartOver);
            }
            for n in &batch.notifications {
                let Some(mailbox) = subs.get(&n.subscription_id) else { continue };
                pulse.beat();
                self.update(g, |h| h.last_event = Some(OffsetDateTime::now_utc()));
                if !self.worth_reading(mailbox, n).await? {
                    continue;
                }
                match self.service.process(mailbox, &n.item_id, Some(OffsetDateTime::now_utc())).await {
                    // Busy or unreachable beyond the retries: start over after the back-off.
                    // The catch-up from the SyncState saved before this stream began includes
                    // this change, so the meeting is processed then.
                    Err(CalendarError::Provider(e)) if e.is_transient() => return Err(e.into()),
                    Err(e) => tracing::warn!(%mailbox, error = %e, "a meeting could not be processed"),
                    Ok(_) => {}
                }
            }
            if batch.closed {
                return Ok(StreamEnd::Closed);
            }
        }
    }
}

impl EwsWatcher {
    /// Whether the notified item is one to read: a deleted item is gone (reading it would only
    /// fail), and a moved one is read only when it moved into the calendar (a restore) — a
    /// meeting moved out (Outlook's delete moves it to Deleted Items) is not ours to write.
    async fn worth_reading(&self, mailbox: &str, n: &Notification) -> Result<bool, ProviderError> {
        match n.kind {
            EventKind::Deleted => {
                tracing::debug!(%mailbox, "a meeting was deleted; nothing to do");
                Ok(false)
            }
            EventKind::Moved => {
                let Some(now_in) = n.parent_folder_id.as_deref() else { return Ok(false) };
                let into_calendar = self.calendar_folder(mailbox).await? == now_in;
                tracing::debug!(%mailbox, into_calendar, "a meeting was moved");
                Ok(into_calendar)
            }
            EventKind::Created | EventKind::Modified | EventKind::Other => Ok(true),
        }
    }

    async fn calendar_folder(&self, mailbox: &str) -> Result<String, ProviderError> {
        if let Some(id) = lock(&self.calendar_folders).get(mailbox) {
            return Ok(id.clone());
        }
        let id = self.ews.calendar_folder_id(mailbox).await?;
        lock(&self.calendar_folders).insert(mailbox.to_string(), id.clone());
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_grouped_by_two_hundred_sorted_and_once() {
        let mut m: Vec<String> = (0..450).map(|i| format!("u{i:03}@example.com")).collect();
        m.push("u001@example.com".into());
        let g = groups(m);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), vec![200, 200, 50]);
        assert_eq!(g[0][0], "u000@example.com");
        assert_eq!(g[1][0], "u200@example.com");
    }
}
