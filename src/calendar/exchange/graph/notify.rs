//! Graph change notifications on the wire (../shared/reference/exchange.md §3.3): creating and
//! renewing a subscription on `users/{mailbox}/events` (notifications and lifecycle
//! notifications to one URL), and reading a notification POST into what each item asks for.

use super::client::{segment, GraphClient};
use super::delta::rfc3339;
use crate::calendar::model::ProviderError;
use serde::Deserialize;
use time::OffsetDateTime;

/// What a notification asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Something changed in the mailbox (or Graph missed changes: `missed`, or an event we do
    /// not know): follow its delta link now.
    Changed,
    /// Graph needs the subscription renewed to keep sending (`reauthorizationRequired`).
    ReauthorizationRequired,
    /// Graph removed the subscription (`subscriptionRemoved`).
    Removed,
}

/// One notification of a POST, not yet checked against its subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub subscription_id: String,
    pub client_state: Option<String>,
    pub lifecycle: Lifecycle,
    /// The lifecycle event's name when Graph sent one we do not know (read as `Changed`).
    pub unknown_event: Option<String>,
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

/// The notifications of a POST body; `Err` with serde's message when it is not one.
pub fn notices(body: &[u8]) -> Result<Vec<Notice>, String> {
    let batch: Batch = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    Ok(batch
        .value
        .into_iter()
        .map(|n| {
            let (lifecycle, unknown_event) = match n.lifecycle_event.as_deref() {
                None | Some("missed") => (Lifecycle::Changed, None),
                Some("reauthorizationRequired") => (Lifecycle::ReauthorizationRequired, None),
                Some("subscriptionRemoved") => (Lifecycle::Removed, None),
                Some(other) => (Lifecycle::Changed, Some(other.to_string())),
            };
            Notice { subscription_id: n.subscription_id, client_state: n.client_state, lifecycle, unknown_event }
        })
        .collect())
}

fn subscription_of(v: serde_json::Value) -> Result<(String, OffsetDateTime), ProviderError> {
    let id = v.get("id").and_then(|i| i.as_str()).ok_or_else(|| ProviderError::Protocol("a subscription without an id".into()))?;
    let expires = v
        .get("expirationDateTime")
        .and_then(|e| e.as_str())
        .and_then(|e| OffsetDateTime::parse(e, &time::format_description::well_known::Rfc3339).ok())
        .ok_or_else(|| ProviderError::Protocol("a subscription without its expirationDateTime".into()))?;
    Ok((id.to_string(), expires))
}

impl GraphClient {
    /// Change notifications for a mailbox's events (created, updated, deleted) to
    /// `notification_url` (Graph checks it first with a validation request), lifecycle
    /// notifications to the same URL. Returns the subscription id and its expiry.
    pub async fn subscribe(
        &self,
        mailbox: &str,
        notification_url: &str,
        client_state: &str,
        expires: OffsetDateTime,
    ) -> Result<(String, OffsetDateTime), ProviderError> {
        let body = serde_json::json!({
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": notification_url,
            "resource": format!("users/{mailbox}/events"),
            "expirationDateTime": rfc3339(expires),
            "clientState": client_state,
        });
        let res = self.send(self.http.post(format!("{}/subscriptions", self.api)).json(&body)).await?;
        subscription_of(self.json(res).await?)
    }

    /// Moves a subscription's expiry (renewal, or after `reauthorizationRequired`).
    pub async fn renew(&self, id: &str, expires: OffsetDateTime) -> Result<(String, OffsetDateTime), ProviderError> {
        let url = format!("{}/subscriptions/{}", self.api, segment(id));
        let res = self.send(self.http.patch(url).json(&serde_json::json!({ "expirationDateTime": rfc3339(expires) }))).await?;
        subscription_of(self.json(res).await?)
    }
}
