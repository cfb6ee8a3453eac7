//! Leases on PostgreSQL, shared by every instance: a take is one upsert that succeeds only when
//! the row is free, expired or already ours; expiry by the database's clock (`now()`).

use super::{ttl_ms, Epoch, HolderId, LeaseRepo, LeaseView};
use crate::store::StoreError;
use sqlx::PgPool;
use std::time::Duration;
use time::OffsetDateTime;

pub(crate) struct PgLeases(pub(crate) PgPool);

#[async_trait::async_trait]
impl LeaseRepo for PgLeases {
    async fn try_take(&self, name: &str, holder: &HolderId, ttl: Duration) -> Result<Option<Epoch>, StoreError> {
        let epoch: Option<i64> = sqlx::query_scalar(
            "INSERT INTO leases (name, holder, epoch, expires_at) VALUES ($1, $2, 1, now() + make_interval(secs => $3::double precision / 1000))
             ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, epoch = leases.epoch + 1, expires_at = EXCLUDED.expires_at
             WHERE leases.expires_at < now() OR leases.holder = EXCLUDED.holder
             RETURNING epoch",
        )
        .bind(name)
        .bind(holder.as_str())
        .bind(ttl_ms(ttl))
        .fetch_optional(&self.0)
        .await?;
        Ok(epoch.map(Epoch))
    }

    async fn renew(&self, name: &str, holder: &HolderId, epoch: Epoch, ttl: Duration) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE leases SET expires_at = now() + make_interval(secs => $4::double precision / 1000)
             WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at >= now()",
        )
        .bind(name)
        .bind(holder.as_str())
        .bind(epoch.0)
        .bind(ttl_ms(ttl))
        .execute(&self.0)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<(), StoreError> {
        sqlx::query("UPDATE leases SET expires_at = to_timestamp(0) WHERE name = $1 AND holder = $2 AND epoch = $3")
            .bind(name)
            .bind(holder.as_str())
            .bind(epoch.0)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn holds(&self, name: &str, holder: &HolderId, epoch: Epoch) -> Result<bool, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM leases WHERE name = $1 AND holder = $2 AND epoch = $3 AND expires_at >= now()")
                .bind(name)
                .bind(holder.as_str())
                .bind(epoch.0)
                .fetch_one(&self.0)
                .await?;
        Ok(n == 1)
    }

    async fn held(&self) -> Result<Vec<LeaseView>, StoreError> {
        let rows: Vec<(String, String, i64, OffsetDateTime)> =
            sqlx::query_as("SELECT name, holder, epoch, expires_at FROM leases WHERE expires_at >= now() ORDER BY name")
                .fetch_all(&self.0)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(name, holder, epoch, expires_at)| LeaseView { name, holder: HolderId::new(holder), epoch: Epoch(epoch), expires_at })
            .collect())
    }
}
