//! The acknowledgements on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, `lower()` for
//! SQLite's NOCASE order. `insert_ack` runs inside the lifecycle's transactions (start, remind).

use super::{AckRepo, AckRow, NewAck};
use crate::incident::statements::postgres::event;
use crate::model::incident::{AckAnswer, AckView, TimelineKind};
use crate::store::StoreError;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

pub(crate) struct PgAcks(pub(crate) PgPool);

pub(crate) async fn insert_ack(c: &mut PgConnection, incident_id: i64, a: &NewAck) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(incident_id)
    .bind(a.responder_id)
    .bind(&a.name)
    .bind(&a.token_hash)
    .execute(c)
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl AckRepo for PgAcks {
    async fn ack_by_hash(&self, hash: &str) -> Result<Option<AckRow>, StoreError> {
        Ok(sqlx::query_as("SELECT incident_id, responder_name, answer FROM incident_acks WHERE token_hash = $1")
            .bind(hash)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn answer(&self, hash: &str, incident_id: i64, answer: AckAnswer, detail: &str) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        sqlx::query("UPDATE incident_acks SET answer = $1, answered_at = $2 WHERE token_hash = $3")
            .bind(answer)
            .bind(OffsetDateTime::now_utc())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, incident_id, TimelineKind::Ack, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        let rows: Vec<(i64, String, Option<AckAnswer>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT responder_id, responder_name, answer, answered_at FROM incident_acks WHERE incident_id = $1 ORDER BY lower(responder_name)",
        )
        .bind(incident_id)
        .fetch_all(&self.0)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(responder_id, responder_name, answer, answered_at)| AckView { responder_id, responder_name, answer, answered_at })
            .collect())
    }
}
