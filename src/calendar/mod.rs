//! Calendar join details (in progress): `@cms` in an Outlook meeting's Location → the
//! organiser's CMS personal-space join details in the invitation. Built so far: the rules that
//! decide what to write ([`rules`]), the join-details templates ([`templates`]), the CMS user
//! sync ([`users`]) and its daily schedule ([`schedule`]), EWS's SOAP ([`ews`], pure) and HTTP
//! client ([`ews_client`]), the service that processes one meeting ([`service`]) and the
//! streaming watcher with catch-up ([`watcher`]). Not built yet: the EWS simulator and the tests
//! over HTTP against it, Graph, NTLM, the wiring into `Services`/workers/config, the `/calendar`
//! page and demo mode.

pub mod ews;
pub mod ews_client;
pub mod graph;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod templates;
pub mod users;
pub mod watcher;

use crate::cms::CmsCluster;
use crate::store::Store;
use crate::workers::WorkerCtx;
use std::sync::Arc;

/// The calendar capability as the server runs it: the user sync on its schedule, and the EWS
/// watcher over the synced users' mailboxes (restarted when the sync changed them).
pub struct Calendar {
    pub service: Arc<service::CalendarService>,
    pub users: Arc<users::UserSync>,
    pub watcher: Arc<watcher::EwsWatcher>,
    pub schedule: schedule::Daily,
    /// Mailbox domains served by EWS (empty: all).
    pub ews_domains: Vec<String>,
    cms: Arc<CmsCluster>,
    users_changed: tokio::sync::Notify,
}

/// What the server passes in to build it.
pub struct CalendarSettings {
    pub calendar: service::CalendarConfig,
    pub sync: users::SyncConfig,
    pub schedule: schedule::Daily,
    pub ews_url: String,
    pub ews_user: String,
    pub ews_password: String,
    pub ews_domains: Vec<String>,
}

impl Calendar {
    pub fn build(store: Store, cms: Arc<CmsCluster>, s: CalendarSettings, http: reqwest::Client) -> Self {
        let users = Arc::new(users::UserSync::new(store.clone(), s.sync));
        let ews = ews_client::EwsClient::new(http, &s.ews_url, &s.ews_user, &s.ews_password);
        let service = Arc::new(service::CalendarService::new(store.clone(), users.clone(), ews.clone(), s.calendar));
        let watcher = Arc::new(watcher::EwsWatcher::new(ews, service.clone(), store));
        Self { service, users, watcher, schedule: s.schedule, ews_domains: s.ews_domains, cms, users_changed: tokio::sync::Notify::new() }
    }

    /// Runs the user sync now (on demand, or from the schedule).
    pub async fn sync_users(&self, trigger: &str) -> Result<users::SyncReport, users::SyncError> {
        let node = self.cms.nodes().first().cloned().ok_or(users::SyncError::Cms(crate::cms::CmsError::NoNodes))?;
        let r = self.users.run(&node, trigger).await?;
        if r.added + r.changed + r.gone > 0 {
            self.users_changed.notify_one();
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
            groups: self.watcher.health(),
            log: self.service.log_entries(50).await?,
            dry_run: self.service.dry_run(),
            keyword: self.service.keyword().to_string(),
            templates: self.service.templates().await?.0,
        })
    }

    fn watched(&self, mailbox: &str) -> bool {
        let domain = mailbox.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        self.ews_domains.is_empty() || self.ews_domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
    }

    /// The worker: watches the synced users' mailboxes; starts over when the sync changed them.
    pub async fn run_ews(self: Arc<Self>, ctx: WorkerCtx) {
        loop {
            let mailboxes: Vec<String> = match self.users.users().await {
                Ok(u) => u.into_iter().map(|u| u.mailbox).filter(|m| self.watched(m)).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the synced users");
                    vec![]
                }
            };
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = self.users_changed.notified() => continue,
                _ = async {
                    if mailboxes.is_empty() {
                        futures::future::pending::<()>().await
                    } else {
                        self.watcher.clone().run(mailboxes, ctx.clone()).await
                    }
                } => {}
            }
        }
    }
}
