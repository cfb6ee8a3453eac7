//! The audit log on SQLite: `?` placeholders, times as RFC 3339 text.

use super::{AuditRecord, AuditRepo};
use crate::model::{AuditAction, AuditEntry};
use crate::store::{now_text, StoreError};
use sqlx::SqlitePool;

pub(crate) struct SqliteAudit(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl AuditRepo for SqliteAudit {
    async fn insert(&self, rec: &AuditRecord<'_>) -> Result<i64, StoreError> {
        let r =
            sqlx::query("INSERT INTO audit_log (at, actor, actor_provider, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(now_text())
                .bind(rec.actor)
                .bind(rec.provider)
                .bind(rec.action)
                .bind(rec.target)
                .bind(rec.result.as_str())
                .bind(rec.detail)
                .execute(&self.0)
                .await?;
        Ok(r.last_insert_rowid())
    }

    async fn count(&self, action: Option<AuditAction>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE (?1 IS NULL OR action = ?1)").bind(action).fetch_one(&self.0).await?)
    }

    async fn page(&self, offset: i64, limit: i64, action: Option<AuditAction>) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, actor_provider AS provider, action, target, result, detail FROM audit_log
             WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.0)
        .await?)
    }
}
