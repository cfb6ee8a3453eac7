//! The notification job: deliveries are rows (queued → sending → sent | failed | unknown) so
//! nothing is lost on a restart; the worker claims what is due, sends with bounded concurrency on
//! its [`channels`], and decides per failure: a 429 or 5xx is queued again after `Retry-After`
//! (or a backoff), a refusal fails with its reason at once. A delivery Webex or Connect accepted
//! is never sent again. A send whose answer was lost is repeated only where the service
//! recognises the repeat (Connect, by the delivery's key); otherwise — a Webex message, or one
//! caught mid-send by a restart — its outcome is "unknown" and only a person resends it.

mod channels;
mod outbox;
pub(crate) mod store;
pub mod templates;

use super::spaces::LinkRow;
use super::{IncidentConfig, IncidentError, IncidentService};
use crate::model::incident::{Channel, DeliveryStatus, DeliveryView, IncidentTemplates};
use crate::model::AuditAction;
use crate::store::{AuditRecord, AuditResult, Store, StoreError};
use crate::webex::connect::Accepted;
use crate::webex::{ApiError, ConnectApi, OrgGrant, WebexApi};
use crate::workers::WorkerCtx;
use channels::{repeats_safely, Channels};
use outbox::Outbox;
use std::sync::Arc;
use std::time::Duration;
use store::{DeliveryStore, DueDelivery, Outcome};
use templates::TemplateVars;
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// Where the notification templates are kept (a setting).
pub const TEMPLATES_KEY: &str = "incident.templates";

/// What a new delivery is.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub responder_id: i64,
    pub responder_name: String,
    pub channel: Channel,
    pub address: String,
}

/// Backoff for a transient failure without `Retry-After`: 1 s, 2 s, 4 s … capped at 60 s.
pub fn backoff(attempt: i64) -> Duration {
    Duration::from_secs(1u64 << attempt.clamp(1, 7).saturating_sub(1)).min(Duration::from_secs(60))
}

pub struct Deliveries {
    db: DeliveryStore,
    /// Where the templates are kept.
    settings: Store,
    outbox: Outbox,
    channels: Channels,
    /// Deliveries in flight at once.
    concurrency: usize,
    /// Attempts of one delivery before it is given up as failed.
    max_attempts: i64,
}

impl Deliveries {
    pub fn new(store: Store, grant: Arc<OrgGrant>, api: WebexApi, connect: Option<ConnectApi>, cfg: &IncidentConfig) -> Self {
        Self {
            db: DeliveryStore::new(store.clone()),
            settings: store,
            outbox: Outbox::default(),
            channels: Channels::new(grant, api, connect, cfg),
            concurrency: cfg.concurrency,
            max_attempts: cfg.max_attempts,
        }
    }

    pub fn sms_enabled(&self) -> bool {
        self.channels.sms_enabled()
    }

    pub fn voice_enabled(&self) -> bool {
        self.channels.voice_enabled()
    }

    /// The deliveries a responder gets: a Webex message (internal, not the commander), SMS and
    /// voice where switched on (or, for a reminder, where chosen) and configured.
    pub fn plan(&self, l: &LinkRow, commander_person_id: &str, only: Option<&[Channel]>) -> Vec<NewDelivery> {
        let wanted = |c: Channel| only.is_none_or(|o| o.contains(&c));
        let mut out = Vec::new();
        let mut push = |channel, address: &str| {
            out.push(NewDelivery { responder_id: l.responder_id, responder_name: l.name.clone(), channel, address: address.to_string() })
        };
        if let Some(pid) = &l.person_id {
            if pid != commander_person_id && wanted(Channel::Webex) {
                push(Channel::Webex, pid);
            }
        }
        let (sms_on, voice_on) = if only.is_some() { (true, true) } else { (l.send_sms, l.send_voice) };
        if let (true, Some(n), true) = (sms_on, &l.sms_number, self.sms_enabled()) {
            if wanted(Channel::Sms) {
                push(Channel::Sms, n);
            }
        }
        if let (true, Some(n), true) = (voice_on, &l.voice_number, self.voice_enabled()) {
            if wanted(Channel::Voice) {
                push(Channel::Voice, n);
            }
        }
        out
    }

    pub async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError> {
        self.db.next_round(incident_id, responder_id).await
    }

    pub async fn views(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError> {
        self.db.views(incident_id).await
    }

    /// Work was queued by the commander: keep their token for the messages, wake the worker.
    pub fn wake_for(&self, incident_id: i64, user_token: &str) {
        self.outbox.set_user_token(incident_id, user_token);
        self.outbox.wake();
    }

    /// The incident is over: its commander's token is dropped.
    pub fn forget(&self, incident_id: i64) {
        self.outbox.forget(incident_id);
    }

    pub async fn templates(&self) -> Result<IncidentTemplates, StoreError> {
        Ok(self.settings.setting::<IncidentTemplates>(TEMPLATES_KEY).await?.unwrap_or_default())
    }
}

impl IncidentService {
    pub async fn templates(&self) -> Result<IncidentTemplates, StoreError> {
        self.deliveries.templates().await
    }

    pub async fn save_templates(&self, t: IncidentTemplates, by: &str) -> Result<templates::Rendered, IncidentError> {
        let checked = templates::render_off_runtime(t.clone(), TemplateVars::sample()).await;
        let preview = checked.map_err(|e| IncidentError::Invalid(e.to_string()))?;
        self.deliveries.settings.put_setting(TEMPLATES_KEY, &t, by).await?;
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentTemplates, AuditResult::Ok)).await;
        Ok(preview)
    }

    /// The worker: runs until shutdown.
    pub async fn run_deliveries(self: Arc<Self>, ctx: WorkerCtx) {
        match self.deliveries.db.fail_interrupted().await {
            Ok(0) => {}
            Ok(n) => tracing::warn!(deliveries = n, "deliveries interrupted by a restart were marked failed (they may have arrived)"),
            Err(e) => tracing::error!(error = %e, "could not check for interrupted deliveries"),
        }
        let permits = Arc::new(Semaphore::new(self.deliveries.concurrency.max(1)));
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            ctx.beat();
            let got = self.spawn_due(&permits, &mut tasks).await;
            while tasks.try_join_next().is_some() {}
            if got > 0 && permits.available_permits() > 0 {
                continue;
            }
            // Sleep until something is queued, a send finishes, or the next retry is due.
            let wait = match self.deliveries.db.next_due().await {
                Ok(Some(due)) => (due - OffsetDateTime::now_utc()).clamp(time::Duration::milliseconds(20), time::Duration::seconds(1)),
                _ => time::Duration::seconds(1),
            };
            let wait = Duration::from_millis(wait.whole_milliseconds().max(0) as u64);
            tokio::select! {
                _ = ctx.cancelled() => break,
                _ = self.deliveries.outbox.woken() => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
        // Shutdown: let sends in flight finish, so none is left "sending".
        while tasks.join_next().await.is_some() {}
    }

    /// Claims as many due deliveries as there are free permits and sends each in a task;
    /// returns how many were claimed.
    async fn spawn_due(self: &Arc<Self>, permits: &Arc<Semaphore>, tasks: &mut tokio::task::JoinSet<()>) -> usize {
        let free = permits.available_permits() as i64;
        let claimed = if free > 0 {
            self.deliveries.db.claim_due(free).await.unwrap_or_else(|e| {
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
        got
    }

    async fn deliver(&self, d: DueDelivery) {
        let label = d.channel.label();
        let store = match self.send_one(&d).await {
            Ok(sent) => {
                let event = format!("{label} to {} accepted", d.responder_name);
                let note = sent.earlier.then_some("Webex Connect had accepted an earlier attempt whose answer was lost");
                self.finish_delivery(&d, DeliveryStatus::Sent, note, sent.id.as_deref(), &event).await
            }
            Err(e)
                if e.is_transient()
                    && d.attempts < self.deliveries.max_attempts
                    && (!e.may_have_taken_effect() || repeats_safely(d.channel)) =>
            {
                let wait = e.retry_after().unwrap_or_else(|| backoff(d.attempts)).min(Duration::from_secs(60));
                let due = OffsetDateTime::now_utc() + wait;
                self.deliveries.db.requeue(d.id, due, &format!("{e}; retrying"), e.may_have_taken_effect()).await
            }
            Err(e) if e.may_have_taken_effect() || d.maybe_arrived => {
                let why = format!("{}; it may have arrived - resend it if needed", reason(&e));
                let event = format!("{label} to {}: outcome unknown ({why})", d.responder_name);
                self.finish_delivery(&d, DeliveryStatus::Unknown, Some(&why), None, &event).await
            }
            Err(e) => {
                let why = reason(&e);
                let event = format!("{label} to {} failed: {why}", d.responder_name);
                self.finish_delivery(&d, DeliveryStatus::Failed, Some(&why), None, &event).await
            }
        };
        if let Err(e) = store {
            tracing::error!(error = %e, delivery = d.id, "could not record a delivery's outcome");
        }
        self.lifecycle.changed(d.incident_id);
    }

    /// Records a delivery's outcome and its timeline entry together, so a page that sees the
    /// outcome also sees it on the timeline (and a crash cannot keep one without the other).
    async fn finish_delivery(
        &self,
        d: &DueDelivery,
        status: DeliveryStatus,
        reason: Option<&str>,
        provider_id: Option<&str>,
        event: &str,
    ) -> Result<(), StoreError> {
        self.deliveries.db.finish(d, Outcome { status, reason, provider_id, event }).await
    }

    async fn send_one(&self, d: &DueDelivery) -> Result<Accepted, ApiError> {
        let i = self
            .lifecycle
            .incident(d.incident_id)
            .await
            .map_err(|e| ApiError::Protocol(format!("database: {e}")))?
            .ok_or_else(|| ApiError::Protocol("the incident is gone".into()))?;
        let t = self.deliveries.templates().await.unwrap_or_default();
        let vars = TemplateVars {
            incident_name: i.name.clone(),
            space_title: i.space_title.clone(),
            meeting_link: i.meeting_link.clone(),
            meeting_number: i.meeting_number.clone(),
            toll_number: i.toll_number.clone(),
            responder_name: d.responder_name.clone(),
            commander: i.commander.clone(),
            ack_link: self.acks.link(&i, d.responder_id),
        };
        let text = match templates::render_off_runtime(t, vars.clone()).await {
            Ok(text) => text,
            Err(_) => templates::render_off_runtime(Default::default(), vars).await.map_err(|e| ApiError::Protocol(e.to_string()))?,
        };
        self.deliveries.channels.send(d.channel, &d.address, &text, self.deliveries.outbox.user_token(i.id), &d.send_key).await
    }
}

fn reason(e: &ApiError) -> String {
    match e {
        ApiError::Throttled { .. } | ApiError::Server { .. } | ApiError::Network(_) => format!("{e}; gave up after repeated attempts"),
        ApiError::Unanswered(_) => e.to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests;
