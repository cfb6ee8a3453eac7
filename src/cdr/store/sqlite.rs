//! CDR tables on SQLite: `?` placeholders, times as RFC 3339 text. One writer at a time
//! (`BEGIN IMMEDIATE`), which is what makes the `MAX(id)` way of finding the new rows sound.

use super::{CdrRepo, NewRow, StoredRecord};
use crate::model::CdrGap;
use crate::store::{now_text, time_text, StoreError};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use std::collections::HashMap;

pub(crate) struct SqliteCdrs(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl CdrRepo for SqliteCdrs {
    async fn insert_new(&self, rows: &[NewRow<'_>]) -> Result<Vec<usize>, StoreError> {
        let now = now_text();
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
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
        let fresh: Vec<usize> = if inserted == rows.len() as u64 {
            // The usual case: nothing was a resend, every row is new.
            (0..rows.len()).collect()
        } else {
            // Some were resends: the new ones are exactly those this transaction added.
            let at: HashMap<(&str, &str, u64), usize> =
                rows.iter().enumerate().map(|(i, (b, s, r))| ((*b, *s, r.record_index), i)).collect();
            let added: Vec<(String, String, i64)> = sqlx::query_as("SELECT bridge, session, record_index FROM cdr_records WHERE id > ?")
                .bind(before)
                .fetch_all(&mut *tx)
                .await?;
            let mut fresh: Vec<usize> =
                added.iter().filter_map(|(b, s, idx)| at.get(&(b.as_str(), s.as_str(), *idx as u64)).copied()).collect();
            fresh.sort_unstable();
            fresh
        };
        // Gaps CMS reported, in the same transaction, so a resend can neither lose nor repeat them.
        for (bridge, session, r) in fresh.iter().map(|i| &rows[*i]).filter(|(_, _, r)| r.missing_before > 0) {
            sqlx::query("INSERT INTO cdr_gaps (at, bridge, session, record_index, missing) VALUES (?, ?, ?, ?, ?)")
                .bind(&now)
                .bind(*bridge)
                .bind(*session)
                .bind(r.record_index as i64)
                .bind(r.missing_before as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(fresh)
    }

    async fn dead_letter(&self, peer: &str, reason: &str, body: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO cdr_dead_letters (received_at, peer, reason, body) VALUES (?, ?, ?, ?)")
            .bind(now_text())
            .bind(peer)
            .bind(reason)
            .bind(body)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn dead_letter_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_dead_letters").fetch_one(&self.0).await?)
    }

    async fn record_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM cdr_records").fetch_one(&self.0).await?)
    }

    async fn recent_gaps(&self, limit: i64) -> Result<Vec<CdrGap>, StoreError> {
        Ok(sqlx::query_as("SELECT at, bridge, session, missing FROM cdr_gaps ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.0)
            .await?)
    }

    async fn records_since(&self, since: time::OffsetDateTime) -> Result<Vec<StoredRecord>, StoreError> {
        Ok(sqlx::query_as("SELECT bridge, session, raw FROM cdr_records WHERE received_at >= ? ORDER BY id")
            .bind(time_text(since))
            .fetch_all(&self.0)
            .await?)
    }
}
