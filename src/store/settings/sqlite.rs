//! Settings on SQLite: `?` placeholders, times as RFC 3339 text.

use super::SettingsRepo;
use crate::store::{now_text, StoreError};
use sqlx::SqlitePool;

pub(crate) struct SqliteSettings(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl SettingsRepo for SqliteSettings {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(key).fetch_optional(&self.0).await?)
    }

    async fn put(&self, key: &str, json: &str, by: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at, updated_by) VALUES (?, ?, ?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
        )
        .bind(key)
        .bind(json)
        .bind(now_text())
        .bind(by)
        .execute(&self.0)
        .await?;
        Ok(())
    }
}
