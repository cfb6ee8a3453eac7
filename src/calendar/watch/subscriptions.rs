//! Graph change-notification subscriptions (../shared/reference/exchange.md §3.3), used when a
//! public HTTPS URL is configured: one per mailbox, created with a random `clientState` (Graph
//! validates the URL first: the server edge echoes `validationToken`), renewed a day before it
//! expires (asked for three days; Outlook events allow under seven), recreated when Graph
//! removes it. A notification only says "look at this mailbox now": the poller then follows the
//! mailbox's delta link, so a lost or repeated notification costs nothing but a round, and the
//! regular polling stays as the safety net. Notifications whose `clientState` does not match
//! are dropped (a forged POST cannot make us write).

use super::WatchError;
use crate::calendar::exchange::graph::{notify, GraphClient, Lifecycle};
use crate::calendar::model::ProviderError;
use crate::calendar::store::{CalendarStore, NotGenuine};
use crate::store::{Store, StoreError};
use time::OffsetDateTime;

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
}

impl GraphSubscriptions {
    pub fn new(graph: GraphClient, store: Store, url: String) -> Self {
        Self { graph, store: CalendarStore::new(store), url, lifetime: time::Duration::days(3), renew_before: time::Duration::days(1) }
    }

    /// A new subscription for `mailbox` (Graph validates the URL while we wait).
    pub async fn create(&self, mailbox: &str) -> Result<(), WatchError> {
        let client_state = uuid::Uuid::new_v4().simple().to_string();
        let (id, expires) = self.graph.subscribe(mailbox, &self.url, &client_state, OffsetDateTime::now_utc() + self.lifetime).await?;
        self.store.save_subscription(mailbox, &id, &client_state, expires).await?;
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
    /// subscription we do not know, or with the wrong `clientState`, are dropped (and logged).
    pub async fn read(&self, body: &[u8]) -> Result<Vec<Wanted>, NotifyError> {
        let mut wanted = Vec::new();
        for n in notify::notices(body).map_err(NotifyError::Malformed)? {
            let mailbox = match self.store.subscription_mailbox(&n.subscription_id, n.client_state.as_deref().unwrap_or_default()).await? {
                Ok(m) => m,
                Err(NotGenuine::UnknownSubscription) => {
                    tracing::warn!(subscription = %n.subscription_id, "a Graph notification for a subscription we do not have; dropped");
                    continue;
                }
                Err(NotGenuine::WrongClientState(mailbox)) => {
                    tracing::warn!(%mailbox, "a Graph notification with the wrong clientState; dropped");
                    continue;
                }
            };
            if let Some(event) = &n.unknown_event {
                tracing::info!(%mailbox, event = %event, "an unknown Graph lifecycle event; polling the mailbox");
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
        Ok(wanted)
    }
}
