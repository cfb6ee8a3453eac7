//! The grant on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, BOOLEAN `dead`. A refresh holds
//! the row lock (`SELECT … FOR UPDATE`) from reading the refresh token to writing the new tokens,
//! so two instances never spend one refresh token: the second waits, then reads the fresh row.

use super::{GrantRepo, GrantRow, NewGrant, RefreshLock};
use crate::store::StoreError;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;

pub(crate) struct PgGrant(pub(crate) PgPool);

#[async_trait::async_trait]
impl GrantRepo for PgGrant {
    async fn row(&self) -> Result<Option<GrantRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM webex_grant WHERE id = 1").fetch_optional(&self.0).await?)
    }

    async fn put(&self, g: &NewGrant<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webex_grant (id, sealed_tokens, person_id, email, display_name, org_id, granted_by, granted_at, expires_at, refreshed_at, dead, last_error)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7, $8, $7, FALSE, NULL)
             ON CONFLICT (id) DO UPDATE SET sealed_tokens = excluded.sealed_tokens, person_id = excluded.person_id, email = excluded.email,
               display_name = excluded.display_name, org_id = excluded.org_id, granted_by = excluded.granted_by, granted_at = excluded.granted_at,
               expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, dead = FALSE, last_error = NULL",
        )
        .bind(g.sealed_tokens)
        .bind(g.person_id)
        .bind(g.email)
        .bind(g.display_name)
        .bind(g.org_id)
        .bind(g.granted_by)
        .bind(g.at)
        .bind(g.expires_at)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn lock_for_refresh(&self) -> Result<Box<dyn RefreshLock>, StoreError> {
        let mut tx = self.0.begin().await?;
        let row = sqlx::query_as("SELECT * FROM webex_grant WHERE id = 1 FOR UPDATE").fetch_optional(&mut *tx).await?;
        Ok(Box::new(PgRefresh { tx, row }))
    }
}

/// The open transaction holding the row lock; dropped unfinished, it rolls back (and unlocks).
struct PgRefresh {
    tx: Transaction<'static, Postgres>,
    row: Option<GrantRow>,
}

#[async_trait::async_trait]
impl RefreshLock for PgRefresh {
    fn row(&self) -> Option<GrantRow> {
        self.row.clone()
    }

    async fn refreshed(mut self: Box<Self>, sealed_tokens: &str, expires_at: OffsetDateTime, at: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET sealed_tokens = $1, expires_at = $2, refreshed_at = $3, last_error = NULL WHERE id = 1")
            .bind(sealed_tokens)
            .bind(expires_at)
            .bind(at)
            .execute(&mut *self.tx)
            .await?;
        self.tx.commit().await?;
        Ok(())
    }

    async fn failed(mut self: Box<Self>, error: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET last_error = $1 WHERE id = 1").bind(error).execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(())
    }

    async fn dead(mut self: Box<Self>, why: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET dead = TRUE, last_error = $1 WHERE id = 1").bind(why).execute(&mut *self.tx).await?;
        self.tx.commit().await?;
        Ok(())
    }
}
