//! The audit log: every operator action, appended, never edited. Later capabilities call
//! `Store::audit` for each action they perform on someone's behalf.

use super::{now_rfc3339, Store, StoreError};
use crate::model::{AuditEntry, AuditPage};
use sqlx::Row;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditResult {
    Ok,
    Failed,
    Denied,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Ok => "ok",
            AuditResult::Failed => "failed",
            AuditResult::Denied => "denied",
        }
    }
}

/// One action to record.
#[derive(Debug, Clone)]
pub struct AuditRecord<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub result: AuditResult,
    pub detail: Option<&'a str>,
}

impl<'a> AuditRecord<'a> {
    pub fn new(actor: &'a str, action: &'a str, result: AuditResult) -> Self {
        Self { actor, action, target: None, result, detail: None }
    }
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl Store {
    pub async fn audit(&self, rec: AuditRecord<'_>) -> Result<i64, StoreError> {
        let r = sqlx::query("INSERT INTO audit_log (at, actor, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(now_rfc3339())
            .bind(rec.actor)
            .bind(rec.action)
            .bind(rec.target)
            .bind(rec.result.as_str())
            .bind(rec.detail)
            .execute(self.pool())
            .await?;
        Ok(r.last_insert_rowid())
    }

    /// Newest first. `actor`/`action` filter by exact match when given.
    pub async fn audit_page(&self, offset: i64, limit: i64, action: Option<&str>) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, 500);
        let offset = offset.max(0);
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE (?1 IS NULL OR action = ?1)")
            .bind(action)
            .fetch_one(self.pool())
            .await?;
        let rows = sqlx::query(
            "SELECT id, at, actor, action, target, result, detail FROM audit_log
             WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .into_iter()
            .map(|r| AuditEntry {
                id: r.get("id"),
                at: r.get("at"),
                actor: r.get("actor"),
                action: r.get("action"),
                target: r.get("target"),
                result: r.get("result"),
                detail: r.get("detail"),
            })
            .collect();
        Ok(AuditPage { entries, total, offset, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_store;

    #[tokio::test]
    async fn audit_entries_come_back_newest_first_with_filter_and_paging() {
        let (store, _dir) = test_store().await;
        store.audit(AuditRecord::new("ann", "login", AuditResult::Ok)).await.unwrap();
        store
            .audit(AuditRecord::new("ann", "lobby.admit", AuditResult::Failed).target("P-1").detail("node down"))
            .await
            .unwrap();
        store.audit(AuditRecord::new("bob", "login", AuditResult::Denied)).await.unwrap();

        let all = store.audit_page(0, 10, None).await.unwrap();
        assert_eq!(all.total, 3);
        assert_eq!(all.entries[0].actor, "bob");
        assert_eq!(all.entries[1].target.as_deref(), Some("P-1"));
        assert_eq!(all.entries[1].result, "failed");

        let logins = store.audit_page(0, 1, Some("login")).await.unwrap();
        assert_eq!((logins.total, logins.entries.len()), (2, 1));
        assert_eq!(logins.entries[0].result, "denied");
    }
}
