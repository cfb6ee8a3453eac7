//! Admitting people from the lobby: `PUT /participants/<id>` with `deactivated=false` on the node
//! hosting the call, for one person or many (bounded concurrency), each with its own outcome
//! and audit entry. Legs (from CDRs) are matched to participants by id through the API.

use crate::cdr::{CallKey, CdrService};
use crate::cms::{CmsCluster, CmsError, CmsNode};
use crate::model::{AdmitOutcome, AdmitResult, AdmitTarget, LiveCall};
use crate::store::{AuditRecord, AuditResult, Store};
use futures::stream::{self, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub struct LobbyService {
    cdr: Arc<CdrService>,
    cluster: Arc<CmsCluster>,
    store: Store,
    /// Calls handled at once in a bulk admit.
    concurrency: usize,
}

impl LobbyService {
    pub fn new(cdr: Arc<CdrService>, cluster: Arc<CmsCluster>, store: Store) -> Arc<Self> {
        Arc::new(Self { cdr, cluster, store, concurrency: 16 })
    }

    /// Admits every target, reporting progress as `(done, total)` after each person.
    pub async fn admit(&self, actor: &str, targets: Vec<AdmitTarget>, progress: impl Fn(usize, usize, &AdmitResult) + Sync) -> Vec<AdmitResult> {
        let total = targets.len();
        let mut by_call: BTreeMap<String, Vec<AdmitTarget>> = BTreeMap::new();
        for t in targets {
            by_call.entry(t.call_id.clone()).or_default().push(t);
        }
        let done = std::sync::atomic::AtomicUsize::new(0);
        let results: Vec<Vec<AdmitResult>> = stream::iter(by_call)
            .map(|(call_id, targets)| {
                let (done, progress) = (&done, &progress);
                async move {
                    let mut out = Vec::new();
                    for r in self.admit_in_call(&call_id, targets).await {
                        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                        progress(n, total, &r);
                        out.push(r);
                    }
                    out
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let results: Vec<AdmitResult> = results.into_iter().flatten().collect();
        for r in &results {
            let target = format!("{} (leg {}) in call {}", r.name, r.target.leg_id, r.target.call_id);
            let result = if r.outcome.ok() { AuditResult::Ok } else { AuditResult::Failed };
            if let Err(e) = self.store.audit(AuditRecord::new(actor, "lobby.admit", result).target(&target).detail(&r.outcome.label())).await {
                tracing::error!(error = %e, "audit write failed");
            }
        }
        results
    }

    async fn admit_in_call(&self, call_id: &str, targets: Vec<AdmitTarget>) -> Vec<AdmitResult> {
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
        let node: Arc<CmsNode> = match self.cluster.node_for_call(call_id).await {
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
