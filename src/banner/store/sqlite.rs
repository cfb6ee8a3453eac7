//! Banner history on SQLite: `?` placeholders, times as RFC 3339 text.

use super::BannerRepo;
use crate::model::BannerEvent;
use crate::store::{now_text, StoreError};
use sqlx::SqlitePool;

pub(crate) struct SqliteBanners(pub(crate) SqlitePool);

#[async_trait::async_trait]
impl BannerRepo for SqliteBanners {
    async fn record(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES (?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(call_id)
            .bind(node)
            .bind(call_name)
            .bind(text)
            .bind(result)
            .execute(&self.0)
            .await?;
        Ok(())
    }

    async fn history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError> {
        Ok(sqlx::query_as("SELECT at, call_id, node, call_name, text, result FROM banner_history ORDER BY id DESC LIMIT ?")
            .bind(limit)
            .fetch_all(&self.0)
            .await?)
    }
}
