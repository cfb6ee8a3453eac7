//! The deliveries' table (`incident_deliveries`): the durable job, one row per responder ×
//! channel × round, queued → sending → sent | failed | unknown. Each row keeps the key its
//! Connect sends carry (the same for every attempt) and whether an attempt may have arrived.
//! The SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`).

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::model::incident::{Channel, DeliveryStatus, DeliveryView};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// A delivery claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub incident_id: i64,
    pub responder_id: i64,
    pub responder_name: String,
    pub channel: Channel,
    pub address: String,
    pub attempts: i64,
    /// The key Connect recognises a repeat of this delivery by.
    pub send_key: String,
    /// An earlier attempt's answer was lost: it may have arrived.
    pub maybe_arrived: bool,
}

/// A delivery's outcome, with the timeline entry that records it.
#[derive(Debug, Clone, Copy)]
pub struct Outcome<'a> {
    pub status: DeliveryStatus,
    pub reason: Option<&'a str>,
    pub provider_id: Option<&'a str>,
    pub event: &'a str,
}

/// The deliveries' rows, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait DeliveryRepo: Send + Sync {
    async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError>;
    /// Claims up to `limit` due deliveries (marks them sending, counting the attempt); no
    /// delivery is ever handed to two claimers.
    async fn claim_due(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError>;
    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError>;
    /// Records the outcome of a delivery being sent and its timeline entry, in one transaction.
    async fn finish(&self, d: &DueDelivery, outcome: Outcome<'_>) -> Result<(), StoreError>;
    async fn requeue(&self, id: i64, due: OffsetDateTime, reason: &str, maybe_arrived: bool) -> Result<(), StoreError>;
    async fn fail_interrupted(&self) -> Result<u64, StoreError>;
    async fn views(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError>;
}

#[derive(Clone)]
pub struct DeliveryStore {
    repo: Arc<dyn DeliveryRepo>,
}

impl DeliveryStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn DeliveryRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteDeliveries(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgDeliveries(pool.clone())),
        };
        Self { repo }
    }

    pub async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError> {
        self.repo.next_round(incident_id, responder_id).await
    }

    /// Claims up to `limit` due deliveries (marks them sending, counting the attempt).
    pub async fn claim_due(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        self.repo.claim_due(limit).await
    }

    /// When the next queued delivery is due.
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        self.repo.next_due().await
    }

    /// Records a delivery's outcome (its timeline entry goes in the same transaction).
    pub async fn finish(&self, d: &DueDelivery, outcome: Outcome<'_>) -> Result<(), StoreError> {
        self.repo.finish(d, outcome).await
    }

    /// Queued again after a transient failure; `maybe_arrived` when this attempt's answer was lost.
    pub async fn requeue(&self, id: i64, due: OffsetDateTime, reason: &str, maybe_arrived: bool) -> Result<(), StoreError> {
        self.repo.requeue(id, due, reason, maybe_arrived).await
    }

    /// Deliveries caught mid-send by a restart: it is unknown whether they arrived, so they are
    /// not sent again by themselves (a person may resend them).
    pub async fn fail_interrupted(&self) -> Result<u64, StoreError> {
        self.repo.fail_interrupted().await
    }

    pub async fn views(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError> {
        self.repo.views(incident_id).await
    }
}
