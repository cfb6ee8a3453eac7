//! The audit log on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ, the id from RETURNING.

use super::{AuditRecord, AuditRepo};
use crate::model::{AuditAction, AuditEntry};
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgAudit(pub(crate) PgPool);

#[async_trait::async_trait]
impl AuditRepo for PgAudit {
    async fn insert(&self, rec: &AuditRecord<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_log (at, actor, actor_provider, action, target, result, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(OffsetDateTime::now_utc())
        .bind(rec.actor)
        .bind(rec.provider)
        .bind(rec.action)
        .bind(rec.target)
        .bind(rec.result.as_str())
        .bind(rec.detail)
        .fetch_one(&self.0)
        .await?)
    }

    async fn count(&self, action: Option<AuditAction>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE ($1::text IS NULL OR action = $1)")
            .bind(action)
            .fetch_one(&self.0)
            .await?)
    }

    async fn page(&self, offset: i64, limit: i64, action: Option<AuditAction>) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, actor_provider AS provider, action, target, result, detail FROM audit_log
             WHERE ($1::text IS NULL OR action = $1) ORDER BY id DESC LIMIT $2 OFFSET $3",
        )
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.0)
        .await?)
    }
}
