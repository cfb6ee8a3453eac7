//! The lifecycle on SQLite: the SQL it always had, each step in one write transaction
//! (`BEGIN IMMEDIATE`: it takes the write lock at once). `event` also runs inside the
//! deliveries' and acknowledgements' transactions.

use super::{AcksFor, IncidentRow, LifecycleRepo, RetryEvent, Stop};
use crate::incident::acknowledgements::store::{sqlite::insert_ack, NewAck};
use crate::incident::deliveries::store::sqlite as deliveries;
use crate::incident::deliveries::NewDelivery;
use crate::incident::spaces::store::sqlite as spaces;
use crate::incident::statements::sqlite::event;
use crate::model::incident::{DeliveryStatus, TimelineEntry, TimelineKind};
use crate::store::{now_text, time_text, StoreError};
use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

pub(crate) struct SqliteLifecycle(pub(crate) SqlitePool);

async fn insert_incident(c: &mut SqliteConnection, i: &IncidentRow) -> Result<i64, StoreError> {
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
    .fetch_one(c)
    .await?)
}

async fn is_running(c: &mut SqliteConnection, id: i64) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT id FROM incidents WHERE id = ? AND stopped_at IS NULL")
        .bind(id)
        .fetch_optional(c)
        .await?
        .is_some())
}

#[async_trait::async_trait]
impl LifecycleRepo for SqliteLifecycle {
    async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE room_id = ? AND stopped_at IS NULL").bind(room_id).fetch_optional(&self.0).await?)
    }

    async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE id = ?").bind(id).fetch_optional(&self.0).await?)
    }

    async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE stopped_at IS NULL").fetch_all(&self.0).await?)
    }

    async fn history(&self, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(&self.0).await?)
    }

    async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows: Vec<(OffsetDateTime, TimelineKind, String)> =
            sqlx::query_as("SELECT at, kind, detail FROM incident_events WHERE incident_id = ? ORDER BY id")
                .bind(incident_id)
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(|(at, kind, detail)| TimelineEntry { at, kind, detail }).collect())
    }

    async fn start(&self, row: &IncidentRow, acks: AcksFor<'_>, items: &[NewDelivery], detail: &str) -> Result<i64, StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let id = insert_incident(&mut tx, row).await?;
        let started = IncidentRow { id, ..row.clone() };
        for a in acks(&started) {
            insert_ack(&mut tx, id, &a).await?;
        }
        deliveries::enqueue(&mut tx, id, 0, items).await?;
        event(&mut tx, id, TimelineKind::Started, detail).await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn remind(&self, incident_id: i64, ack: &NewAck, round: i64, items: &[NewDelivery], detail: &str) -> Result<(), StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        insert_ack(&mut tx, incident_id, ack).await?;
        deliveries::enqueue(&mut tx, incident_id, round, items).await?;
        event(&mut tx, incident_id, TimelineKind::Reminder, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retry(&self, delivery_id: i64, entry: RetryEvent<'_>) -> Result<Option<(i64, DeliveryStatus)>, StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let Some(incident) = deliveries::incident_of(&mut tx, delivery_id).await? else { return Ok(None) };
        if !is_running(&mut tx, incident).await? {
            return Ok(None);
        }
        let Some(was) = deliveries::resend(&mut tx, delivery_id).await? else { return Ok(None) };
        event(&mut tx, incident, TimelineKind::Retry, &entry(was)).await?;
        tx.commit().await?;
        Ok(Some((incident, was)))
    }

    async fn stop(&self, s: Stop<'_>) -> Result<(), StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        for rid in s.unlinked {
            spaces::unlink(&mut tx, s.room_id, *rid).await?;
        }
        sqlx::query("UPDATE incidents SET stopped_at = ?, stopped_by = ? WHERE id = ? AND stopped_at IS NULL")
            .bind(now_text())
            .bind(s.by)
            .bind(s.incident_id)
            .execute(&mut *tx)
            .await?;
        deliveries::cancel_queued(&mut tx, s.incident_id).await?;
        event(&mut tx, s.incident_id, TimelineKind::Stopped, s.event).await?;
        spaces::clear_incident_name(&mut tx, s.room_id).await?;
        tx.commit().await?;
        Ok(())
    }
}
