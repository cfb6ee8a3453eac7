//! Banner history on PostgreSQL: `$n` placeholders, times as TIMESTAMPTZ.

use super::BannerRepo;
use crate::model::BannerEvent;
use crate::store::StoreError;
use sqlx::PgPool;
use time::OffsetDateTime;

pub(crate) struct PgBanners(pub(crate) PgPool);

#[async_trait::async_trait]
impl BannerRepo for PgBanners {
    async fn record(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO banner_history (at, call_id, node, call_name, text, result) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(OffsetDateTime::now_utc())
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
        Ok(sqlx::query_as("SELECT at, call_id, node, call_name, text, result FROM banner_history ORDER BY id DESC LIMIT $1")
            .bind(limit)
            .fetch_all(&self.0)
            .await?)
    }
}
