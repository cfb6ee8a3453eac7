//! Settings on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ.

use super::SettingsRepo;
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgSettings(pub(crate) PgPool);

#[async_trait::async_trait]
impl SettingsRepo for PgSettings {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&self.0).await?)
    }

    async fn put(&self, key: &str, json: &str, by: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES ($1, $2, $3, $4)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(json)
        .bind(OffsetDateTime::now_utc())
        .bind(by)
        .execute(&self.0)
        .await?;
        Ok(())
    }
}
