//! What the dashboard and `/healthz` say about the system: the database, each integration
//! (CMS nodes, kept fresh by the health worker) and every background worker.

use crate::cms::{CmsCluster, NodeState};
use crate::model::{display_time, AreaStatus, ComponentState, ComponentStatus, SystemStatus};
use crate::retention::Retention;
use crate::store::Store;
use crate::sync::{read, write};
use crate::workers::{WorkerCtx, WorkerPhase, WorkerReport, Workers};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

pub struct StatusService {
    store: Store,
    workers: Workers,
    retention: Arc<Retention>,
    started: Instant,
    mode: &'static str,
    integrations: RwLock<Vec<ComponentStatus>>,
    webex: Option<Arc<crate::webex::OrgGrant>>,
    areas: Vec<Area>,
}

/// An area as the composition root knows it: its page, whether it is configured, and the
/// workers (by name prefix) that do its background work. Its state is derived from these at
/// every look, so the dashboard cannot say "not available" of an area that runs.
#[derive(Debug, Clone)]
pub struct Area {
    pub name: &'static str,
    pub path: &'static str,
    pub summary: &'static str,
    /// What must be configured for it; `None`: it is.
    pub missing: Option<&'static str>,
    pub worker_prefixes: &'static [&'static str],
}

impl Area {
    /// An area that needs nothing beyond the base configuration.
    pub fn always(name: &'static str, path: &'static str, summary: &'static str, worker_prefixes: &'static [&'static str]) -> Self {
        Self { name, path, summary, missing: None, worker_prefixes }
    }

    fn status(&self, workers: &[WorkerReport]) -> AreaStatus {
        let failing: Vec<&str> =
            workers.iter().filter(|w| self.worker_prefixes.iter().any(|p| w.name.starts_with(p)) && !w.healthy()).map(|w| w.name).collect();
        let (state, detail) = match self.missing {
            Some(needs) => (ComponentState::Disabled, format!("Not configured ({needs}).")),
            None if failing.is_empty() => (ComponentState::Up, String::new()),
            None => (ComponentState::Down, format!("Background work failing: {}.", failing.join(", "))),
        };
        AreaStatus { name: self.name.into(), path: self.path.into(), summary: self.summary.into(), state, detail }
    }
}

/// The answer `/healthz` gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub database: bool,
    /// Workers that are dead (restarting after a panic) or stuck, with why.
    pub failing_workers: Vec<String>,
}

impl Health {
    pub fn ok(&self) -> bool {
        self.database && self.failing_workers.is_empty()
    }
}

impl StatusService {
    pub fn new(
        store: Store,
        workers: Workers,
        retention: Arc<Retention>,
        mode: &'static str,
        cluster: Option<&CmsCluster>,
        webex: Option<Arc<crate::webex::OrgGrant>>,
        areas: Vec<Area>,
    ) -> Self {
        let integrations = cluster
            .map(|c| {
                c.nodes()
                    .iter()
                    .map(|n| ComponentStatus {
                        name: format!("CMS node {}", n.name()),
                        state: ComponentState::Unknown,
                        detail: format!("{} (not checked yet)", n.base_url()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { store, workers, retention, started: Instant::now(), mode, integrations: RwLock::new(integrations), webex, areas }
    }

    pub async fn system_status(&self) -> SystemStatus {
        let t = Instant::now();
        let database = match self.store.ping().await {
            Ok(()) => ComponentStatus {
                name: "Database".into(),
                state: ComponentState::Up,
                detail: format!("SQLite, answered in {} ms", t.elapsed().as_millis()),
            },
            Err(e) => {
                tracing::warn!(error = %e, "database health check failed");
                ComponentStatus { name: "Database".into(), state: ComponentState::Down, detail: "not answering".into() }
            }
        };
        let storage = self.storage().await;
        let mut integrations = read(&self.integrations).clone();
        if let Some(grant) = &self.webex {
            integrations.push(webex_status(grant).await);
        }
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_string(),
            uptime_seconds: self.started.elapsed().as_secs(),
            mode: self.mode.to_string(),
            database,
            integrations,
            workers: self.worker_statuses(),
            storage,
            areas: self.area_statuses(),
        }
    }

    /// Each area: configured or not, and whether its background work runs.
    pub fn area_statuses(&self) -> Vec<AreaStatus> {
        let workers = self.workers.report();
        self.areas.iter().map(|a| a.status(&workers)).collect()
    }

    /// The database's size, the oldest CDR kept, the retention in force and the last pruning.
    async fn storage(&self) -> ComponentStatus {
        match self.retention.facts().await {
            Ok(f) => {
                let mb = f.bytes as f64 / 1_048_576.0;
                let oldest = f.oldest_cdr.map(|t| display_time(&t)).unwrap_or_else(|| "none yet".into());
                let last = match &f.last_prune {
                    Some((at, r)) => format!("last pruned {} ({} rows)", display_time(at), r.total()),
                    None => "not pruned yet".into(),
                };
                ComponentStatus {
                    name: "Storage".into(),
                    state: ComponentState::Up,
                    detail: format!(
                        "{mb:.1} MB · oldest CDR {oldest} · CDRs kept {} days, audit {} days · {last}",
                        f.policy.cdr_days, f.policy.audit_days
                    ),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "storage facts unavailable");
                ComponentStatus { name: "Storage".into(), state: ComponentState::Unknown, detail: "size unknown (database busy)".into() }
            }
        }
    }

    fn worker_statuses(&self) -> Vec<ComponentStatus> {
        self.workers
            .report()
            .into_iter()
            .map(|w| {
                let state = if w.healthy() { ComponentState::Up } else { ComponentState::Down };
                let mut detail = match (w.phase, w.stuck) {
                    (WorkerPhase::Running, true) => "stuck: no sign of life for a while".to_string(),
                    (WorkerPhase::Running, false) => format!("running for {} s", w.running_for.as_secs()),
                    (WorkerPhase::Restarting, _) => "failed; restarting".to_string(),
                    (WorkerPhase::Finished, _) => "done".to_string(),
                };
                if w.restarts > 0 {
                    detail.push_str(&format!(" · {} restart(s), last: {}", w.restarts, w.last_panic.unwrap_or_default()));
                }
                ComponentStatus { name: format!("Worker {}", w.name), state, detail }
            })
            .collect()
    }

    pub async fn health(&self) -> Health {
        let database = match self.store.ping().await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "health check: database unreachable");
                false
            }
        };
        let failing_workers = self
            .workers
            .report()
            .into_iter()
            .filter(|w| !w.healthy())
            .map(|w| if w.stuck { format!("{} (stuck)", w.name) } else { format!("{} (restarting)", w.name) })
            .collect();
        Health { database, failing_workers }
    }

    /// The CMS health worker: checks every node now and then every `interval`.
    pub async fn run_cms_health(&self, cluster: &CmsCluster, interval: Duration, ctx: WorkerCtx) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            ctx.beat();
            cluster.check_health().await;
            let statuses = node_statuses(cluster);
            for s in statuses.iter().filter(|s| s.state == ComponentState::Down) {
                tracing::warn!(node = %s.name, detail = %s.detail, "CMS node down");
            }
            let mut w = write(&self.integrations);
            // Keep other integrations' rows; replace the CMS ones.
            w.retain(|c| !c.name.starts_with("CMS node "));
            w.extend(statuses);
        }
    }
}

fn node_statuses(cluster: &CmsCluster) -> Vec<ComponentStatus> {
    cluster
        .nodes()
        .iter()
        .map(|n| {
            let h = n.health();
            ComponentStatus {
                name: format!("CMS node {}", n.name()),
                state: match h.state {
                    NodeState::Up => ComponentState::Up,
                    NodeState::Down => ComponentState::Down,
                    NodeState::Unknown => ComponentState::Unknown,
                },
                detail: format!("{} — {}", n.base_url(), h.detail),
            }
        })
        .collect()
}

/// The Webex org grant as the dashboard shows it.
async fn webex_status(grant: &crate::webex::OrgGrant) -> ComponentStatus {
    let name = "Webex org".to_string();
    match grant.status().await {
        Ok(g) if g.connected => ComponentStatus {
            name,
            state: ComponentState::Up,
            detail: format!(
                "connected as {} ({}); token valid until {}",
                g.display_name,
                g.email,
                g.expires_at.as_ref().map(crate::model::display_time).unwrap_or_default()
            ),
        },
        Ok(g) if g.needs_grant => ComponentStatus {
            name,
            state: ComponentState::Down,
            detail: "admin grant needed: an admin signs in with Webex again on Incidents".into(),
        },
        Ok(_) => ComponentStatus { name, state: ComponentState::Down, detail: "not connected: an admin connects it on Incidents".into() },
        Err(e) => ComponentStatus { name, state: ComponentState::Unknown, detail: format!("cannot read the grant: {e}") },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(name: &'static str, phase: WorkerPhase) -> WorkerReport {
        WorkerReport { name, phase, running_for: Duration::from_secs(1), restarts: 0, last_panic: None, stuck: false }
    }

    #[test]
    fn an_area_is_up_not_configured_or_down_by_its_own_workers() {
        let calendar = Area { missing: None, ..Area::always("Calendar", "/calendar", "join details.", &["calendar-"]) };
        let workers = [worker("calendar-user-sync", WorkerPhase::Running), worker("cdr-writer", WorkerPhase::Restarting)];
        let s = calendar.status(&workers);
        assert_eq!((s.state, s.detail.as_str()), (ComponentState::Up, ""), "another area's failing worker is not its business");

        let workers = [worker("calendar-user-sync", WorkerPhase::Running), worker("calendar-ews", WorkerPhase::Restarting)];
        let s = calendar.status(&workers);
        assert_eq!(s.state, ComponentState::Down);
        assert!(s.detail.contains("calendar-ews"), "{s:?}");

        let off = Area { missing: Some("[calendar] in the config file"), ..calendar };
        let s = off.status(&workers);
        assert_eq!((s.state, s.detail.as_str()), (ComponentState::Disabled, "Not configured ([calendar] in the config file)."));
        assert_eq!((s.name.as_str(), s.path.as_str()), ("Calendar", "/calendar"));
    }
}
