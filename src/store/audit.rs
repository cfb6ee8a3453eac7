//! The audit log: every operator action, appended, never edited. Writing an entry never fails
//! the action it records: a failed write is logged (with the entry) instead.

use super::{now_text, Store, StoreError};
use crate::model::{split_actor, AuditAction, AuditPage, IdentityProvider};

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
    /// The actor's name (without its provider).
    pub actor: &'a str,
    pub provider: IdentityProvider,
    pub action: AuditAction,
    pub target: Option<&'a str>,
    pub result: AuditResult,
    pub detail: Option<&'a str>,
}

impl<'a> AuditRecord<'a> {
    /// `actor`: an actor key (`UserInfo::actor`, [`crate::model::actor_key`]): a local name
    /// as it is, anyone else's after their provider.
    pub fn new(actor: &'a str, action: AuditAction, result: AuditResult) -> Self {
        let (provider, actor) = split_actor(actor);
        Self { actor, provider, action, target: None, result, detail: None }
    }
    pub fn target(mut self, target: &'a str) -> Self {
        self.target = Some(target);
        self
    }
    pub fn detail(mut self, detail: &'a str) -> Self {
        self.detail = Some(detail).filter(|d| !d.is_empty());
        self
    }
}

/// The `audit_log` table.
#[derive(Clone)]
pub struct AuditLog {
    store: Store,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// Appends an entry. A database failure is logged with the entry and not passed on: the
    /// action already happened, and refusing to report it would be worse.
    pub async fn record(&self, rec: AuditRecord<'_>) {
        if let Err(e) = self.try_record(&rec).await {
            tracing::error!(error = %e, actor = rec.actor, provider = rec.provider.as_str(), action = rec.action.as_str(), target = ?rec.target, result = rec.result.as_str(),
                "audit log write failed");
        }
    }

    async fn try_record(&self, rec: &AuditRecord<'_>) -> Result<i64, StoreError> {
        let r =
            sqlx::query("INSERT INTO audit_log (at, actor, actor_provider, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(now_text())
                .bind(rec.actor)
                .bind(rec.provider)
                .bind(rec.action)
                .bind(rec.target)
                .bind(rec.result.as_str())
                .bind(rec.detail)
                .execute(self.store.pool())
                .await?;
        Ok(r.last_insert_rowid())
    }

    /// Newest first; `action` filters by exact match when given.
    pub async fn page(&self, offset: i64, limit: i64, action: Option<AuditAction>) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, 500);
        let offset = offset.max(0);
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE (?1 IS NULL OR action = ?1)")
            .bind(action)
            .fetch_one(self.store.pool())
            .await?;
        let entries = sqlx::query_as(
            "SELECT id, at, actor, actor_provider AS provider, action, target, result, detail FROM audit_log
             WHERE (?1 IS NULL OR action = ?1) ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )
        .bind(action)
        .bind(limit)
        .bind(offset)
        .fetch_all(self.store.pool())
        .await?;
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
        let audit = AuditLog::new(store);
        audit.record(AuditRecord::new("ann", AuditAction::Login, AuditResult::Ok)).await;
        audit.record(AuditRecord::new("ann", AuditAction::LobbyAdmit, AuditResult::Failed).target("P-1").detail("node down")).await;
        audit.record(AuditRecord::new("bob", AuditAction::Login, AuditResult::Denied)).await;

        let all = audit.page(0, 10, None).await.unwrap();
        assert_eq!(all.total, 3);
        assert_eq!(all.entries[0].actor, "bob");
        assert_eq!(all.entries[1].target.as_deref(), Some("P-1"));
        assert_eq!(all.entries[1].result, "failed");

        let logins = audit.page(0, 1, Some(AuditAction::Login)).await.unwrap();
        assert_eq!((logins.total, logins.entries.len()), (2, 1));
        assert_eq!(logins.entries[0].result, "denied");
    }

    #[tokio::test]
    async fn a_local_user_and_a_webex_user_of_the_same_name_are_told_apart_by_their_provider() {
        let (store, _dir) = test_store().await;
        let audit = AuditLog::new(store.clone());
        let name = "ann@example.com";
        let local = crate::model::UserInfo { name: name.into(), role: crate::model::Role::Admin, provider: IdentityProvider::Local };
        let webex = crate::model::UserInfo { provider: IdentityProvider::Webex, ..local.clone() };
        audit.record(AuditRecord::new(&local.actor(), AuditAction::SettingsBanner, AuditResult::Ok)).await;
        audit.record(AuditRecord::new(&webex.actor(), AuditAction::SettingsBanner, AuditResult::Ok)).await;
        audit
            .record(AuditRecord::new(&crate::model::actor_key(IdentityProvider::System, "retention"), AuditAction::Login, AuditResult::Ok))
            .await;
        // An entry from before providers were recorded.
        sqlx::query("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'old', 'login', 'ok')")
            .bind(now_text())
            .execute(store.pool())
            .await
            .unwrap();
        let page = audit.page(0, 10, None).await.unwrap();
        let seen: Vec<(&str, Option<IdentityProvider>)> = page.entries.iter().map(|e| (e.actor.as_str(), e.provider)).collect();
        assert_eq!(
            seen,
            vec![
                ("old", None),
                ("retention", Some(IdentityProvider::System)),
                (name, Some(IdentityProvider::Webex)),
                (name, Some(IdentityProvider::Local)),
            ]
        );
    }

    #[tokio::test]
    async fn every_audit_action_is_stored_as_its_stable_string_and_reads_back() {
        let (store, _dir) = test_store().await;
        let audit = AuditLog::new(store.clone());
        for a in AuditAction::ALL {
            audit.record(AuditRecord::new("ann", *a, AuditResult::Ok)).await;
        }
        for a in AuditAction::ALL {
            let stored: AuditAction =
                sqlx::query_scalar("SELECT action FROM audit_log WHERE action = ?").bind(*a).fetch_one(store.pool()).await.unwrap();
            assert_eq!(stored, *a);
            let page = audit.page(0, 10, Some(*a)).await.unwrap();
            assert_eq!((page.total, page.entries[0].action.as_str()), (1, a.as_str()));
        }
        crate::store::assert_round_trips(&store, AuditAction::ALL).await;
    }
}
