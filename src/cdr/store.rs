//! CDR tables: records (deduplicated by bridge + session + recordIndex), dead letters and the
//! gaps CMS reported. The SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`); which batch
//! of a group a new record belongs to is decided here, the same for both.

mod postgres;
mod sqlite;

use super::parse::Record;
use crate::model::CdrGap;
use crate::store::{Backend, Store, StoreError};
use std::collections::HashMap;
use std::sync::Arc;

/// One stored record, as needed to rebuild the live state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    pub bridge: String,
    pub session: String,
    pub raw: String,
}

/// A record to store: its Call Bridge, its session, the record.
pub(crate) type NewRow<'a> = (&'a str, &'a str, &'a Record);

/// The CDR tables, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait CdrRepo: Send + Sync {
    /// Stores `rows` (no two with the same key) and the gaps of the new ones in ONE transaction,
    /// committed before it returns; returns the positions in `rows` of those not stored before,
    /// ascending. Ingests are serialised, so record ids commit in id order.
    async fn insert_new(&self, rows: &[NewRow<'_>]) -> Result<Vec<usize>, StoreError>;
    async fn dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError>;
    async fn dead_letter_count(&self) -> Result<i64, StoreError>;
    async fn record_count(&self) -> Result<i64, StoreError>;
    /// The newest `limit` gaps, newest first.
    async fn recent_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError>;
    /// Records received at or after `since`, in id order.
    async fn records_since(&self, since: time::OffsetDateTime) -> Result<Vec<StoredRecord>, StoreError>;
}

#[derive(Clone)]
pub struct CdrStore {
    repo: Arc<dyn CdrRepo>,
}

impl CdrStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn CdrRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteCdrs(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgCdrs(pool.clone())),
        };
        Self { repo }
    }

    /// Stores the records of one batch in one transaction and returns the indexes of those not
    /// seen before (a resent batch returns none). Returns once the data is committed. The
    /// receiver always stores groups (`insert_group`); this is the one-batch case the tests read.
    #[cfg(test)]
    pub async fn insert_records(&self, bridge: &str, session: &str, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        Ok(self.insert_group(&[(bridge, session, records)]).await?.pop().unwrap_or_default())
    }

    /// Stores several batches in ONE transaction (one commit, one disk flush), their records in
    /// as few multi-row statements as the backend allows, and returns each batch's new record
    /// indexes, in order. A record sent twice in the group counts as new for the first batch
    /// only, as if the batches had been stored one after the other.
    pub async fn insert_group(&self, batches: &[(&str, &str, &[Record])]) -> Result<Vec<Vec<u64>>, StoreError> {
        // Which batch first holds each record: where a new row is attributed.
        let mut first: HashMap<(&str, &str, u64), usize> = HashMap::new();
        let mut rows: Vec<NewRow<'_>> = Vec::new();
        let mut owner: Vec<usize> = Vec::new();
        for (b, (bridge, session, records)) in batches.iter().enumerate() {
            for r in records.iter() {
                if let std::collections::hash_map::Entry::Vacant(e) = first.entry((bridge, session, r.record_index)) {
                    e.insert(b);
                    rows.push((bridge, session, r));
                    owner.push(b);
                }
            }
        }
        let mut fresh = vec![Vec::new(); batches.len()];
        for i in self.repo.insert_new(&rows).await? {
            fresh[owner[i]].push(rows[i].2.record_index);
        }
        for f in &mut fresh {
            f.sort_unstable();
        }
        Ok(fresh)
    }

    pub async fn dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError> {
        self.repo.dead_letter(peer, reason, body).await
    }

    pub async fn dead_letter_count(&self) -> Result<i64, StoreError> {
        self.repo.dead_letter_count().await
    }

    pub async fn record_count(&self) -> Result<i64, StoreError> {
        self.repo.record_count().await
    }

    pub async fn recent_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError> {
        self.repo.recent_gaps(limit).await
    }

    /// Everything received since `since`, oldest first, to rebuild the live state after a restart.
    pub async fn records_since(&self, since: time::OffsetDateTime) -> Result<Vec<StoredRecord>, StoreError> {
        self.repo.records_since(since).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::parse::{parse_batch, Batch};

    fn two_records() -> Batch {
        parse_batch(r#"<records session="S"><record type="callStart" time="2024-05-01T09:00:05Z" recordIndex="1"><call id="C"/></record><record type="callEnd" time="t" recordIndex="2" numPreceedingRecordsMissing="3"><call id="C"/></record></records>"#).unwrap()
    }

    crate::both_backends! {
        async fn a_resent_batch_is_stored_once_and_reported_as_nothing_new(store) {
            let cdrs = CdrStore::new(store);
            let b = two_records();
            assert_eq!(cdrs.insert_records("", "S", &b.records).await.unwrap(), vec![1, 2]);
            assert!(cdrs.insert_records("", "S", &b.records).await.unwrap().is_empty());
            assert_eq!(cdrs.insert_records("", "S2", &b.records).await.unwrap().len(), 2, "a new session counts again");
            assert_eq!(cdrs.record_count().await.unwrap(), 4);
            let gaps = cdrs.recent_gaps(10).await.unwrap();
            assert_eq!(gaps.iter().map(|g| (g.session.as_str(), g.missing)).collect::<Vec<_>>(), [("S2", 3), ("S", 3)], "one gap per new record, none for the resend");
        }

        async fn a_group_commits_every_batch_together_and_dedups_within_the_group(store) {
            let cdrs = CdrStore::new(store);
            let b = two_records();
            let r = b.records.as_slice();
            let fresh = cdrs.insert_group(&[("A", "S", r), ("B", "S", r), ("A", "S", r)]).await.unwrap();
            assert_eq!(fresh, vec![vec![1, 2], vec![1, 2], vec![]], "bridges are apart; a resend inside the group is a duplicate");
            assert_eq!(cdrs.record_count().await.unwrap(), 4);
        }

        async fn a_group_partly_resent_reports_only_the_records_not_stored_before(store) {
            let cdrs = CdrStore::new(store);
            let b = two_records();
            cdrs.insert_records("A", "S", &b.records[..1]).await.unwrap();
            let fresh = cdrs.insert_group(&[("A", "S", b.records.as_slice()), ("B", "S", &b.records[1..])]).await.unwrap();
            assert_eq!(fresh, vec![vec![2], vec![2]]);
            assert_eq!(cdrs.record_count().await.unwrap(), 3);
        }

        async fn the_same_batch_stored_by_two_tasks_at_once_is_stored_once_and_reported_new_once(store) {
            let cdrs = CdrStore::new(store);
            let b = two_records();
            for round in 0..5 {
                let session = format!("S{round}");
                let task = |cdrs: CdrStore, session: String, records: Vec<Record>| {
                    tokio::spawn(async move { cdrs.insert_records("A", &session, &records).await })
                };
                let x = task(cdrs.clone(), session.clone(), b.records.clone());
                let y = task(cdrs.clone(), session.clone(), b.records.clone());
                let (x, y) = (x.await.unwrap().unwrap(), y.await.unwrap().unwrap());
                let mut both = [x.clone(), y.clone()];
                both.sort();
                assert_eq!(both, [vec![], vec![1, 2]], "round {round}: one store got both records, the other none: {x:?} {y:?}");
                assert!(cdrs.insert_records("A", &session, &b.records).await.unwrap().is_empty(), "a third store adds nothing");
            }
            assert_eq!(cdrs.record_count().await.unwrap(), 10);
            assert_eq!(cdrs.recent_gaps(100).await.unwrap().len(), 5, "one gap per record stored, not per store");
        }

        async fn dead_letters_are_counted_and_records_come_back_for_the_rebuild_in_order(store) {
            let cdrs = CdrStore::new(store);
            cdrs.dead_letter("10.0.0.1", "not XML", "<x").await.unwrap();
            assert_eq!(cdrs.dead_letter_count().await.unwrap(), 1);
            let b = two_records();
            cdrs.insert_records("A", "S", &b.records).await.unwrap();
            let hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
            let back = cdrs.records_since(hour_ago).await.unwrap();
            assert_eq!(back.iter().map(|r| r.raw.as_str()).collect::<Vec<_>>(), [b.records[0].raw.as_str(), b.records[1].raw.as_str()]);
            assert_eq!((back[0].bridge.as_str(), back[0].session.as_str()), ("A", "S"));
            assert!(cdrs.records_since(time::OffsetDateTime::now_utc() + time::Duration::hours(1)).await.unwrap().is_empty());
        }
    }

    /// PostgreSQL: ingests take one transaction-level lock first, so they commit one after the
    /// other and ids become visible in id order (a tail by id can then skip nothing).
    #[tokio::test]
    async fn on_postgres_an_ingest_waits_for_another_holding_the_ingest_lock() {
        let db = crate::store::testing::TestDb::fresh(crate::store::testing::TestBackend::Postgres).await;
        let Backend::Postgres(pool) = db.store.backend() else { panic!("postgres") };
        let cdrs = CdrStore::new(db.store.clone());
        let mut other = pool.begin().await.unwrap();
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(crate::cdr::store::postgres::INGEST_LOCK).execute(&mut *other).await.unwrap();
        let b = two_records();
        let ingest = cdrs.insert_records("A", "S", &b.records);
        tokio::pin!(ingest);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(300), &mut ingest).await;
        assert!(waited.is_err(), "the ingest waits while another ingest transaction is open");
        other.commit().await.unwrap();
        assert_eq!(ingest.await.unwrap(), vec![1, 2], "and goes on once it committed");
    }

    #[tokio::test]
    async fn on_postgres_the_record_time_is_stored_as_a_time() {
        let db = crate::store::testing::TestDb::fresh(crate::store::testing::TestBackend::Postgres).await;
        let Backend::Postgres(pool) = db.store.backend() else { panic!("postgres") };
        CdrStore::new(db.store.clone()).insert_records("A", "S", &two_records().records).await.unwrap();
        let t: time::OffsetDateTime =
            sqlx::query_scalar("SELECT time FROM cdr_records WHERE record_index = 1").fetch_one(pool).await.unwrap();
        assert_eq!(t, time::macros::datetime!(2024-05-01 09:00:05 UTC));
    }
}
