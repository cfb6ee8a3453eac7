//! The grant on SQLite: the SQL it always had. SQLite serves one instance, so the refresh lock is
//! a process-wide mutex: holding SQLite's write lock across the call to Webex would stall every
//! other writer (the CDR receiver) for as long as Webex takes to answer.

use super::{GrantRepo, GrantRow, NewGrant, RefreshLock};
use crate::store::{time_text, StoreError};
use sqlx::SqlitePool;
use std::sync::{Arc, LazyLock};
use time::OffsetDateTime;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// One refresh at a time in this process, whichever `OrgGrant` asks.
static REFRESHING: LazyLock<Arc<Mutex<()>>> = LazyLock::new(|| Arc::new(Mutex::new(())));

pub(crate) struct SqliteGrant(pub(crate) SqlitePool);

async fn row(pool: &SqlitePool) -> Result<Option<GrantRow>, StoreError> {
    Ok(sqlx::query_as("SELECT * FROM webex_grant WHERE id = 1").fetch_optional(pool).await?)
}

#[async_trait::async_trait]
impl GrantRepo for SqliteGrant {
    async fn row(&self) -> Result<Option<GrantRow>, StoreError> {
        row(&self.0).await
    }

    async fn put(&self, g: &NewGrant<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webex_grant (id, sealed_tokens, person_id, email, display_name, org_id, granted_by, granted_at, expires_at, refreshed_at, dead, last_error)
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)
             ON CONFLICT(id) DO UPDATE SET sealed_tokens = excluded.sealed_tokens, person_id = excluded.person_id, email = excluded.email,
               display_name = excluded.display_name, org_id = excluded.org_id, granted_by = excluded.granted_by, granted_at = excluded.granted_at,
               expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, dead = 0, last_error = NULL",
        )
        .bind(g.sealed_tokens)
        .bind(g.person_id)
        .bind(g.email)
        .bind(g.display_name)
        .bind(g.org_id)
        .bind(g.granted_by)
        .bind(time_text(g.at))
        .bind(time_text(g.expires_at))
        .bind(time_text(g.at))
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn lock_for_refresh(&self) -> Result<Box<dyn RefreshLock>, StoreError> {
        let guard = REFRESHING.clone().lock_owned().await;
        let row = row(&self.0).await?;
        Ok(Box::new(SqliteRefresh { pool: self.0.clone(), row, _guard: guard }))
    }
}

struct SqliteRefresh {
    pool: SqlitePool,
    row: Option<GrantRow>,
    _guard: OwnedMutexGuard<()>,
}

#[async_trait::async_trait]
impl RefreshLock for SqliteRefresh {
    fn row(&self) -> Option<GrantRow> {
        self.row.clone()
    }

    async fn refreshed(self: Box<Self>, sealed_tokens: &str, expires_at: OffsetDateTime, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET sealed_tokens = ?, expires_at = ?, refreshed_at = ?, last_error = NULL WHERE id = 1")
            .bind(sealed_tokens)
            .bind(time_text(expires_at))
            .bind(time_text(at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn failed(self: Box<Self>, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET last_error = ? WHERE id = 1").bind(error).execute(&self.pool).await?;
        Ok(())
    }

    async fn dead(self: Box<Self>, why: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET dead = 1, last_error = ? WHERE id = 1").bind(why).execute(&self.pool).await?;
        Ok(())
    }
}
