//! Watching mailboxes through EWS streaming notifications: mailboxes in groups of at most 200
//! (one `GetStreamingEvents` connection each, the group's affinity cookie kept), a reconnect when
//! Exchange closes the stream, and after any gap — start, restart, a dropped stream,
//! `ErrorSubscriptionNotFound` — a new subscription and a catch-up from the mailbox's saved
//! SyncState, so nothing created meanwhile is missed. A mailbox the account may not impersonate
//! is reported and skipped; the others go on. `ErrorServerBusy` waits its `BackOffMilliseconds`;
//! a meeting Exchange stays too busy (or unreachable) to process is not stepped over: the
//! catch-up stops before saving a SyncState past it, and a stream starts over with a catch-up.

use super::ews_client::{EwsClient, EwsError};
use super::service::{CalendarError, CalendarService};
use crate::model::calendar::GroupHealth;
use crate::store::{now_text, Store, StoreError};
use crate::sync::lock;
use crate::workers::WorkerCtx;
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;

pub const GROUP_SIZE: usize = 200;

pub struct EwsWatcher {
    ews: EwsClient,
    service: Arc<CalendarService>,
    store: Store,
    /// Minutes a streaming connection is asked to stay open (1–30).
    pub connection_minutes: u32,
    health: Mutex<Vec<GroupHealth>>,
}

/// Mailboxes in groups of at most [`GROUP_SIZE`], sorted so a group keeps its first mailbox.
pub fn groups(mut mailboxes: Vec<String>) -> Vec<Vec<String>> {
    mailboxes.sort();
    mailboxes.dedup();
    mailboxes.chunks(GROUP_SIZE).map(|c| c.to_vec()).collect()
}

impl EwsWatcher {
    pub fn new(ews: EwsClient, service: Arc<CalendarService>, store: Store) -> Self {
        Self { ews, service, store, connection_minutes: 30, health: Mutex::new(Vec::new()) }
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

    async fn sync_state(&self, mailbox: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT state FROM calendar_sync_state WHERE mailbox = ?")
            .bind(mailbox)
            .fetch_optional(self.store.pool())
            .await?)
    }

    async fn save_state(&self, mailbox: &str, state: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO calendar_sync_state (mailbox, state, updated_at) VALUES (?, ?, ?)
             ON CONFLICT(mailbox) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(state)
        .bind(now_text())
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Everything that changed in the mailbox's calendar since its saved SyncState, processed.
    pub async fn catch_up(&self, mailbox: &str) -> Result<usize, EwsError> {
        let mut state = self.sync_state(mailbox).await.map_err(|e| EwsError::Protocol(e.to_string()))?;
        let mut n = 0;
        loop {
            let page = match self.ews.sync(mailbox, state.as_deref()).await {
                Err(EwsError::Exchange { code, .. }) if code == "ErrorInvalidSyncStateData" && state.is_some() => {
                    // Exchange no longer knows our place (moved mailbox, new server): from the start.
                    tracing::warn!(%mailbox, "saved SyncState refused; synchronising from the start");
                    state = None;
                    continue;
                }
                other => other?,
            };
            for (kind, id) in &page.changes {
                if kind != "Delete" {
                    n += 1;
                    match self.service.process(mailbox, id, None).await {
                        Err(CalendarError::Ews(e)) if e.is_transient() => {
                            // This page's SyncState is not saved: the next catch-up (after the
                            // group's back-off) reads these changes again, so the meeting is not
                            // missed; those already done are up to date by then, not written twice.
                            tracing::warn!(%mailbox, error = %e, "catch-up stopped at a meeting Exchange could not serve; trying again later");
                            return Err(e);
                        }
                        Err(e) => tracing::warn!(%mailbox, error = %e, "catch-up: a meeting could not be processed"),
                        Ok(_) => {}
                    }
                }
            }
            self.save_state(mailbox, &page.sync_state).await.map_err(|e| EwsError::Protocol(e.to_string()))?;
            state = Some(page.sync_state);
            if page.includes_last || page.changes.is_empty() {
                return Ok(n);
            }
        }
    }

    /// Watches all `mailboxes` until shutdown: one task per group.
    pub async fn run(self: Arc<Self>, mailboxes: Vec<String>, ctx: WorkerCtx) {
        let gs = groups(mailboxes);
        *lock(&self.health) =
            gs.iter().map(|g| GroupHealth { first_mailbox: g[0].clone(), mailboxes: g.len(), ..Default::default() }).collect();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, g) in gs.into_iter().enumerate() {
            let (me, ctx) = (self.clone(), ctx.clone());
            tasks.spawn(async move { me.run_group(i, g, ctx).await });
        }
        while tasks.join_next().await.is_some() {}
    }

    async fn run_group(&self, g: usize, mailboxes: Vec<String>, ctx: WorkerCtx) {
        let mut backoff = Duration::from_secs(1);
        while !ctx.is_cancelled() {
            match self.watch_once(g, &mailboxes, &ctx).await {
                Ok(()) => backoff = Duration::from_secs(1),
                Err(e) => {
                    let wait = match &e {
                        EwsError::Busy(d) => *d,
                        _ => backoff,
                    };
                    tracing::warn!(group = g, error = %e, wait_ms = wait.as_millis() as u64, "EWS watch interrupted; resubscribing after a pause");
                    self.update(g, |h| {
                        h.last_error = Some(e.to_string());
                        h.connected_since = None;
                    });
                    tokio::select! {
                        _ = ctx.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(60));
                }
            }
        }
    }

    /// Subscribes the group, catches up, and follows its stream until the subscriptions are
    /// gone (then returns Ok to start over) or something fails.
    async fn watch_once(&self, g: usize, mailboxes: &[String], ctx: &WorkerCtx) -> Result<(), EwsError> {
        let mut cookie: Option<String> = None;
        let mut subs: HashMap<String, String> = HashMap::new();
        let mut denied = Vec::new();
        for m in mailboxes {
            match self.ews.subscribe(m, cookie.as_deref()).await {
                Ok((id, c)) => {
                    cookie = cookie.or(c);
                    subs.insert(id, m.clone());
                }
                Err(EwsError::NoImpersonation(_)) => denied.push(m.clone()),
                Err(e) => return Err(e),
            }
        }
        self.update(g, |h| h.no_impersonation = denied.clone());
        for m in subs.values() {
            self.catch_up(m).await?;
        }
        self.update(g, |h| h.catch_ups += 1);
        if subs.is_empty() {
            // Nothing to watch here (no rights anywhere): look again later.
            tokio::select! {
                _ = ctx.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(300)) => {}
            }
            return Ok(());
        }
        let ids: Vec<String> = subs.keys().cloned().collect();
        let anchor = mailboxes[0].clone();
        loop {
            let stream = self.ews.stream(&anchor, &ids, self.connection_minutes, cookie.as_deref()).await?;
            self.update(g, |h| {
                h.connected_since = Some(OffsetDateTime::now_utc());
                h.last_error = None;
            });
            futures::pin_mut!(stream);
            let mut closed = false;
            loop {
                let next = tokio::select! {
                    _ = ctx.cancelled() => return Ok(()),
                    d = stream.next() => d,
                };
                let Some(doc) = next else { break };
                let doc = match doc {
                    Ok(d) => d,
                    Err(e) => {
                        // Cut mid-document (a reset): start over with a catch-up, as below.
                        self.update(g, |h| h.reconnects += 1);
                        return Err(e);
                    }
                };
                if !doc.outcome.ok() {
                    match doc.outcome.code.as_str() {
                        "ErrorSubscriptionNotFound" | "ErrorInvalidSubscription" | "ErrorMissedNotificationEvents" => return Ok(()),
                        "ErrorServerBusy" => return Err(EwsError::Busy(Duration::from_millis(doc.outcome.back_off_ms.unwrap_or(1000)))),
                        _ => return Err(EwsError::Exchange { code: doc.outcome.code.clone(), message: doc.outcome.message.clone() }),
                    }
                }
                if !doc.errored_subscriptions.is_empty() {
                    return Ok(());
                }
                for n in &doc.notifications {
                    let Some(mailbox) = subs.get(&n.subscription_id) else { continue };
                    self.update(g, |h| h.last_event = Some(OffsetDateTime::now_utc()));
                    match self.service.process(mailbox, &n.item_id, Some(OffsetDateTime::now_utc())).await {
                        Err(CalendarError::Ews(e)) if e.is_transient() => {
                            // Busy or unreachable beyond the retries: start over after the back-off.
                            // The catch-up from the SyncState saved before this stream began
                            // includes this change, so the meeting is processed then.
                            return Err(e);
                        }
                        Err(e) => tracing::warn!(%mailbox, error = %e, "a meeting could not be processed"),
                        Ok(_) => {}
                    }
                }
                if doc.connection_status.eq_ignore_ascii_case("Closed") {
                    closed = true;
                    break;
                }
            }
            self.update(g, |h| h.reconnects += 1);
            if !closed {
                // Dropped mid-way: events may have been lost; start over with a catch-up.
                return Err(EwsError::Network("the stream was dropped".into()));
            }
        }
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
