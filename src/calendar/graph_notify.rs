//! Graph change notifications (reference/exchange.md §3.3), used when a public HTTPS URL is
//! configured: one subscription per mailbox on `users/{mailbox}/events`, created with a random
//! `clientState` (Graph validates the URL first: the server edge echoes `validationToken`),
//! renewed a day before it expires (asked for three days; Outlook events allow under seven),
//! recreated when Graph removes it. A notification only says "look at this mailbox now": the
//! poller then follows the mailbox's delta link, so a lost or repeated notification costs
//! nothing but a round, and the regular polling stays as the safety net. Notifications whose
//! `clientState` does not match are dropped (a forged POST cannot make us write); only its
//! SHA-256 is stored, so the database does not hold the secret.

use super::ews_client::EwsError;
use super::graph::GraphClient;
use crate::store::{now_text, time_text, Store, StoreError};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
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

impl From<sqlx::Error> for NotifyError {
    fn from(e: sqlx::Error) -> Self {
        NotifyError::Store(e.into())
    }
}

#[derive(Deserialize)]
struct Batch {
    value: Vec<Note>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Note {
    subscription_id: String,
    #[serde(default)]
    client_state: Option<String>,
    #[serde(default)]
    lifecycle_event: Option<String>,
}

/// What is stored of a clientState.
fn digest(client_state: &str) -> String {
    Sha256::digest(client_state.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

pub struct GraphSubscriptions {
    graph: GraphClient,
    store: Store,
    /// The public HTTPS URL Graph posts to (`…/hooks/graph`).
    pub url: String,
    /// Asked for at creation and renewal.
    pub lifetime: time::Duration,
    /// Renewed when less than this is left.
    pub renew_before: time::Duration,
}

impl GraphSubscriptions {
    pub fn new(graph: GraphClient, store: Store, url: String) -> Self {
        Self { graph, store, url, lifetime: time::Duration::days(3), renew_before: time::Duration::days(1) }
    }

    async fn stored(&self, mailbox: &str) -> Result<Option<(String, OffsetDateTime)>, StoreError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT subscription_id, expires_at FROM calendar_graph_subscriptions WHERE mailbox = ?")
                .bind(mailbox)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(row.and_then(|(id, at)| OffsetDateTime::parse(&at, &time::format_description::well_known::Rfc3339).ok().map(|t| (id, t))))
    }

    /// `client_state`: given for a new subscription (its hash is stored), `None` for a renewal.
    async fn save(&self, mailbox: &str, id: &str, client_state: Option<&str>, expires: OffsetDateTime) -> Result<(), StoreError> {
        match client_state.map(digest) {
            Some(cs) => {
                sqlx::query(
                    "INSERT INTO calendar_graph_subscriptions (mailbox, subscription_id, client_state, expires_at, updated_at)
                     VALUES (?, ?, ?, ?, ?)
                     ON CONFLICT(mailbox) DO UPDATE SET subscription_id = excluded.subscription_id,
                       client_state = excluded.client_state, expires_at = excluded.expires_at, updated_at = excluded.updated_at",
                )
                .bind(mailbox)
                .bind(id)
                .bind(cs)
                .bind(time_text(expires))
                .bind(now_text())
                .execute(self.store.pool())
                .await?;
            }
            None => {
                sqlx::query("UPDATE calendar_graph_subscriptions SET expires_at = ?, updated_at = ? WHERE mailbox = ?")
                    .bind(time_text(expires))
                    .bind(now_text())
                    .bind(mailbox)
                    .execute(self.store.pool())
                    .await?;
            }
        }
        Ok(())
    }

    /// A new subscription for `mailbox` (Graph validates the URL while we wait).
    pub async fn create(&self, mailbox: &str) -> Result<(), EwsError> {
        let client_state = uuid::Uuid::new_v4().simple().to_string();
        let (id, expires) = self.graph.subscribe(mailbox, &self.url, &client_state, OffsetDateTime::now_utc() + self.lifetime).await?;
        self.save(mailbox, &id, Some(&client_state), expires).await.map_err(|e| EwsError::Protocol(e.to_string()))?;
        tracing::info!(%mailbox, subscription = %id, "Graph change notifications subscribed");
        Ok(())
    }

    /// Renews `mailbox`'s subscription now; a subscription Graph no longer knows is created again.
    pub async fn renew(&self, mailbox: &str) -> Result<(), EwsError> {
        let Some((id, _)) = self.stored(mailbox).await.map_err(|e| EwsError::Protocol(e.to_string()))? else {
            return self.create(mailbox).await;
        };
        match self.graph.renew(&id, OffsetDateTime::now_utc() + self.lifetime).await {
            Ok((_, expires)) => self.save(mailbox, &id, None, expires).await.map_err(|e| EwsError::Protocol(e.to_string())),
            Err(EwsError::Exchange { .. }) => self.create(mailbox).await,
            Err(e) => Err(e),
        }
    }

    /// Subscribed, and not about to expire: creates or renews as needed.
    pub async fn ensure(&self, mailbox: &str) -> Result<(), EwsError> {
        match self.stored(mailbox).await.map_err(|e| EwsError::Protocol(e.to_string()))? {
            None => self.create(mailbox).await,
            Some((_, expires)) if expires <= OffsetDateTime::now_utc() => self.create(mailbox).await,
            Some((_, expires)) if expires - OffsetDateTime::now_utc() < self.renew_before => self.renew(mailbox).await,
            Some(_) => Ok(()),
        }
    }

    /// Reads a notification POST: what each genuine notification asks for. Notifications for a
    /// subscription we do not know, or with the wrong `clientState`, are dropped (and logged).
    pub async fn read(&self, body: &[u8]) -> Result<Vec<Wanted>, NotifyError> {
        let batch: Batch = serde_json::from_slice(body).map_err(|e| NotifyError::Malformed(e.to_string()))?;
        let mut wanted = Vec::new();
        for n in batch.value {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT mailbox, client_state FROM calendar_graph_subscriptions WHERE subscription_id = ?")
                    .bind(&n.subscription_id)
                    .fetch_optional(self.store.pool())
                    .await?;
            let Some((mailbox, expected)) = row else {
                tracing::warn!(subscription = %n.subscription_id, "a Graph notification for a subscription we do not have; dropped");
                continue;
            };
            let given = digest(n.client_state.as_deref().unwrap_or_default());
            if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
                tracing::warn!(%mailbox, "a Graph notification with the wrong clientState; dropped");
                continue;
            }
            let w = match n.lifecycle_event.as_deref() {
                None | Some("missed") => Wanted::Poll(mailbox),
                Some("reauthorizationRequired") => Wanted::Renew(mailbox),
                Some("subscriptionRemoved") => Wanted::Recreate(mailbox),
                Some(other) => {
                    tracing::info!(%mailbox, event = other, "an unknown Graph lifecycle event; polling the mailbox");
                    Wanted::Poll(mailbox)
                }
            };
            if !wanted.contains(&w) {
                wanted.push(w);
            }
        }
        Ok(wanted)
    }
}
