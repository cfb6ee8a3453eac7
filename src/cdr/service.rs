//! The CDR service: stores each batch (deduplicated) before it is acknowledged, applies new
//! records to the live state, announces changes, rebuilds after a restart and reconciles with
//! the CMS API so calls that began before Switchboard listened are known too.

use super::parse::{parse_batch, Batch, Record, RecordType};
use super::state::{CallKey, Change, LiveState};
use super::store::CdrStore;
use super::writer::CdrWriter;
use crate::cms::model::CallLeg;
use crate::cms::CmsCluster;
use crate::model::ids::Guid;
use crate::model::{CdrGap, LiveCall, LiveLeg, Meeting};
use crate::store::{Store, StoreError};
use crate::sync::{lock, read, write};
use crate::workers::WorkerCtx;
use std::collections::HashSet;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CallEvent {
    Changed(CallKey),
    Ended(CallKey),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub records: usize,
    pub new: usize,
    pub duplicates: usize,
    pub missing: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The body is not a CDR document; it was kept as a dead letter.
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Call and leg ids go into CMS API paths later (banners, admits): anything but a GUID is
/// refused here, where it enters. Other record types are kept as they are.
fn check_ids(b: &Batch) -> Result<(), String> {
    for r in &b.records {
        let ids: Vec<&str> = match r.kind {
            RecordType::CallStart | RecordType::CallEnd => vec![r.id.as_str()],
            RecordType::CallLegStart | RecordType::CallLegUpdate | RecordType::CallLegEnd => {
                std::iter::once(r.id.as_str()).chain(r.field("call").filter(|c| !c.is_empty())).collect()
            }
            _ => continue,
        };
        for id in ids {
            Guid::parse(id).map_err(|e| format!("record {}: {e}", r.record_index))?;
        }
    }
    Ok(())
}

/// Counters of what the receiver did, for `/calls` and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdrTotals {
    pub records: i64,
    pub dead_letters: i64,
    pub gaps: Vec<CdrGap>,
}

pub struct CdrService {
    store: CdrStore,
    writer: CdrWriter,
    state: RwLock<LiveState>,
    events: broadcast::Sender<CallEvent>,
    reconcile_wanted: tokio::sync::Notify,
    last_reconcile_request: std::sync::Mutex<Option<Instant>>,
}

impl CdrService {
    pub fn new(store: Store) -> Self {
        Self::with_group_limit(store, 200)
    }

    /// With at most `max_batches` POSTs committed together (1: each on its own, the baseline
    /// the benchmark compares with).
    pub fn with_group_limit(store: Store, max_batches: usize) -> Self {
        let (events, _) = broadcast::channel(4096);
        let store = CdrStore::new(store);
        Self {
            writer: CdrWriter::new(store.clone(), max_batches),
            store,
            state: RwLock::new(LiveState::default()),
            events,
            reconcile_wanted: tokio::sync::Notify::new(),
            last_reconcile_request: std::sync::Mutex::new(None),
        }
    }

    /// Asks the reconciler for a check against the CMS API soon (a page just opened); at most
    /// one request per 10 seconds goes through, so many open pages cannot flood CMS.
    pub fn request_reconcile(&self) {
        let mut last = lock(&self.last_reconcile_request);
        if last.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
            *last = Some(Instant::now());
            self.reconcile_wanted.notify_one();
        }
    }

    /// Reconciles now, then every `every` or sooner when a page asks; the reconcile worker.
    pub async fn run_reconciler(&self, cluster: &CmsCluster, every: Duration) {
        loop {
            for problem in self.reconcile(cluster).await {
                tracing::warn!(%problem, "reconciling live calls with CMS");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {},
                _ = self.reconcile_wanted.notified() => {},
            }
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<CallEvent> {
        self.events.subscribe()
    }

    /// Receives one POST body from `peer`. `Ok` means the records are committed to the store
    /// (so answering 200 loses nothing); a malformed body is kept as a dead letter.
    pub async fn ingest(&self, body: &str, peer: &str) -> Result<IngestReport, IngestError> {
        let batch = match parse_batch(body).map_err(|e| e.to_string()).and_then(|b| check_ids(&b).map(|_| b)) {
            Ok(b) => b,
            Err(reason) => {
                tracing::warn!(%peer, %reason, "malformed CDR body kept as a dead letter");
                self.store.dead_letter(peer, &reason, body).await?;
                return Err(IngestError::Malformed(reason));
            }
        };
        self.ingest_batch(batch).await
    }

    /// Keeps a body that is not even text, so nothing CMS sent is lost without a trace.
    pub async fn ingest_bytes(&self, body: &[u8], peer: &str) -> Result<IngestReport, IngestError> {
        match std::str::from_utf8(body) {
            Ok(text) => self.ingest(text, peer).await,
            Err(_) => {
                self.store.dead_letter(peer, "not UTF-8", &String::from_utf8_lossy(body)).await?;
                Err(IngestError::Malformed("the body is not UTF-8 text".into()))
            }
        }
    }

    /// The CDR writer worker (group commit); must run for `ingest` to answer.
    pub async fn run_writer(&self, ctx: WorkerCtx) {
        self.writer.run(ctx).await
    }

    async fn ingest_batch(&self, batch: Batch) -> Result<IngestReport, IngestError> {
        let bridge = batch.call_bridge.clone().unwrap_or_default();
        let (records, fresh) = self.writer.write(bridge.clone(), batch.session.clone(), batch.records).await?;
        let fresh: HashSet<u64> = fresh.into_iter().collect();
        let mut report = IngestReport { records: records.len(), new: fresh.len(), duplicates: records.len() - fresh.len(), missing: 0 };
        let new_records: Vec<&Record> = records.iter().filter(|r| fresh.contains(&r.record_index)).collect();
        for r in new_records.iter().filter(|r| r.missing_before > 0) {
            report.missing += r.missing_before;
            tracing::warn!(bridge = %bridge, session = %batch.session, record_index = r.record_index, missing = r.missing_before,
                "CMS reports CDR records lost before this one (its buffer overflowed while we were unreachable)");
        }
        let changes: Vec<Change> = {
            let mut st = write(&self.state);
            new_records.iter().map(|r| st.apply(&bridge, r)).collect()
        };
        self.announce(changes);
        Ok(report)
    }

    fn announce(&self, changes: Vec<Change>) {
        let mut seen = HashSet::new();
        for ch in changes {
            let ev = match ch {
                Change::Call(k) => CallEvent::Changed(k),
                Change::CallEnded(k) => CallEvent::Ended(k),
                Change::None => continue,
            };
            if seen.insert(ev.clone()) {
                // No receiver is fine: nobody is watching yet.
                let _ = self.events.send(ev);
            }
        }
    }

    /// Replays what was received in the last `hours` into an empty state (after a restart).
    pub async fn rebuild(&self, hours: i64) -> Result<usize, StoreError> {
        let since = time::OffsetDateTime::now_utc() - time::Duration::hours(hours);
        let rows = self.store.records_since(since).await?;
        let n = rows.len();
        let mut st = write(&self.state);
        for row in rows {
            let doc = format!("<records session=\"{}\">{}</records>", row.session, row.raw);
            if let Ok(b) = parse_batch(&doc) {
                for r in &b.records {
                    st.apply(&row.bridge, r);
                }
            }
        }
        Ok(n)
    }

    /// Makes the live state agree with the CMS API: adds calls CDRs never described (they began
    /// before we listened), drops calls that are gone, and learns each call's node, its banner
    /// and its participants' ids.
    pub async fn reconcile(&self, cluster: &CmsCluster) -> Vec<String> {
        use futures::stream::{self, StreamExt};
        let mut problems = Vec::new();
        let mut nodes_ok = 0;
        let mut present = HashSet::new();
        for (idx, r) in cluster.calls().await.into_iter().enumerate() {
            let calls = match r.result {
                Ok(c) => c,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            nodes_ok += 1;
            let node = &cluster.nodes()[idx];
            present.extend(calls.iter().map(|c| c.id.clone()));
            // Each call's detail and legs, many calls at once (the node bounds requests in flight).
            let fetched: Vec<_> = stream::iter(calls)
                .map(|c| async move {
                    let (detail, legs) = futures::join!(node.call(&c.id), node.call_legs_detailed(&c.id));
                    (c, detail, legs)
                })
                .buffer_unordered(64)
                .collect()
                .await;
            for (c, detail, legs) in fetched {
                let (detail, legs) = match (detail, legs) {
                    (Ok(d), Ok(l)) => (d, l),
                    // Ended between the listing and now, or a transient error: next round.
                    (Err(e), _) | (_, Err(e)) => {
                        if !matches!(e, crate::cms::CmsError::NotFound { .. }) {
                            problems.push(e.to_string());
                        }
                        continue;
                    }
                };
                let bridge = read(&self.state).call(&CallKey(c.id.clone())).map(|x| x.bridge.clone()).unwrap_or_default();
                let live = LiveCall {
                    id: c.id.clone(),
                    bridge: bridge.clone(),
                    node: Some(node.name().to_string()),
                    name: detail.name.clone(),
                    co_space: detail.co_space.clone(),
                    owner: None,
                    correlator: detail.call_correlator.clone(),
                    call_type: None,
                    started: None,
                    legs: Vec::new(),
                    message_text: detail.message_text.clone().filter(|t| !t.is_empty()),
                };
                let legs: Vec<LiveLeg> = legs.into_iter().map(|l| live_leg(l, &bridge, &c.id)).collect();
                let key = write(&self.state).reconcile_call(live, legs);
                let _ = self.events.send(CallEvent::Changed(key));
            }
        }
        // Only drop calls when every node answered; otherwise we cannot know they are gone.
        if nodes_ok == cluster.nodes().len() {
            let stale: Vec<CallKey> = read(&self.state).keys().into_iter().filter(|k| !present.contains(&k.0)).collect();
            for k in stale {
                write(&self.state).remove_call(&k);
                let _ = self.events.send(CallEvent::Ended(k));
            }
            // Nobody stays in an IVR for an hour: such legs lost their end record.
            let pruned = write(&self.state).prune_orphan_legs(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
            if pruned > 0 {
                tracing::info!(legs = pruned, "forgot legs in no call whose end never arrived");
            }
        }
        problems
    }

    pub fn snapshot(&self, key: &CallKey) -> Option<LiveCall> {
        read(&self.state).snapshot(key)
    }

    /// Every call with its legs.
    pub fn calls(&self) -> Vec<LiveCall> {
        let st = read(&self.state);
        st.keys().iter().filter_map(|k| st.snapshot(k)).collect()
    }

    /// Every meeting (call instances grouped by callCorrelator).
    pub fn meetings(&self) -> Vec<Meeting> {
        Meeting::group(self.calls())
    }

    /// The meeting a call belongs to, itself included.
    pub fn meeting_of(&self, key: &CallKey) -> Option<Meeting> {
        let st = read(&self.state);
        let me = st.snapshot(key)?;
        let instances = match &me.correlator {
            Some(k) => st.calls_with_correlator(k).filter_map(|x| st.snapshot(&x)).collect(),
            None => vec![me],
        };
        Meeting::group(instances).into_iter().next()
    }

    /// What the receiver stored: record count, malformed posts kept, recent gaps.
    pub async fn totals(&self, gaps: i64) -> Result<CdrTotals, StoreError> {
        Ok(CdrTotals {
            records: self.store.record_count().await?,
            dead_letters: self.store.dead_letter_count().await?,
            gaps: self.store.recent_gaps(gaps).await?,
        })
    }

    pub fn set_node(&self, key: &CallKey, node: &str) {
        write(&self.state).set_node(key, node);
    }

    pub fn set_message(&self, key: &CallKey, text: Option<String>) {
        write(&self.state).set_message(key, text);
        let _ = self.events.send(CallEvent::Changed(key.clone()));
    }

    /// Records that these legs of a call were admitted (CMS confirms with a CDR shortly after).
    pub fn mark_admitted<'a>(&self, call_id: &str, legs: impl Iterator<Item = &'a str>) {
        let key = CallKey(call_id.to_string());
        write(&self.state).set_in_lobby(legs, false);
        let _ = self.events.send(CallEvent::Changed(key));
    }

    pub fn leg_count(&self) -> usize {
        read(&self.state).leg_count()
    }
}

fn live_leg(l: CallLeg, bridge: &str, call: &str) -> LiveLeg {
    LiveLeg {
        id: l.id,
        bridge: bridge.to_string(),
        call: Some(call.to_string()),
        participant: None,
        display_name: l.name,
        local_address: l.local_address,
        remote_address: l.remote_party,
        leg_type: l.r#type,
        sub_type: l.sub_type.map(Into::into),
        guest: false,
        direction: l.direction,
        connected: true,
        in_lobby: l.status.deactivated,
        in_ivr: false,
        started: l.status.duration_seconds.map(started_ago),
    }
}

/// The time `secs` seconds ago (CMS reports a leg's age, not its start), to the second.
fn started_ago(secs: u64) -> time::OffsetDateTime {
    let t = time::OffsetDateTime::now_utc() - time::Duration::seconds(secs as i64);
    t.replace_nanosecond(0).unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;
    use crate::workers::{WorkerSpec, Workers};
    use std::sync::Arc;

    fn batch(session: &str, n: u64) -> String {
        let records: String = (1..=n)
            .map(|i| format!(r#"<record type="callStart" time="2026-01-01T10:00:00Z" recordIndex="{i}"><call id="{:08x}-0000-4000-8000-000000000000"><name>c</name></call></record>"#, i))
            .collect();
        format!(r#"<records session="{session}">{records}</records>"#)
    }

    #[tokio::test]
    async fn concurrent_posts_are_committed_together_and_each_gets_its_own_answer() {
        let (store, _d) = test_store().await;
        let calls = Arc::new(CdrService::new(store));
        let workers = Workers::new();
        let c = calls.clone();
        workers.spawn(WorkerSpec::new("cdr-writer").drains(), move |ctx| {
            let c = c.clone();
            async move { c.run_writer(ctx).await }
        });
        let reports = futures::future::join_all((0..20).map(|i| {
            let calls = calls.clone();
            async move { calls.ingest(&batch(&format!("S{i}"), 50), "10.0.0.1").await.unwrap() }
        }))
        .await;
        assert!(reports.iter().all(|r| (r.records, r.new, r.duplicates) == (50, 50, 0)), "{reports:?}");
        let resent = batch("S3", 50);
        let again = futures::future::join_all((0..2).map(|_| calls.ingest(&resent, "10.0.0.1"))).await;
        assert!(again.iter().all(|r| r.as_ref().unwrap().duplicates == 50), "resent batches are duplicates");
        assert_eq!(calls.totals(1).await.unwrap().records, 1000);
        workers.shutdown().await;
    }
}
