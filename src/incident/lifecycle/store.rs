//! The lifecycle's SQL: incidents (`incidents`: one open per space) and their timeline
//! (`incident_events`).

use crate::incident::Tx;
use crate::model::incident::{IncidentSummary, TimelineEntry, TimelineKind};
use crate::store::{now_text, time_text, Store, StoreError};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct LifecycleStore {
    store: Store,
}

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

impl LifecycleStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.store.pool()
    }

    pub async fn tx(&self) -> Result<Tx, StoreError> {
        Ok(self.store.write_tx().await?)
    }

    pub async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE room_id = ? AND stopped_at IS NULL")
            .bind(room_id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE id = ?").bind(id).fetch_optional(self.pool()).await?)
    }

    /// Whether the incident runs (inside the transaction that depends on it).
    pub async fn is_running(&self, tx: &mut Tx, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, i64>("SELECT id FROM incidents WHERE id = ? AND stopped_at IS NULL")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .is_some())
    }

    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE stopped_at IS NULL").fetch_all(self.pool()).await?)
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<IncidentSummary>, StoreError> {
        let rows: Vec<IncidentRow> =
            sqlx::query_as("SELECT * FROM incidents ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(IncidentRow::summary).collect())
    }

    pub async fn insert_incident(&self, tx: &mut Tx, i: &IncidentRow) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO incidents (room_id, space_title, name, commander, commander_person_id, meeting_link, meeting_number, toll_number, ack_salt, started_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&i.room_id)
        .bind(&i.space_title)
        .bind(&i.name)
        .bind(&i.commander)
        .bind(&i.commander_person_id)
        .bind(&i.meeting_link)
        .bind(&i.meeting_number)
        .bind(&i.toll_number)
        .bind(&i.ack_salt)
        .bind(time_text(i.started_at))
        .fetch_one(&mut **tx)
        .await?)
    }

    pub async fn stop_incident(&self, tx: &mut Tx, id: i64, by: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET stopped_at = ?, stopped_by = ? WHERE id = ? AND stopped_at IS NULL")
            .bind(now_text())
            .bind(by)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn event(&self, tx: &mut Tx, incident_id: i64, kind: TimelineKind, detail: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO incident_events (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)")
            .bind(incident_id)
            .bind(now_text())
            .bind(kind)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows: Vec<(OffsetDateTime, TimelineKind, String)> =
            sqlx::query_as("SELECT at, kind, detail FROM incident_events WHERE incident_id = ? ORDER BY id")
                .bind(incident_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(at, kind, detail)| TimelineEntry { at, kind, detail }).collect())
    }
}
