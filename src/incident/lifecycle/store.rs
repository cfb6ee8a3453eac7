//! The lifecycle's tables: incidents (`incidents`: one open per space) and their timeline
//! (`incident_events`). The SQL is per backend (`store/sqlite.rs`, `store/postgres.rs`); each
//! step (start, remind, retry, stop) changes the rows of several parts in one transaction
//! inside its implementation.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::incident::acknowledgements::store::NewAck;
use crate::incident::deliveries::NewDelivery;
use crate::model::incident::{DeliveryStatus, IncidentSummary, TimelineEntry};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

/// An incident row, with what the notification texts need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub room_id: String,
    pub space_title: String,
    pub name: String,
    pub commander: String,
    pub commander_person_id: String,
    pub meeting_link: String,
    pub meeting_number: String,
    pub toll_number: String,
    pub ack_salt: String,
    pub started_at: OffsetDateTime,
    pub stopped_at: Option<OffsetDateTime>,
}

impl IncidentRow {
    pub fn summary(&self) -> IncidentSummary {
        IncidentSummary {
            id: self.id,
            name: self.name.clone(),
            space_title: self.space_title.clone(),
            commander: self.commander.clone(),
            started_at: self.started_at,
            stopped_at: self.stopped_at,
        }
    }
}

/// The acknowledgements of a new incident, made once its id is known (their tokens name it).
pub type AcksFor<'a> = &'a (dyn Fn(&IncidentRow) -> Vec<NewAck> + Send + Sync);

/// The timeline entry of a retry, by what the delivery was.
pub type RetryEvent<'a> = &'a (dyn Fn(DeliveryStatus) -> String + Send + Sync);

/// How an incident stops.
#[derive(Debug, Clone, Copy)]
pub struct Stop<'a> {
    pub incident_id: i64,
    pub room_id: &'a str,
    pub by: &'a str,
    /// The responders taken out of the space for it.
    pub unlinked: &'a [i64],
    pub event: &'a str,
}

/// The lifecycle's rows, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait LifecycleRepo: Send + Sync {
    async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError>;
    async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError>;
    async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError>;
    async fn history(&self, limit: i64) -> Result<Vec<IncidentRow>, StoreError>;
    async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError>;
    /// Records the incident, its acknowledgements, its first round of deliveries and the
    /// "started" entry, in one transaction; its id. A second open incident in the space fails
    /// with a unique violation.
    async fn start(&self, row: &IncidentRow, acks: AcksFor<'_>, items: &[NewDelivery], event: &str) -> Result<i64, StoreError>;
    /// A responder's acknowledgement (if new), a round of deliveries and the entry, in one transaction.
    async fn remind(&self, incident_id: i64, ack: &NewAck, round: i64, items: &[NewDelivery], event: &str) -> Result<(), StoreError>;
    /// Queues a failed or unknown delivery of a running incident again, with its entry, in one
    /// transaction; its incident and what it was, or `None` when it may not be resent.
    async fn retry(&self, delivery_id: i64, event: RetryEvent<'_>) -> Result<Option<(i64, DeliveryStatus)>, StoreError>;
    /// Stops the incident, unlinks those removed, cancels what was not sent, writes the entry
    /// and clears the space's incident name, in one transaction.
    async fn stop(&self, s: Stop<'_>) -> Result<(), StoreError>;
}

#[derive(Clone)]
pub struct LifecycleStore {
    repo: Arc<dyn LifecycleRepo>,
}

impl LifecycleStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn LifecycleRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteLifecycle(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgLifecycle(pool.clone())),
        };
        Self { repo }
    }

    pub async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        self.repo.open_incident(room_id).await
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        self.repo.incident(id).await
    }

    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        self.repo.open_incidents().await
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<IncidentSummary>, StoreError> {
        Ok(self.repo.history(limit).await?.iter().map(IncidentRow::summary).collect())
    }

    pub async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        self.repo.timeline(incident_id).await
    }

    pub async fn start(&self, row: &IncidentRow, acks: AcksFor<'_>, items: &[NewDelivery], event: &str) -> Result<i64, StoreError> {
        self.repo.start(row, acks, items, event).await
    }

    pub async fn remind(&self, incident_id: i64, ack: &NewAck, round: i64, items: &[NewDelivery], event: &str) -> Result<(), StoreError> {
        self.repo.remind(incident_id, ack, round, items, event).await
    }

    pub async fn retry(&self, delivery_id: i64, event: RetryEvent<'_>) -> Result<Option<(i64, DeliveryStatus)>, StoreError> {
        self.repo.retry(delivery_id, event).await
    }

    pub async fn stop(&self, s: Stop<'_>) -> Result<(), StoreError> {
        self.repo.stop(s).await
    }
}
