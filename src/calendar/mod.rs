//! Calendar join details: `@cms` in an Outlook meeting's Location → the organiser's CMS
//! personal-space join details in the invitation. The calendar's own model ([`model`]) and its
//! one store ([`store`]); Exchange's two APIs as adapters into that model ([`exchange`]: EWS and
//! Graph side by side); the rules that decide what to write ([`rules`]), the join-details
//! templates ([`templates`]), the CMS user sync ([`users`]) and its daily schedule
//! ([`schedule`]); the service that processes one meeting ([`service`]); and what feeds it
//! changed meetings ([`watch`]: EWS streaming with catch-up, Graph delta polling).

pub mod exchange;
pub mod model;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod store;
pub mod templates;
pub mod users;
pub mod watch;

pub use model::{Meeting, ProviderError};
pub use service::CalendarConfig;
pub use watch::subscriptions::NotifyError;

use crate::cms::CmsCluster;
use crate::store::Store;
use crate::workers::WorkerCtx;
use std::sync::Arc;

/// The calendar capability as the server runs it: the user sync on its schedule, and the EWS
/// watcher over the synced users' mailboxes (restarted when the sync changed them).
pub struct Calendar {
    pub service: Arc<service::CalendarService>,
    pub users: Arc<users::UserSync>,
    /// EWS streaming, when EWS is configured.
    pub watcher: Option<Arc<watch::ews::EwsWatcher>>,
    /// Graph delta polling, when Graph is configured.
    pub graph: Option<Arc<watch::graph::GraphPoller>>,
    pub schedule: schedule::Daily,
    /// A watcher (EWS stream group, Graph poller) silent this long is restarted by the supervisor.
    pub stale_after: std::time::Duration,
    cms: Arc<CmsCluster>,
    users_changed: tokio::sync::Notify,
    graph_users_changed: tokio::sync::Notify,
}

/// What the server passes in to build it.
pub struct CalendarSettings {
    pub calendar: service::CalendarConfig,
    pub sync: users::SyncConfig,
    pub schedule: schedule::Daily,
    pub ews: Option<EwsSettings>,
    pub graph: Option<GraphSettings>,
    /// Seals the users' passcodes and space secrets at rest.
    pub secrets: crate::secret::SecretBox,
    /// Timeouts and answer cap of every request to Exchange (EWS, NTLM, Graph and its token).
    pub http: crate::outbound::HttpLimits,
    /// A watcher silent this long is stale and restarted (more than `http.request_timeout`).
    pub stale_after: std::time::Duration,
}

/// Exchange on premises.
pub struct EwsSettings {
    pub url: String,
    pub user: String,
    pub password: String,
    /// NTLM instead of Basic (the user as `DOMAIN\\user`).
    pub ntlm: bool,
    /// Mailbox domains it serves (empty: all not served by Graph).
    pub domains: Vec<String>,
}

/// Exchange Online: an app registration with the `Calendars.ReadWrite` application permission.
pub struct GraphSettings {
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`
    pub token_url: String,
    /// `https://graph.microsoft.com/v1.0`
    pub api_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Mailbox domains in Exchange Online (empty: all, when EWS is not configured).
    pub domains: Vec<String>,
    pub poll_interval: std::time::Duration,
    /// The public HTTPS URL of `/hooks/graph`: change notifications on (else polling only).
    pub notification_url: Option<String>,
}

impl Calendar {
    pub fn build(store: Store, cms: Arc<CmsCluster>, s: CalendarSettings) -> Result<Self, String> {
        let users = Arc::new(users::UserSync::new(store.clone(), s.sync, s.secrets));
        let http = s.http.client().map_err(|e| e.to_string())?;
        let ews = match &s.ews {
            Some(e) if e.ntlm => Some(exchange::ews::EwsClient::ntlm(&e.url, &e.user, &e.password, 4, s.http).map_err(|e| e.to_string())?),
            Some(e) => Some(exchange::ews::EwsClient::new(http.clone(), &e.url, &e.user, &e.password).with_limits(s.http)),
            None => None,
        };
        let graph = match &s.graph {
            Some(g) => Some(
                exchange::graph::GraphClient::new(http.clone(), &g.token_url, &g.api_url, &g.client_id, &g.client_secret)
                    .map_err(|e| format!("calendar Graph URLs: {e}"))?
                    .with_limits(s.http),
            ),
            None => None,
        };
        let exchange = exchange::Exchange {
            ews: ews.clone(),
            ews_domains: s.ews.as_ref().map(|e| e.domains.clone()).unwrap_or_default(),
            graph: graph.clone(),
            graph_domains: s.graph.as_ref().map(|g| g.domains.clone()).unwrap_or_default(),
        };
        let service = Arc::new(service::CalendarService::new(store.clone(), users.clone(), exchange, s.calendar));
        let watcher = ews.map(|c| Arc::new(watch::ews::EwsWatcher::new(c, service.clone(), store.clone())));
        let graph = match (graph, &s.graph) {
            (Some(c), Some(g)) => {
                let p = watch::graph::GraphPoller::new(c, service.clone(), store, g.poll_interval);
                Some(Arc::new(match &g.notification_url {
                    Some(url) => p.with_notifications(url.clone()),
                    None => p,
                }))
            }
            _ => None,
        };
        Ok(Self {
            service,
            users,
            watcher,
            graph,
            schedule: s.schedule,
            stale_after: s.stale_after,
            cms,
            users_changed: tokio::sync::Notify::new(),
            graph_users_changed: tokio::sync::Notify::new(),
        })
    }

    /// Runs the user sync now (on demand, or from the schedule).
    pub async fn sync_users(&self, trigger: &str) -> Result<users::SyncReport, users::SyncError> {
        let node = self.cms.node_for_shared_data()?;
        let r = self.users.run(&node, trigger).await?;
        if r.added + r.changed + r.gone > 0 {
            self.users_changed.notify_one();
            self.graph_users_changed.notify_one();
        }
        Ok(r)
    }

    /// The worker: a sync at start, then daily at the configured local time.
    pub async fn run_user_sync(self: Arc<Self>, ctx: WorkerCtx) {
        let mut trigger = "start";
        loop {
            match self.sync_users(trigger).await {
                Ok(r) => tracing::info!(
                    users = r.users,
                    added = r.added,
                    changed = r.changed,
                    gone = r.gone,
                    no_space = r.no_space,
                    "CMS user sync done"
                ),
                Err(e) => tracing::warn!(error = %e, "CMS user sync failed"),
            }
            trigger = "schedule";
            let next = self.schedule.next_after(jiff::Timestamp::now());
            let wait = std::time::Duration::from_millis(
                next.as_millisecond().saturating_sub(jiff::Timestamp::now().as_millisecond()).max(0) as u64,
            );
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// What `/calendar` shows.
    pub async fn page(&self) -> Result<crate::model::calendar::CalendarPage, crate::store::StoreError> {
        let (runs, last_diff) = self.users.runs(10).await?;
        let users = self.users.users().await?;
        Ok(crate::model::calendar::CalendarPage {
            enabled: true,
            sync_progress: self.users.progress.get(),
            runs,
            last_diff,
            users: users.len(),
            users_without_space: users.iter().filter(|u| u.space_id.is_none()).map(|u| u.jid.clone()).collect(),
            groups: {
                let mut g = self.watcher.as_ref().map(|w| w.health()).unwrap_or_default();
                g.extend(self.graph.as_ref().map(|p| p.health()));
                g
            },
            log: self.service.log_entries(50).await?,
            dry_run: self.service.dry_run(),
            keyword: self.service.keyword().to_string(),
            templates: self.service.templates().await?.0,
        })
    }

    /// A POST from Graph to `/hooks/graph` (the validation handshake is answered at the edge).
    pub async fn graph_notified(&self, body: &[u8]) -> Result<usize, NotifyError> {
        match &self.graph {
            Some(p) => p.notified(body).await,
            None => Err(NotifyError::Malformed("Graph is not configured".into())),
        }
    }

    /// The synced users' mailboxes that `api` serves.
    async fn mailboxes(&self, api: exchange::Api) -> Vec<String> {
        match self.users.users().await {
            Ok(u) => u.into_iter().map(|u| u.mailbox).filter(|m| self.service.exchange().api_for(m) == Some(api)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the synced users");
                vec![]
            }
        }
    }

    /// Runs `watch` over the synced users' mailboxes that `api` serves; starts it over with the
    /// new list when `changed` says the sync changed them.
    async fn follow_users<F, Fut>(&self, api: exchange::Api, changed: &tokio::sync::Notify, ctx: &WorkerCtx, watch: F)
    where
        F: Fn(Vec<String>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        loop {
            let mailboxes = self.mailboxes(api).await;
            // Waiting for the users to change; the watch's own pulses say whether it is alive.
            ctx.idle();
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = changed.notified() => continue,
                _ = async {
                    if mailboxes.is_empty() {
                        futures::future::pending::<()>().await
                    } else {
                        watch(mailboxes).await
                    }
                } => {}
            }
        }
    }

    /// The worker: watches the EWS mailboxes (streaming).
    pub async fn run_ews(self: Arc<Self>, ctx: WorkerCtx) {
        let Some(watcher) = self.watcher.clone() else { return };
        self.follow_users(exchange::Api::Ews, &self.users_changed, &ctx, |m| watcher.clone().run(m, ctx.clone())).await
    }

    /// The worker: polls the Graph mailboxes (and follows their change notifications).
    pub async fn run_graph(self: Arc<Self>, ctx: WorkerCtx) {
        let Some(poller) = self.graph.clone() else { return };
        self.follow_users(exchange::Api::Graph, &self.graph_users_changed, &ctx, |m| poller.clone().run(m, ctx.clone())).await
    }
}
