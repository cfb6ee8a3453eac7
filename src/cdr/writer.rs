//! The one writer of CDR batches. Each POST's batch is queued with a reply channel; the writer
//! takes everything queued, stores it all in one transaction and commits once (group commit),
//! then answers each batch with its new record indexes. The database runs with
//! `synchronous=FULL`, so the commit is on disk before any answer: the 200 that lets CMS forget
//! a batch is never sent for a batch a power failure could lose, and one disk flush serves every
//! Call Bridge that posted meanwhile.

use super::parse::Record;
use super::store::CdrStore;
use crate::store::StoreError;
use crate::workers::WorkerCtx;
use tokio::sync::{mpsc, oneshot};

/// Batches queued at most; a full queue makes POSTs wait (CMS keeps its own buffer).
const QUEUE: usize = 1024;
/// A batch not committed within this long is answered as not stored.
const ANSWER_WITHIN: std::time::Duration = std::time::Duration::from_secs(30);

/// The answer to one batch: its records back (the caller applies them) and which were new.
type Reply = Result<(Vec<Record>, Vec<u64>), StoreError>;

struct Job {
    bridge: String,
    session: String,
    records: Vec<Record>,
    reply: oneshot::Sender<Reply>,
}

pub(super) struct CdrWriter {
    tx: mpsc::Sender<Job>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Job>>,
    store: CdrStore,
    /// Largest group: batches and records per transaction (1 batch = no grouping).
    max_batches: usize,
    max_records: usize,
    answer_within: std::time::Duration,
}

impl CdrWriter {
    pub(super) fn new(store: CdrStore, max_batches: usize) -> Self {
        let (tx, rx) = mpsc::channel(QUEUE);
        Self {
            tx,
            rx: tokio::sync::Mutex::new(rx),
            store,
            max_batches: max_batches.max(1),
            max_records: 20_000,
            answer_within: ANSWER_WITHIN,
        }
    }

    /// Stores one batch durably; returns the records and the indexes not seen before.
    pub(super) async fn write(&self, bridge: String, session: String, records: Vec<Record>) -> Reply {
        let (reply, answer) = oneshot::channel();
        let gone = || StoreError::Db(sqlx::Error::PoolClosed);
        self.tx.send(Job { bridge, session, records, reply }).await.map_err(|_| gone())?;
        // No answer (the writer stopped mid-group, or is not running) means not stored as far as
        // we know: the caller answers 503 and CMS sends the batch again.
        match tokio::time::timeout(self.answer_within, answer).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) | Err(_) => Err(gone()),
        }
    }

    /// The writer worker. At shutdown it writes what is still queued, then ends.
    pub(super) async fn run(&self, ctx: WorkerCtx) {
        let mut rx = self.rx.lock().await;
        loop {
            let first = tokio::select! {
                j = rx.recv() => j,
                _ = ctx.cancelled() => rx.try_recv().ok(),
            };
            let Some(first) = first else { return };
            let mut group = vec![first];
            let mut records = group[0].records.len();
            while group.len() < self.max_batches && records < self.max_records {
                match rx.try_recv() {
                    Ok(j) => {
                        records += j.records.len();
                        group.push(j);
                    }
                    Err(_) => break,
                }
            }
            self.commit(group).await;
        }
    }

    async fn commit(&self, group: Vec<Job>) {
        let batches: Vec<(&str, &str, &[Record])> =
            group.iter().map(|j| (j.bridge.as_str(), j.session.as_str(), j.records.as_slice())).collect();
        match self.store.insert_group(&batches).await {
            Ok(fresh) => {
                for (job, fresh) in group.into_iter().zip(fresh) {
                    let _ = job.reply.send(Ok((job.records, fresh)));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, batches = group.len(), "CDR group could not be stored; CMS will resend");
                let msg = e.to_string();
                for job in group {
                    let _ = job.reply.send(Err(StoreError::Db(sqlx::Error::Protocol(msg.clone()))));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[tokio::test]
    async fn without_a_running_writer_a_batch_is_reported_not_stored_instead_of_hanging() {
        let (store, _d) = test_store().await;
        let mut w = CdrWriter::new(CdrStore::new(store), 10);
        w.answer_within = std::time::Duration::from_millis(100);
        let r = w.write("B".into(), "S".into(), Vec::new()).await;
        assert!(r.is_err());
    }
}
