//! The acknowledgements on SQLite: the SQL they always had. `insert_ack` runs inside the
//! lifecycle's transactions (start, remind).

use super::{AckRepo, AckRow, NewAck};
use crate::incident::statements::sqlite::event;
use crate::model::incident::{AckAnswer, AckView, TimelineKind};
use crate::store::{now_text, StoreError};
use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

pub(crate) struct SqliteAcks(pub(crate) SqlitePool);

pub(crate) async fn insert_ack(c: &mut SqliteConnection, incident_id: i64, a: &NewAck) -> Result<(), StoreError> {
    sqlx::query("INSERT OR IGNORE INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES (?, ?, ?, ?)")
        .bind(incident_id)
        .bind(a.responder_id)
        .bind(&a.name)
        .bind(&a.token_hash)
        .execute(c)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl AckRepo for SqliteAcks {
    async fn ack_by_hash(&self, hash: &str) -> Result<Option<AckRow>, StoreError> {
        Ok(sqlx::query_as("SELECT incident_id, responder_name, answer FROM incident_acks WHERE token_hash = ?")
            .bind(hash)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn answer(&self, hash: &str, incident_id: i64, answer: AckAnswer, detail: &str) -> Result<(), StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query("UPDATE incident_acks SET answer = ?, answered_at = ? WHERE token_hash = ?")
            .bind(answer)
            .bind(now_text())
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        event(&mut tx, incident_id, TimelineKind::Ack, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        let rows: Vec<(i64, String, Option<AckAnswer>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT responder_id, responder_name, answer, answered_at FROM incident_acks WHERE incident_id = ? ORDER BY responder_name COLLATE NOCASE",
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
