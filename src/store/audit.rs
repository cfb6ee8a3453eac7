//! The audit log: every operator action, appended, never edited. Writing an entry never fails
//! the action it records: a failed write is logged (with the entry) instead. The SQL is per
//! backend (`audit/sqlite.rs`, `audit/postgres.rs`).

mod postgres;
mod sqlite;

use super::{Backend, Store, StoreError};
use crate::model::{split_actor, AuditAction, AuditEntry, AuditPage, IdentityProvider};
use std::sync::Arc;

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

/// The `audit_log` table, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait AuditRepo: Send + Sync {
    /// Appends an entry stamped now; its id.
    async fn insert(&self, rec: &AuditRecord<'_>) -> Result<i64, StoreError>;
    /// How many entries (with exactly `action`, when given).
    async fn count(&self, action: Option<AuditAction>) -> Result<i64, StoreError>;
    /// Newest first, filtered like `count`.
    async fn page(&self, offset: i64, limit: i64, action: Option<AuditAction>) -> Result<Vec<AuditEntry>, StoreError>;
}

/// The audit log.
#[derive(Clone)]
pub struct AuditLog {
    repo: Arc<dyn AuditRepo>,
}

impl AuditLog {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn AuditRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteAudit(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgAudit(pool.clone())),
        };
        Self { repo }
    }

    /// Appends an entry. A database failure is logged with the entry and not passed on: the
    /// action already happened, and refusing to report it would be worse.
    pub async fn record(&self, rec: AuditRecord<'_>) {
        if let Err(e) = self.repo.insert(&rec).await {
            tracing::error!(error = %e, actor = rec.actor, provider = rec.provider.as_str(), action = rec.action.as_str(), target = ?rec.target, result = rec.result.as_str(),
                "audit log write failed");
        }
    }

    /// Newest first; `action` filters by exact match when given.
    pub async fn page(&self, offset: i64, limit: i64, action: Option<AuditAction>) -> Result<AuditPage, StoreError> {
        let limit = limit.clamp(1, 500);
        let offset = offset.max(0);
        let total = self.repo.count(action).await?;
        let entries = self.repo.page(offset, limit, action).await?;
        Ok(AuditPage { entries, total, offset, limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{now_text, test_store};

    crate::both_backends! {
        async fn audit_entries_come_back_newest_first_with_filter_and_paging(store) {
            let audit = AuditLog::new(store);
            audit.record(AuditRecord::new("ann", AuditAction::Login, AuditResult::Ok)).await;
            audit.record(AuditRecord::new("ann", AuditAction::LobbyAdmit, AuditResult::Failed).target("P-1").detail("node down")).await;
            audit.record(AuditRecord::new("bob", AuditAction::Login, AuditResult::Denied)).await;

            let all = audit.page(0, 10, None).await.unwrap();
            assert_eq!(all.total, 3);
            assert_eq!(all.entries[0].actor, "bob");
            assert_eq!(all.entries[1].target.as_deref(), Some("P-1"));
            assert_eq!(all.entries[1].detail.as_deref(), Some("node down"));
            assert_eq!(all.entries[1].result, "failed");
            assert!(all.entries[0].id > all.entries[1].id);

            let logins = audit.page(0, 1, Some(AuditAction::Login)).await.unwrap();
            assert_eq!((logins.total, logins.entries.len()), (2, 1));
            assert_eq!(logins.entries[0].result, "denied");
            let second = audit.page(1, 1, Some(AuditAction::Login)).await.unwrap();
            assert_eq!(second.entries[0].actor, "ann");
        }

        async fn a_local_user_and_a_webex_user_of_the_same_name_are_told_apart_by_their_provider(store) {
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
            match store.backend() {
                Backend::Sqlite(pool) => {
                    sqlx::query("INSERT INTO audit_log (at, actor, action, result) VALUES (?, 'old', 'login', 'ok')")
                        .bind(now_text())
                        .execute(pool)
                        .await
                        .unwrap();
                }
                Backend::Postgres(pool) => {
                    sqlx::query("INSERT INTO audit_log (at, actor, action, result) VALUES (now(), 'old', 'login', 'ok')")
                        .execute(pool)
                        .await
                        .unwrap();
                }
            }
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

        async fn every_audit_action_is_stored_as_its_stable_string_and_reads_back(store) {
            let audit = AuditLog::new(store.clone());
            for a in AuditAction::ALL {
                audit.record(AuditRecord::new("ann", *a, AuditResult::Ok)).await;
            }
            for a in AuditAction::ALL {
                let stored: String = match store.backend() {
                    Backend::Sqlite(pool) => sqlx::query_scalar("SELECT action FROM audit_log WHERE action = ?").bind(*a).fetch_one(pool).await,
                    Backend::Postgres(pool) => sqlx::query_scalar("SELECT action FROM audit_log WHERE action = $1").bind(*a).fetch_one(pool).await,
                }
                .unwrap();
                assert_eq!(stored, a.as_str());
                let page = audit.page(0, 10, Some(*a)).await.unwrap();
                assert_eq!((page.total, page.entries[0].action.as_str()), (1, a.as_str()));
            }
        }

        async fn entries_keep_their_time_to_the_second(store) {
            let audit = AuditLog::new(store);
            let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
            audit.record(AuditRecord::new("ann", AuditAction::Login, AuditResult::Ok)).await;
            let after = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
            let at = audit.page(0, 1, None).await.unwrap().entries[0].at;
            assert!(before <= at && at <= after, "{before} <= {at} <= {after}");
        }
    }

    #[tokio::test]
    async fn every_audit_action_round_trips_through_sqlite_as_its_stable_string() {
        let (store, _dir) = test_store().await;
        crate::store::assert_round_trips(&store, AuditAction::ALL).await;
    }
}
