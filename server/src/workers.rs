//! Every background task of the server, started here and nowhere else. Each runs under the
//! domain's supervisor (`switchboard::workers`): named, restarted with backoff after a panic,
//! visible on the dashboard and `/healthz`, stopped at shutdown.

use crate::config::Config;
use crate::sessions::Sessions;
use std::sync::Arc;
use std::time::Duration;
use switchboard::banner::Enforcer;
use switchboard::calendar::Calendar;
use switchboard::cms::CmsCluster;
use switchboard::services::{Services, WebexServices};
use switchboard::workers::{WorkerSpec, Workers};
use tower_sessions::ExpiredDeletion;

pub fn start(services: &Services, config: &Config, sessions: Sessions) {
    start_session_reaper(&services.workers, sessions);
    start_core(services);
    if let Some(webex) = &services.webex {
        start_incidents(&services.workers, webex);
    }
    if let Some(calendar) = &services.calendar {
        start_calendar(&services.workers, calendar);
    }
    if let Some(cluster) = &services.cms {
        start_cms(services, cluster, config);
    }
}

/// Sessions past their expiry are deleted every ten minutes (on either backend; on PostgreSQL
/// every instance runs it until leases come — deleting what is expired twice is harmless).
fn start_session_reaper(w: &Workers, sessions: Sessions) {
    w.spawn(WorkerSpec::new("session-reaper"), move |_ctx| {
        let sessions = sessions.clone();
        async move {
            let mut tick = tokio::time::interval(Duration::from_secs(600));
            loop {
                tick.tick().await;
                if let Err(e) = sessions.delete_expired().await {
                    tracing::warn!(error = %e, "could not delete expired sessions");
                }
            }
        }
    });
}

/// What runs with any configuration: the CDR writer, retention, and branding's request log and watcher.
fn start_core(services: &Services) {
    let w = &services.workers;
    let calls = services.calls.clone();
    w.spawn(WorkerSpec::new("cdr-writer").drains(), move |ctx| {
        let calls = calls.clone();
        async move { calls.run_writer(ctx).await }
    });

    let retention = services.retention.clone();
    w.spawn(WorkerSpec::new("retention"), move |ctx| {
        let r = retention.clone();
        async move { r.run(ctx).await }
    });

    let branding = services.branding.clone();
    w.spawn(WorkerSpec::new("branding-request-log").drains(), move |ctx| {
        let b = branding.clone();
        async move { b.run_request_log(ctx).await }
    });
    let branding = services.branding.clone();
    w.spawn(WorkerSpec::new("branding-watcher").heartbeat(Duration::from_secs(5)), move |ctx| {
        let b = branding.clone();
        async move { b.watch_changes(ctx).await }
    });
}

/// Webex: the org grant's token refresh, the directory reload and the incident deliveries.
fn start_incidents(w: &Workers, webex: &WebexServices) {
    let grant = webex.incidents.grant_handle();
    w.spawn(WorkerSpec::new("webex-grant-refresh").heartbeat(Duration::from_secs(30)), move |ctx| grant.clone().run_refresh(ctx));
    let (incidents, every) = (webex.incidents.clone(), webex.directory_refresh);
    w.spawn(WorkerSpec::new("webex-directory"), move |ctx| incidents.clone().run_directory_refresh(every, ctx));
    let incidents = webex.incidents.clone();
    w.spawn(WorkerSpec::new("incident-deliveries").heartbeat(Duration::from_secs(5)).drains(), move |ctx| {
        incidents.clone().run_deliveries(ctx)
    });
}

/// The calendar: the daily user sync, and the EWS watcher and Graph poller when configured —
/// these two restarted when silent for `calendar.worker_stale_seconds` (a stalled stream).
fn start_calendar(w: &Workers, calendar: &Arc<Calendar>) {
    let c = calendar.clone();
    w.spawn(WorkerSpec::new("calendar-user-sync"), move |ctx| c.clone().run_user_sync(ctx));
    if calendar.watcher.is_some() {
        let c = calendar.clone();
        w.spawn(WorkerSpec::new("calendar-ews").restart_when_stale(calendar.stale_after), move |ctx| c.clone().run_ews(ctx));
    }
    if calendar.graph.is_some() {
        let c = calendar.clone();
        w.spawn(WorkerSpec::new("calendar-graph").restart_when_stale(calendar.stale_after), move |ctx| c.clone().run_graph(ctx));
    }
}

/// CMS: node health, CDR receiver registration, reconciling the live state, banner enforcement.
fn start_cms(services: &Services, cluster: &Arc<CmsCluster>, config: &Config) {
    let w = &services.workers;
    let cluster = cluster.clone();
    let (status, c) = (services.status.clone(), cluster.clone());
    let every = Duration::from_secs(config.cms.health_interval_seconds.max(1));
    w.spawn(WorkerSpec::new("cms-health").heartbeat(every.max(Duration::from_secs(5)) * 2), move |ctx| {
        let (status, c) = (status.clone(), c.clone());
        async move { status.run_cms_health(&c, every, ctx).await }
    });

    if let (true, Some(url)) = (config.cms.register_cdr_receiver, config.cms.cdr_receiver_url.clone()) {
        let c = cluster.clone();
        w.spawn(WorkerSpec::new("cdr-receiver-registration").once(), move |_ctx| {
            let (c, url) = (c.clone(), url.clone());
            async move { crate::cms::register_cdr_receiver(&c, &url).await }
        });
    }

    // Reconcile with the API now (calls that began before we listened) and then regularly.
    let (calls, c) = (services.calls.clone(), cluster.clone());
    let every = Duration::from_secs(config.cdr.reconcile_interval_seconds.max(5));
    w.spawn(WorkerSpec::new("cdr-reconciler"), move |_ctx| {
        let (calls, c) = (calls.clone(), c.clone());
        async move { calls.run_reconciler(&c, every).await }
    });

    let enforcer = Enforcer::new(services.calls.clone(), cluster, services.banners.clone());
    w.spawn(WorkerSpec::new("banner-enforcer").heartbeat(Duration::from_secs(5)), move |ctx| enforcer.clone().run(ctx));
}
