//! Leases on SQLite: one process holds the file, so these only keep one job from running twice
//! inside it and behave as PostgreSQL's do. Times are RFC 3339 text in UTC with milliseconds, from
//! SQLite's clock, compared as text.

use super::{ttl_ms, Epoch, HolderId, LeaseRepo, LeaseView};
use crate::store::StoreError;
use sqlx::SqlitePool;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub(crate) struct SqliteLeases(pub(crate) SqlitePool);

const NOW: &str = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

/// The `strftime` modifier for now + ttl.
fn plus(ttl: Duration) -> String {
    format!("+{}.{:03} seconds", ttl_ms(ttl) / 1000, ttl_ms(ttl) % 1000)
}

#[async_trait::async_trait]
impl LeaseRepo for SqliteLeases {
    async fn try_take(&self, name: &str, holder: &HolderId, ttl: Duration) -> Result<Option<Epoch>, StoreError> {
        let sql = format!(
            "INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?1, ?2, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?3))
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = leases.epoch + 1, expires_at = excluded.expires_at
             WHERE leases.expires_at < {NOW} OR leases.holder = excluded.holder
             RETURNING epoch"
        );
        let epoch: Option<i64> = sqlx::query_scalar(&sql).bind(name).bind(holder.as_str()).bind(plus(ttl)).fetch_optional(&self.0).await?;
        Ok(epoch.map(Epoch))
    }

    async fn renew(&self, name: &str, holder: &HolderId, epoch: Epoch, ttl: Duration) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE leases SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', ?4)
             WHERE name = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at >= {NOW}"
        );
        let done = sqlx::query(&sql).bind(name).bind(holder.as_str()).bind(epoch.0).bind(plus(ttl)).execute(&self.0).await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<(), StoreError> {
        sqlx::query("UPDATE leases SET expires_at = '1970-01-01T00:00:00.000Z' WHERE name = ?1 AND holder = ?2 AND epoch = ?3")
            .bind(name)
            .bind(holder.as_str())
            .bind(epoch.0)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn holds(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<bool, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM leases WHERE name = ?1 AND holder = ?2 AND epoch = ?3 AND expires_at >= {NOW}");
        let n: i64 = sqlx::query_scalar(&sql).bind(name).bind(holder.as_str()).bind(epoch.0).fetch_one(&self.0).await?;
        Ok(n == 1)
    }

    async fn held(&self) -> Result<Vec<LeaseView>, StoreError> {
        let sql = format!("SELECT name, holder, epoch, expires_at FROM leases WHERE expires_at >= {NOW} ORDER BY name");
        let rows: Vec<(String, String, i64, String)> = sqlx::query_as(&sql).fetch_all(&self.0).await?;
        rows.into_iter()
            .map(|(name, holder, epoch, at)| {
                let expires_at = OffsetDateTime::parse(&at, &Rfc3339).map_err(|e| StoreError::Db(sqlx::Error::Decode(Box::new(e))))?;
                Ok(LeaseView { name, holder: HolderId::new(holder), epoch: Epoch(epoch), expires_at })
            })
            .collect()
    }
}
