//! The acknowledgements' table (`incident_acks`): one row per responder of an incident, found by
//! the hash of its token, holding the answer. The SQL is per backend (`store/sqlite.rs`,
//! `store/postgres.rs`).

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::model::incident::{AckAnswer, AckView};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;

/// The acknowledgement a token hash names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AckRow {
    pub incident_id: i64,
    pub responder_name: String,
    pub answer: Option<AckAnswer>,
}

/// An acknowledgement to issue (kept if the responder has one in the incident already).
#[derive(Debug, Clone)]
pub struct NewAck {
    pub responder_id: i64,
    pub name: String,
    pub token_hash: String,
}

/// The acknowledgements' rows, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait AckRepo: Send + Sync {
    async fn ack_by_hash(&self, hash: &str) -> Result<Option<AckRow>, StoreError>;
    /// Records the answer and its timeline entry (`event`), in one transaction.
    async fn answer(&self, hash: &str, incident_id: i64, answer: AckAnswer, event: &str) -> Result<(), StoreError>;
    async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError>;
}

#[derive(Clone)]
pub struct AckStore {
    repo: Arc<dyn AckRepo>,
}

impl AckStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn AckRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteAcks(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgAcks(pool.clone())),
        };
        Self { repo }
    }

    pub async fn ack_by_hash(&self, hash: &str) -> Result<Option<AckRow>, StoreError> {
        self.repo.ack_by_hash(hash).await
    }

    pub async fn answer(&self, hash: &str, incident_id: i64, answer: AckAnswer, event: &str) -> Result<(), StoreError> {
        self.repo.answer(hash, incident_id, answer, event).await
    }

    pub async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        self.repo.acks(incident_id).await
    }
}
