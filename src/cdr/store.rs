//! CDR tables: records (deduplicated by bridge + session + recordIndex), dead letters and the
//! gaps CMS reported.

use super::parse::Record;
use crate::model::CdrGap;
use crate::store::{now_text, time_text, Store, StoreError};
use sqlx::{QueryBuilder, Sqlite};
use std::collections::HashMap;

/// One stored record, as needed to rebuild the live state.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredRecord {
    pub bridge: String,
    pub session: String,
    pub raw: String,
}

#[derive(Clone)]
pub struct CdrStore {
    store: Store,
}

impl CdrStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Stores the records of one batch in one transaction and returns the indexes of those not
    /// seen before (a resent batch returns none). Returns once the data is committed. The
    /// receiver always stores groups (`insert_group`); this is the one-batch case the tests read.
    #[cfg(test)]
    pub async fn insert_records(&self, bridge: &str, session: &str, records: &[Record]) -> Result<Vec<u64>, StoreError> {
        Ok(self.insert_group(&[(bridge, session, records)]).await?.pop().unwrap_or_default())
    }

    /// Stores several batches in ONE transaction (one commit, one disk flush), their records in
    /// as few multi-row statements as SQLite allows, and returns each batch's new record indexes,
    /// in order. A record sent twice in the group counts as new for the first batch only, as if
    /// the batches had been stored one after the other.
    pub async fn insert_group(&self, batches: &[(&str, &str, &[Record])]) -> Result<Vec<Vec<u64>>, StoreError> {
        let now = now_text();
        // Which batch first holds each record: where a new row is attributed.
        let mut first: HashMap<(&str, &str, u64), usize> = HashMap::new();
        let mut rows: Vec<(&str, &str, &Record)> = Vec::new();
        for (b, (bridge, session, records)) in batches.iter().enumerate() {
            for r in records.iter() {
                if let std::collections::hash_map::Entry::Vacant(e) = first.entry((bridge, session, r.record_index)) {
                    e.insert(b);
                    rows.push((bridge, session, r));
                }
            }
        }
        let mut fresh = vec![Vec::new(); batches.len()];
        let mut tx = self.store.write_tx().await?;
        // Rows this transaction inserts get ids above this (we hold the write lock).
        let before: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM cdr_records").fetch_one(&mut *tx).await?;
        let mut inserted = 0u64;
        // 8 parameters a row; SQLite allows 32,766 per statement.
        for chunk in rows.chunks(1000) {
            let mut qb: QueryBuilder<Sqlite> = QueryBuilder::new(
                "INSERT OR IGNORE INTO cdr_records (bridge, session, record_index, record_type, time, object_id, received_at, raw) ",
            );
            qb.push_values(chunk, |mut b, (bridge, session, r)| {
                b.push_bind(*bridge)
                    .push_bind(*session)
                    .push_bind(r.record_index as i64)
                    .push_bind(r.kind.as_str())
                    .push_bind(&r.time)
                    .push_bind(&r.id)
                    .push_bind(&now)
                    .push_bind(&r.raw);
            });
            inserted += qb.build().execute(&mut *tx).await?.rows_affected();
        }
        if inserted == rows.len() as u64 {
            // The usual case: nothing was a resend, every row is new.
            for (bridge, session, r) in &rows {
                if let Some(b) = first.get(&(*bridge, *session, r.record_index)) {
                    fresh[*b].push(r.record_index);
                }
            }
        } else {
            // Some were resends: the new ones are exactly those this transaction added.
            let added: Vec<(String, String, i64)> = sqlx::query_as("SELECT bridge, session, record_index FROM cdr_records WHERE id > ?")
                .bind(before)
                .fetch_all(&mut *tx)
                .await?;
            for (bridge, session, idx) in added {
                if let Some(b) = first.get(&(bridge.as_str(), session.as_str(), idx as u64)) {
                    fresh[*b].push(idx as u64);
                }
            }
        }
        // Gaps CMS reported, in the same transaction, so a resend can neither lose nor repeat them.
        for ((bridge, session, records), fresh) in batches.iter().zip(&fresh) {
            for r in records.iter().filter(|r| r.missing_before > 0 && fresh.contains(&r.record_index)) {
                sqlx::query("INSERT INTO cdr_gaps (at, bridge, session, record_index, missing) VALUES (?, ?, ?, ?, ?)")
                    .bind(&now)
                    .bind(*bridge)
                    .bind(*session)
                    .bind(r.record_index as i64)
                    .bind(r.missing_before as i64)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        for f in &mut fresh {
            f.sort_unstable();
        }
        Ok(fresh)
    }

    pub async fn dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES (?, ?, ?, ?)")
            .bind(now_text())
            .bind(peer)
            .bind(reason)
            .bind(body)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    pub async fn dead_letter_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_dead_letters").fetch_one(self.store.pool()).await?)
    }

    pub async fn record_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_records").fetch_one(self.store.pool()).await?)
    }

    pub async fn recent_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError> {
        Ok(sqlx::query_as("SELECT at, bridge, session, missing FROM cdr_gaps ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(self.store.pool())
            .await?)
    }

    /// Everything received since `since`, oldest first, to rebuild the live state after a restart.
    pub async fn records_since(&self, since: time::OffsetDateTime) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT bridge, session, raw FROM cdr_records WHERE received_at >= ? ORDER BY id")
            .bind(time_text(since))
            .fetch_all(self.store.pool())
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::parse::parse_batch;
    use crate::store::test_store;

    #[tokio::test]
    async fn a_resent_batch_is_stored_once_and_reported_as_nothing_new() {
        let (store, _d) = test_store().await;
        let cdrs = CdrStore::new(store);
        let b = parse_batch(r#"<records session="S"><record type="callStart" time="t" recordIndex="1"><call id="C"/></record><record type="callEnd" time="t" recordIndex="2"><call id="C"/></record></records>"#).unwrap();
        assert_eq!(cdrs.insert_records("", "S", &b.records).await.unwrap(), vec![1, 2]);
        assert!(cdrs.insert_records("", "S", &b.records).await.unwrap().is_empty());
        assert_eq!(cdrs.insert_records("", "S2", &b.records).await.unwrap().len(), 2, "a new session counts again");
        assert_eq!(cdrs.record_count().await.unwrap(), 4);
    }

    #[tokio::test]
    async fn a_group_commits_every_batch_together_and_dedups_within_the_group() {
        let (store, _d) = test_store().await;
        let cdrs = CdrStore::new(store);
        let b = parse_batch(r#"<records session="S"><record type="callStart" time="t" recordIndex="1"><call id="C"/></record><record type="callEnd" time="t" recordIndex="2"><call id="C"/></record></records>"#).unwrap();
        let r = b.records.as_slice();
        let fresh = cdrs.insert_group(&[("A", "S", r), ("B", "S", r), ("A", "S", r)]).await.unwrap();
        assert_eq!(fresh, vec![vec![1, 2], vec![1, 2], vec![]], "bridges are apart; a resend inside the group is a duplicate");
        assert_eq!(cdrs.record_count().await.unwrap(), 4);
    }
}
