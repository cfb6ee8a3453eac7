//! The lobby service: the `/lobby` view from the CDR-fed state, and admitting people with
//! `PUT /participants/<id>` `deactivated=false` on the node hosting the call, for one person or
//! many (bounded concurrency), as a job whose progress pages follow, each person with their own
//! outcome and audit entry. Legs (from CDRs) are matched to participants by id through the API.

use super::view::lobby_view;
use crate::cdr::{CallKey, CdrService};
use crate::cms::{CmsCluster, CmsError, CmsNode};
use crate::model::ids::Guid;
use crate::model::AuditAction;
use crate::model::{AdmitJob, AdmitOutcome, AdmitResult, AdmitTarget, LiveCall, LobbyPage, Role};
use crate::store::{AuditLog, AuditRecord, AuditResult};
use crate::sync::lock;
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// People admitted in one request, at most.
pub const MAX_ADMIT: usize = 5000;
/// Finished jobs kept for pages to read their results.
const KEEP_FINISHED_JOBS: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum LobbyError {
    #[error("No CMS nodes are configured, so nobody can be admitted.")]
    NoCms,
    #[error("Select at least one person to admit.")]
    NothingSelected,
    #[error("At most {MAX_ADMIT} people can be admitted at once.")]
    TooMany,
    #[error("No such admit job (it may have expired).")]
    UnknownJob,
    #[error("Switchboard is shutting down; try again in a moment.")]
    ShuttingDown,
    /// A call or leg id that is not a CMS id (the request did not come from the lobby page).
    #[error("Not a person in a lobby: {0}")]
    BadTarget(crate::model::ids::NotAGuid),
}

pub struct LobbyService {
    cdr: Arc<CdrService>,
    cluster: Option<Arc<CmsCluster>>,
    audit: AuditLog,
    /// Calls handled at once in a bulk admit.
    concurrency: usize,
    jobs: Mutex<HashMap<String, AdmitJob>>,
    /// Running jobs; cancelled and awaited at shutdown.
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl LobbyService {
    pub fn new(cdr: Arc<CdrService>, cluster: Option<Arc<CmsCluster>>, audit: AuditLog, shutdown: CancellationToken) -> Self {
        Self { cdr, cluster, audit, concurrency: 16, jobs: Mutex::new(HashMap::new()), tasks: TaskTracker::new(), shutdown }
    }

    /// Who waits where, for someone with `role`. Opening the page asks for a fresh look at the
    /// CMS API (throttled).
    pub fn page(&self, role: Role) -> LobbyPage {
        self.cdr.request_reconcile();
        LobbyPage {
            meetings: lobby_view(&self.cdr.meetings()),
            can_admit: role.allows(Role::Operator) && self.cluster.is_some(),
            cms_configured: self.cluster.is_some(),
            as_of: time::OffsetDateTime::now_utc(),
        }
    }

    /// Starts admitting in the background; returns the job id to follow with `job`.
    pub fn start_admit(self: &Arc<Self>, actor: &str, targets: Vec<AdmitTarget>) -> Result<String, LobbyError> {
        if self.cluster.is_none() {
            return Err(LobbyError::NoCms);
        }
        if targets.is_empty() {
            return Err(LobbyError::NothingSelected);
        }
        if targets.len() > MAX_ADMIT {
            return Err(LobbyError::TooMany);
        }
        for t in &targets {
            Guid::parse(&t.call_id).and(Guid::parse(&t.leg_id)).map_err(LobbyError::BadTarget)?;
        }
        if self.shutdown.is_cancelled() {
            return Err(LobbyError::ShuttingDown);
        }
        let id = uuid::Uuid::new_v4().simple().to_string();
        {
            let mut jobs = lock(&self.jobs);
            if jobs.len() > KEEP_FINISHED_JOBS {
                jobs.retain(|_, j| !j.finished);
            }
            jobs.insert(id.clone(), AdmitJob { id: id.clone(), total: targets.len(), done: 0, results: Vec::new(), finished: false });
        }
        let (me, job, actor) = (self.clone(), id.clone(), actor.to_string());
        let cancel = self.shutdown.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = me.admit(&actor, targets, |done, r| me.progress(&job, done, r)) => {}
                _ = cancel.cancelled() => tracing::warn!(job = %job, "admit job stopped by shutdown"),
            }
            if let Some(j) = lock(&me.jobs).get_mut(&job) {
                j.finished = true;
            }
        });
        Ok(id)
    }

    fn progress(&self, job: &str, done: usize, r: &AdmitResult) {
        if let Some(j) = lock(&self.jobs).get_mut(job) {
            j.done = done;
            j.results.push(r.clone());
        }
    }

    pub fn job(&self, id: &str) -> Result<AdmitJob, LobbyError> {
        lock(&self.jobs).get(id).cloned().ok_or(LobbyError::UnknownJob)
    }

    /// Waits for running admit jobs to end (they stop at once when shutdown is signalled).
    pub async fn wait_jobs(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }

    /// Admits every target, reporting progress as `done` after each person, and audits each.
    pub async fn admit(&self, actor: &str, targets: Vec<AdmitTarget>, progress: impl Fn(usize, &AdmitResult) + Sync) -> Vec<AdmitResult> {
        let Some(cluster) = self.cluster.clone() else { return Vec::new() };
        let mut by_call: BTreeMap<String, Vec<AdmitTarget>> = BTreeMap::new();
        for t in targets {
            by_call.entry(t.call_id.clone()).or_default().push(t);
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Vec<AdmitResult>> = stream::iter(by_call)
            .map(|(call_id, targets)| {
                let (done, progress, cluster) = (&done, &progress, &cluster);
                async move {
                    let mut out = Vec::new();
                    for r in self.admit_in_call(cluster, &call_id, targets).await {
                        let target = format!("{} (leg {}) in call {}", r.name, r.target.leg_id, r.target.call_id);
                        let result = if r.outcome.ok() { AuditResult::Ok } else { AuditResult::Failed };
                        self.audit
                            .record(AuditRecord::new(actor, AuditAction::LobbyAdmit, result).target(&target).detail(&r.outcome.label()))
                            .await;
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n, &r);
                        out.push(r);
                    }
                    out
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        results.into_iter().flatten().collect()
    }

    async fn admit_in_call(&self, cluster: &CmsCluster, call_id: &str, targets: Vec<AdmitTarget>) -> Vec<AdmitResult> {
        let live: Option<LiveCall> = self.cdr.snapshot(&CallKey(call_id.to_string()));
        let name_of = |t: &AdmitTarget| {
            live.as_ref()
                .and_then(|c| c.legs.iter().find(|l| l.id == t.leg_id))
                .map(|l| l.display_name.clone())
                .unwrap_or_else(|| "(unknown)".into())
        };
        let all = |outcome: AdmitOutcome| -> Vec<AdmitResult> {
            targets.iter().map(|t| AdmitResult { target: t.clone(), name: name_of(t), outcome: outcome.clone() }).collect()
        };
        let node: Arc<CmsNode> = match cluster.node_for_call(call_id).await {
            Ok((n, _)) => n,
            Err(CmsError::NotFound { .. }) => return all(AdmitOutcome::Gone),
            Err(e) => return all(AdmitOutcome::Unreachable(e.to_string())),
        };
        self.cdr.set_node(&CallKey(call_id.to_string()), node.name());
        // Fresh lobby state from the API: CDRs may lag a little behind.
        let legs = match node.call_legs_detailed(call_id).await {
            Ok(l) => l,
            Err(CmsError::NotFound { .. }) => return all(AdmitOutcome::Gone),
            Err(e) => return all(AdmitOutcome::Unreachable(e.to_string())),
        };
        // Only an activator releases the lobby; if nobody at all is in, there is none.
        let anyone_in = legs.iter().any(|l| !l.is_distribution_link() && !l.status.deactivated);
        let participants: HashMap<String, String> = match node.participant_by_leg(call_id).await {
            Ok(m) => m,
            Err(e) => return all(AdmitOutcome::Unreachable(e.to_string())),
        };
        let mut out = Vec::with_capacity(targets.len());
        for t in &targets {
            let leg = legs.iter().find(|l| l.id == t.leg_id);
            let name = leg.map(|l| l.name.clone()).unwrap_or_else(|| name_of(t));
            let outcome = match (leg, participants.get(&t.leg_id)) {
                (None, _) | (_, None) => AdmitOutcome::Gone,
                (Some(l), _) if !l.status.deactivated => AdmitOutcome::AlreadyIn,
                (Some(_), _) if !anyone_in => AdmitOutcome::NoActivator,
                (Some(_), Some(pid)) => match node.admit_participant(pid).await {
                    Ok(()) => AdmitOutcome::Admitted,
                    Err(CmsError::NotFound { .. }) => AdmitOutcome::Gone,
                    Err(CmsError::Refused { detail, .. }) => AdmitOutcome::Refused(detail),
                    Err(e) => AdmitOutcome::Unreachable(e.to_string()),
                },
            };
            out.push(AdmitResult { target: t.clone(), name, outcome });
        }
        // Show the new state at once rather than waiting for the CDRs.
        if out.iter().any(|r| r.outcome == AdmitOutcome::Admitted) {
            self.cdr.mark_admitted(call_id, out.iter().filter(|r| r.outcome == AdmitOutcome::Admitted).map(|r| r.target.leg_id.as_str()));
        }
        out
    }
}
