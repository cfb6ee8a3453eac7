//! Graph change-notification subscriptions (../shared/reference/exchange.md §3.3), used when a
//! public HTTPS URL is configured: one per mailbox, created with a random `clientState` (Graph
//! validates the URL first: the server edge echoes `validationToken`), renewed a day before it
//! expires (asked for three days; Outlook events allow under seven), recreated when Graph
//! removes it. A notification only says "look at this mailbox now": the poller then follows the
//! mailbox's delta link, so a lost or repeated notification costs nothing but a round, and the
//! regular polling stays as the safety net. Notifications whose `clientState` does not match
//! are dropped (a forged POST cannot make us write). They are checked against the
//! subscriptions held in memory (read from the store once, kept as they are made): a POST for
//! a subscription we do not know costs no database work, beyond one reload of the list at most
//! every [`RELOAD_EVERY`] (another instance may have made it).

use super::WatchError;
use crate::calendar::exchange::graph::{notify, GraphClient, Lifecycle};
use crate::calendar::model::ProviderError;
use crate::calendar::store::{CalendarStore, KnownSubscription, NotGenuine};
use crate::store::{Store, StoreError};
use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// A notification for a subscription not held in memory reloads the list at most this often.
pub const RELOAD_EVERY: Duration = Duration::from_secs(30);

/// The subscriptions Graph may post about, by id.
#[derive(Default)]
struct Known {
    by_id: HashMap<String, KnownSubscription>,
    /// When the list was last read from the store (`None`: not yet).
    loaded: Option<Instant>,
}

impl Known {
    fn reload_due(&self, now: Instant) -> bool {
        self.loaded.is_none_or(|t| now.duration_since(t) >= RELOAD_EVERY)
    }

    /// A subscription made here: it replaces the mailbox's earlier one.
    fn put(&mut self, sub: KnownSubscription) {
        self.by_id.retain(|_, s| s.mailbox != sub.mailbox);
        self.by_id.insert(sub.id.clone(), sub);
    }
}

/// What a notification asks the poller to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    /// Something changed in this mailbox (or Graph missed changes): follow its delta link now.
    Poll(String),
    /// Graph needs the subscription renewed to keep sending (`reauthorizationRequired`).
    Renew(String),
    /// Graph removed the subscription (`subscriptionRemoved`): subscribe again, then poll.
    Recreate(String),
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error("not a Graph notification: {0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct GraphSubscriptions {
    graph: GraphClient,
    store: CalendarStore,
    /// The public HTTPS URL Graph posts to (`…/hooks/graph`).
    pub url: String,
    /// Asked for at creation and renewal.
    pub lifetime: time::Duration,
    /// Renewed when less than this is left.
    pub renew_before: time::Duration,
    known: Mutex<Known>,
}

impl GraphSubscriptions {
    pub fn new(graph: GraphClient, store: Store, url: String) -> Self {
        Self {
            graph,
            store: CalendarStore::new(store),
            url,
            lifetime: time::Duration::days(3),
            renew_before: time::Duration::days(1),
            known: Mutex::new(Known::default()),
        }
    }

    /// A new subscription for `mailbox` (Graph validates the URL while we wait).
    pub async fn create(&self, mailbox: &str) -> Result<(), WatchError> {
        let client_state = uuid::Uuid::new_v4().simple().to_string();
        let (id, expires) = self.graph.subscribe(mailbox, &self.url, &client_state, OffsetDateTime::now_utc() + self.lifetime).await?;
        self.store.save_subscription(mailbox, &id, &client_state, expires).await?;
        lock(&self.known).put(KnownSubscription::new(&id, mailbox, &client_state));
        tracing::info!(%mailbox, subscription = %id, "Graph change notifications subscribed");
        Ok(())
    }

    /// Renews `mailbox`'s subscription now; a subscription Graph no longer knows (or will not
    /// renew) is created again.
    pub async fn renew(&self, mailbox: &str) -> Result<(), WatchError> {
        let Some((id, _)) = self.store.subscription(mailbox).await? else {
            return self.create(mailbox).await;
        };
        match self.graph.renew(&id, OffsetDateTime::now_utc() + self.lifetime).await {
            Ok((_, expires)) => Ok(self.store.renewed_subscription(mailbox, expires).await?),
            Err(
                ProviderError::NotFound { .. }
                | ProviderError::Refused { .. }
                | ProviderError::SyncStateLost { .. }
                | ProviderError::SignIn(_),
            ) => self.create(mailbox).await,
            Err(e) => Err(e.into()),
        }
    }

    /// Subscribed, and not about to expire: creates or renews as needed.
    pub async fn ensure(&self, mailbox: &str) -> Result<(), WatchError> {
        match self.store.subscription(mailbox).await? {
            None => self.create(mailbox).await,
            Some((_, expires)) if expires <= OffsetDateTime::now_utc() => self.create(mailbox).await,
            Some((_, expires)) if expires - OffsetDateTime::now_utc() < self.renew_before => self.renew(mailbox).await,
            Some(_) => Ok(()),
        }
    }

    /// Reads a notification POST: what each genuine notification asks for. Notifications for a
    /// subscription we do not know, or with the wrong `clientState`, are dropped (and counted in
    /// one log line per POST).
    pub async fn read(&self, body: &[u8]) -> Result<Vec<Wanted>, NotifyError> {
        let mut wanted = Vec::new();
        let (mut unknown, mut forged) = (0usize, None::<(usize, String)>);
        for n in notify::notices(body).map_err(NotifyError::Malformed)? {
            let mailbox = match self.mailbox_of(&n.subscription_id, n.client_state.as_deref().unwrap_or_default()).await? {
                Ok(m) => m,
                Err(NotGenuine::UnknownSubscription) => {
                    unknown += 1;
                    continue;
                }
                Err(NotGenuine::WrongClientState(mailbox)) => {
                    forged = Some((forged.map_or(0, |f| f.0) + 1, mailbox));
                    continue;
                }
            };
            if let Some(event) = &n.unknown_event {
                tracing::info!(%mailbox, event = %crate::untrusted::loggable(event), "an unknown Graph lifecycle event; polling the mailbox");
            }
            let w = match n.lifecycle {
                Lifecycle::Changed => Wanted::Poll(mailbox),
                Lifecycle::ReauthorizationRequired => Wanted::Renew(mailbox),
                Lifecycle::Removed => Wanted::Recreate(mailbox),
            };
            if !wanted.contains(&w) {
                wanted.push(w);
            }
        }
        if unknown > 0 {
            tracing::warn!(notifications = unknown, "Graph notifications for subscriptions we do not have; dropped");
        }
        if let Some((n, mailbox)) = forged {
            tracing::warn!(notifications = n, %mailbox, "Graph notifications with the wrong clientState; dropped");
        }
        Ok(wanted)
    }

    /// The mailbox of a genuine notification, checked in memory; the list is read from the store
    /// first, and again for an unknown id at most every [`RELOAD_EVERY`].
    async fn mailbox_of(&self, id: &str, client_state: &str) -> Result<Result<String, NotGenuine>, StoreError> {
        let now = Instant::now();
        {
            let known = lock(&self.known);
            if let Some(sub) = known.by_id.get(id) {
                return Ok(sub.check(client_state));
            }
            if !known.reload_due(now) {
                return Ok(Err(NotGenuine::UnknownSubscription));
            }
        }
        let all = self.store.subscriptions().await?;
        let mut known = lock(&self.known);
        known.by_id = all.into_iter().map(|s| (s.id.clone(), s)).collect();
        known.loaded = Some(now);
        Ok(known.by_id.get(id).map(|s| s.check(client_state)).unwrap_or(Err(NotGenuine::UnknownSubscription)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    fn notice(id: &str, client_state: &str) -> serde_json::Value {
        serde_json::json!({ "subscriptionId": id, "clientState": client_state, "changeType": "updated" })
    }

    #[tokio::test]
    async fn notifications_for_unknown_subscriptions_cost_no_database_work() {
        let (store, _dir) = test_store().await;
        let graph =
            GraphClient::new(reqwest::Client::new(), "http://127.0.0.1:9/token", "http://127.0.0.1:9/v1.0", "id", "secret").unwrap();
        let subs = GraphSubscriptions::new(graph, store.clone(), "https://sb.example/hooks/graph".into());
        let expires = OffsetDateTime::now_utc() + time::Duration::days(2);
        CalendarStore::new(store.clone()).save_subscription("dave@x", "sub-1", "the-secret", expires).await.unwrap();
        let body = |v: Vec<serde_json::Value>| serde_json::to_vec(&serde_json::json!({ "value": v })).unwrap();
        assert_eq!(subs.read(&body(vec![notice("sub-1", "the-secret")])).await.unwrap(), vec![Wanted::Poll("dave@x".into())]);

        // With the database gone, forged and unknown notifications are still answered: from memory.
        store.close().await;
        let forged: Vec<_> = (0..1000).map(|i| notice(&format!("forged-{i}"), "guess")).collect();
        assert_eq!(subs.read(&body(forged)).await.unwrap(), vec![], "dropped without a query");
        assert_eq!(subs.read(&body(vec![notice("sub-1", "guess")])).await.unwrap(), vec![], "the wrong clientState");
        assert_eq!(subs.read(&body(vec![notice("sub-1", "the-secret")])).await.unwrap(), vec![Wanted::Poll("dave@x".into())]);
    }
}
