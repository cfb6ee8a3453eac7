//! The acknowledgements' SQL (`incident_acks`): one row per responder of an incident, found by
//! the hash of its token, holding the answer.

use crate::incident::Tx;
use crate::model::incident::{AckAnswer, AckView};
use crate::store::{now_text, Store, StoreError};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct AckStore {
    store: Store,
}

/// The acknowledgement a token hash names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AckRow {
    pub incident_id: i64,
    pub responder_name: String,
    pub answer: Option<AckAnswer>,
}

impl AckStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.store.pool()
    }

    pub async fn tx(&self) -> Result<Tx, StoreError> {
        Ok(self.store.write_tx().await?)
    }

    pub async fn insert_ack(
        &self,
        tx: &mut Tx,
        incident_id: i64,
        responder_id: i64,
        name: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES (?, ?, ?, ?)")
            .bind(incident_id)
            .bind(responder_id)
            .bind(name)
            .bind(token_hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn ack_by_hash(&self, hash: &str) -> Result<Option<AckRow>, StoreError> {
        Ok(sqlx::query_as("SELECT incident_id, responder_name, answer FROM incident_acks WHERE token_hash = ?")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn answer(&self, tx: &mut Tx, hash: &str, answer: AckAnswer) -> Result<(), StoreError> {
        sqlx::query("UPDATE incident_acks SET answer = ?, answered_at = ? WHERE token_hash = ?")
            .bind(answer)
            .bind(now_text())
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        let rows: Vec<(i64, String, Option<AckAnswer>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT responder_id, responder_name, answer, answered_at FROM incident_acks WHERE incident_id = ? ORDER BY responder_name COLLATE NOCASE",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(responder_id, responder_name, answer, answered_at)| AckView { responder_id, responder_name, answer, answered_at })
            .collect())
    }
}
