//! The notification job: deliveries are rows (queued → sending → sent | failed) so nothing is
//! lost on a restart; this worker claims what is due, sends with bounded concurrency, and
//! decides per failure: a 429 or 5xx is queued again after `Retry-After` (or a backoff), a
//! refusal fails with its reason at once. A delivery Webex or Connect accepted is never sent
//! again; one caught mid-send by a restart is marked failed ("may have arrived"), not resent.

use super::service::IncidentService;
use super::store::DueDelivery;
use super::templates::{self, TemplateVars};
use crate::model::incident::{Channel, DeliveryStatus};
use crate::webex::ApiError;
use crate::workers::WorkerCtx;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// Backoff for a transient failure without `Retry-After`: 1 s, 2 s, 4 s … capped at 60 s.
pub fn backoff(attempt: i64) -> Duration {
    Duration::from_secs(1u64 << attempt.clamp(1, 7).saturating_sub(1)).min(Duration::from_secs(60))
}

impl IncidentService {
    /// The worker: runs until shutdown.
    pub async fn run_deliveries(self: Arc<Self>, ctx: WorkerCtx) {
        match self.db.fail_interrupted().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(deliveries = n, "deliveries interrupted by a restart were marked failed (they may have arrived)"),
            Err(e) => tracing::error!(error = %e, "could not check for interrupted deliveries"),
        }
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            ctx.beat();
            let free = permits.available_permits() as i64;
            let claimed = if free > 0 {
                self.db.claim_due(free).await.unwrap_or_else(|e| {
                    tracing::error!(error = %e, "could not read due deliveries");
                    vec![]
                })
            } else {
                vec![]
            };
            let got = claimed.len();
            for d in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else { break };
                let me = self.clone();
                tasks.spawn(async move {
                    me.deliver(d).await;
                    drop(permit);
                });
            }
            while tasks.try_join_next().is_some() {}
            if got > 0 && permits.available_permits() > 0 {
                continue;
            }
            // Sleep until something is queued, a send finishes, or the next retry is due.
            let wait = match self.db.next_due().await {
                Ok(Some(due)) => (due - OffsetDateTime::now_utc()).clamp(time::Duration::milliseconds(20), time::Duration::seconds(1)),
                _ => time::Duration::seconds(1),
            };
            let wait = Duration::from_millis(wait.whole_milliseconds().max(0) as u64);
            tokio::select! {
                _ = ctx.cancelled() => break,
                _ = self.outbox.woken() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Shutdown: let sends in flight finish, so none is left "sending".
        while tasks.join_next().await.is_some() {}
    }

    async fn deliver(&self, d: DueDelivery) {
        let result = self.send_one(&d).await;
        let label = Channel::parse(&d.channel).map(Channel::label).unwrap_or("Notification");
        let store = match result {
            Ok(id) => {
                let event = format!("{label} to {} accepted", d.responder_name);
                self.db.finish_delivery(&d, DeliveryStatus::Sent, None, Some(&id), &event).await
            }
            Err(e) if e.is_transient() && d.attempts < self.cfg.max_attempts => {
                let wait = e.retry_after().unwrap_or_else(|| backoff(d.attempts)).min(Duration::from_secs(60));
                let due = OffsetDateTime::now_utc() + wait;
                self.db.requeue(d.id, due, &format!("{e}; retrying")).await
            }
            Err(e) => {
                let why = reason(&e);
                let event = format!("{label} to {} failed: {why}", d.responder_name);
                self.db.finish_delivery(&d, DeliveryStatus::Failed, Some(&why), None, &event).await
            }
        };
        if let Err(e) = store {
            tracing::error!(error = %e, delivery = d.id, "could not record a delivery's outcome");
        }
        self.changed(d.incident_id);
    }

    async fn send_one(&self, d: &DueDelivery) -> Result<String, ApiError> {
        let i = self
            .db
            .incident(d.incident_id)
            .await
            .map_err(|e| ApiError::Protocol(format!("database: {e}")))?
            .ok_or_else(|| ApiError::Protocol("the incident is gone".into()))?;
        let t = self.templates().await.unwrap_or_default();
        let vars = TemplateVars {
            incident_name: i.name.clone(),
            space_title: i.space_title.clone(),
            meeting_link: i.meeting_link.clone(),
            meeting_number: i.meeting_number.clone(),
            toll_number: i.toll_number.clone(),
            responder_name: d.responder_name.clone(),
            commander: i.commander.clone(),
            ack_link: self.ack_link(&self.ack_token(&i, d.responder_id)),
        };
        let text = templates::render(&t, &vars)
            .or_else(|_| templates::render(&Default::default(), &vars))
            .map_err(|e| ApiError::Protocol(e.to_string()))?;
        match Channel::parse(&d.channel) {
            Some(Channel::Webex) => {
                // From the commander when their token is at hand; else from the org grant.
                let token = match self.outbox.user_token(i.id) {
                    Some(t) => t,
                    None => self.grant.access_token().await.map_err(|e| ApiError::Protocol(e.to_string()))?,
                };
                self.api.message_person(&token, &d.address, &text.webex).await
            }
            Some(Channel::Sms) => {
                let c = self.connect.as_ref().ok_or_else(|| ApiError::Protocol("Webex Connect is not configured".into()))?;
                c.sms(&self.cfg.sms_from, &d.address, &text.sms).await
            }
            Some(Channel::Voice) => {
                let c = self.connect.as_ref().ok_or_else(|| ApiError::Protocol("Webex Connect is not configured".into()))?;
                c.voice(&self.cfg.voice_from, &d.address, &text.voice, &self.cfg.voice).await
            }
            None => Err(ApiError::Protocol(format!("unknown channel {}", d.channel))),
        }
    }
}

fn reason(e: &ApiError) -> String {
    match e {
        ApiError::Throttled { .. } | ApiError::Server { .. } | ApiError::Network(_) => format!("{e}; gave up after repeated attempts"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_and_stops_at_a_minute() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(50), Duration::from_secs(60));
    }
}
