//! Retention deletes on SQLite: `?` placeholders, times compared as RFC 3339 text (which sorts
//! as time), the incident batch passed as a JSON array.

use super::RetentionRepo;
use crate::store::{time_text, StoreError};
use sqlx::SqlitePool;
use time::OffsetDateTime;

pub(crate) struct SqliteRetention(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl RetentionRepo for SqliteRetention {
    async fn delete_older(&self, table: &str, column: &str, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        // Table and column names are constants of the retention module, never input.
        let sql = format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < ? ORDER BY id LIMIT ?)");
        Ok(sqlx::query(&sql).bind(time_text(cutoff)).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn keep_newest(&self, table: &str, keep: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM {table}) - ? ORDER BY id LIMIT ?)"
        );
        Ok(sqlx::query(&sql).bind(keep).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn delete_ended_incidents(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let ids: Vec<i64> =
            sqlx::query_scalar("SELECT id FROM incidents WHERE stopped_at IS NOT NULL AND stopped_at < ? ORDER BY id LIMIT ?")
                .bind(time_text(cutoff))
                .bind(batch)
                .fetch_all(&mut *tx)
                .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        let list = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
        for table in ["incident_deliveries", "incident_acks", "incident_events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE incident_id IN (SELECT value FROM json_each(?))"))
                .bind(&list)
                .execute(&mut *tx)
                .await?;
        }
        let n = sqlx::query("DELETE FROM incidents WHERE id IN (SELECT value FROM json_each(?))").bind(&list).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n.rows_affected())
    }

    async fn delete_stale_directory(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM webex_directory WHERE person_id IN (SELECT person_id FROM webex_directory WHERE refreshed_at < ?
                   AND person_id NOT IN (SELECT person_id FROM responders WHERE person_id IS NOT NULL) LIMIT ?)";
        Ok(sqlx::query(sql).bind(time_text(cutoff)).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn bytes(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()").fetch_one(&self.0).await?)
    }

    async fn oldest_cdr(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        let oldest: Option<String> = sqlx::query_scalar("SELECT MIN(received_at) FROM cdr_records").fetch_one(&self.0).await?;
        Ok(oldest.and_then(|t| OffsetDateTime::parse(&t, &time::format_description::well_known::Rfc3339).ok()))
    }
}
