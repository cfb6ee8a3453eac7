//! The lifecycle on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, each step in one
//! transaction. A retry holds the incident row (`FOR SHARE`) while it queues the delivery, so a
//! stop on another instance either comes first (and the retry is refused) or waits and then
//! cancels it. `event` also runs inside the deliveries' and acknowledgements' transactions.

use super::{AcksFor, IncidentRow, LifecycleRepo, RetryEvent, Stop};
use crate::incident::acknowledgements::store::{postgres::insert_ack, NewAck};
use crate::incident::deliveries::store::postgres as deliveries;
use crate::incident::deliveries::NewDelivery;
use crate::incident::spaces::store::postgres as spaces;
use crate::incident::statements::postgres::event;
use crate::model::incident::{DeliveryStatus, TimelineEntry, TimelineKind};
use crate::store::StoreError;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

pub(crate) struct PgLifecycle(pub(crate) PgPool);

/// The columns of [`IncidentRow`] (the table has more: `stopped_by`).
const INCIDENT: &str = "SELECT id, room_id, space_title, name, commander, commander_person_id, meeting_link, meeting_number, toll_number, ack_salt, started_at, stopped_at FROM incidents";

async fn insert_incident(c: &mut PgConnection, i: &IncidentRow) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "INSERT INTO incidents (room_id, space_title, name, commander, commander_person_id, meeting_link, meeting_number, toll_number, ack_salt, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
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
    .bind(i.started_at)
    .fetch_one(c)
    .await?)
}

#[async_trait::async_trait]
impl LifecycleRepo for PgLifecycle {
    async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{INCIDENT} WHERE room_id = $1 AND stopped_at IS NULL")).bind(room_id).fetch_optional(&self.0).await?)
    }

    async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{INCIDENT} WHERE id = $1")).bind(id).fetch_optional(&self.0).await?)
    }

    async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{INCIDENT} WHERE stopped_at IS NULL")).fetch_all(&self.0).await?)
    }

    async fn history(&self, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as(&format!("{INCIDENT} ORDER BY id DESC LIMIT $1")).bind(limit).fetch_all(&self.0).await?)
    }

    async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows: Vec<(OffsetDateTime, TimelineKind, String)> =
            sqlx::query_as("SELECT at, kind, detail FROM incident_events WHERE incident_id = $1 ORDER BY id")
                .bind(incident_id)
                .fetch_all(&self.0)
                .await?;
        Ok(rows.into_iter().map(|(at, kind, detail)| TimelineEntry { at, kind, detail }).collect())
    }

    async fn start(&self, row: &IncidentRow, acks: AcksFor<'_>, items: &[NewDelivery], detail: &str) -> Result<i64, StoreError> {
        let mut tx = self.0.begin().await?;
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
        let mut tx = self.0.begin().await?;
        insert_ack(&mut tx, incident_id, ack).await?;
        deliveries::enqueue(&mut tx, incident_id, round, items).await?;
        event(&mut tx, incident_id, TimelineKind::Reminder, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retry(&self, delivery_id: i64, entry: RetryEvent<'_>) -> Result<Option<(i64, DeliveryStatus)>, StoreError> {
        let mut tx = self.0.begin().await?;
        let Some(incident) = deliveries::incident_of(&mut tx, delivery_id).await? else { return Ok(None) };
        let running = sqlx::query_scalar::<_, i64>("SELECT id FROM incidents WHERE id = $1 AND stopped_at IS NULL FOR SHARE")
            .bind(incident)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        if !running {
            return Ok(None);
        }
        let Some(was) = deliveries::resend(&mut tx, delivery_id).await? else { return Ok(None) };
        event(&mut tx, incident, TimelineKind::Retry, &entry(was)).await?;
        tx.commit().await?;
        Ok(Some((incident, was)))
    }

    async fn stop(&self, s: Stop<'_>) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        for rid in s.unlinked {
            spaces::unlink(&mut tx, s.room_id, *rid).await?;
        }
        sqlx::query("UPDATE incidents SET stopped_at = $1, stopped_by = $2 WHERE id = $3 AND stopped_at IS NULL")
            .bind(OffsetDateTime::now_utc())
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
