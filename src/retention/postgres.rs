//! Retention deletes on PostgreSQL: `$n` placeholders, times compared as TIMESTAMPTZ with a
//! bound time (never text), the incident batch passed as a BIGINT array.

use super::RetentionRepo;
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgRetention(pub(crate) PgPool);

#[async_trait::async_trait]
impl RetentionRepo for PgRetention {
    async fn delete_older(&self, table: &str, column: &str, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        // Table and column names are constants of the retention module, never input.
        let sql = format!("DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {column} < $1 ORDER BY id LIMIT $2)");
        Ok(sqlx::query(&sql).bind(cutoff).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn keep_newest(&self, table: &str, keep: i64, batch: i64) -> Result<u64, StoreError> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE id <= (SELECT COALESCE(MAX(id), 0) FROM {table}) - $1 ORDER BY id LIMIT $2)"
        );
        Ok(sqlx::query(&sql).bind(keep).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn delete_ended_incidents(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        let mut tx = self.0.begin().await?;
        // Locked, so an instance touching one of these incidents meanwhile waits for the delete
        // (and a second pruner skips them rather than deleting them twice).
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM incidents WHERE stopped_at IS NOT NULL AND stopped_at < $1 ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(cutoff)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?;
        if ids.is_empty() {
            return Ok(0);
        }
        for table in ["incident_deliveries", "incident_acks", "incident_events"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE incident_id = ANY($1)")).bind(&ids).execute(&mut *tx).await?;
        }
        let n = sqlx::query("DELETE FROM incidents WHERE id = ANY($1)").bind(&ids).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(n.rows_affected())
    }

    async fn delete_stale_directory(&self, cutoff: OffsetDateTime, batch: i64) -> Result<u64, StoreError> {
        let sql = "DELETE FROM webex_directory WHERE person_id IN (SELECT person_id FROM webex_directory WHERE refreshed_at < $1
                   AND person_id NOT IN (SELECT person_id FROM responders WHERE person_id IS NOT NULL) LIMIT $2)";
        Ok(sqlx::query(sql).bind(cutoff).bind(batch).execute(&self.0).await?.rows_affected())
    }

    async fn bytes(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT pg_database_size(current_database())").fetch_one(&self.0).await?)
    }

    async fn oldest_cdr(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MIN(received_at) FROM cdr_records").fetch_one(&self.0).await?)
    }
}
