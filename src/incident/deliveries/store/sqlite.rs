//! The deliveries on SQLite: the SQL they always had. SQLite has one writer at a time, so a
//! claim (one `UPDATE … RETURNING` in a write transaction) cannot race another. The
//! `pub(crate)` statements also run inside the lifecycle's transactions (start, remind, retry, stop).

use super::{DeliveryRepo, DueDelivery, Outcome};
use crate::incident::deliveries::NewDelivery;
use crate::incident::statements::sqlite::event;
use crate::model::incident::{DeliveryStatus, DeliveryView, TimelineKind};
use crate::store::{now_text, time_text, StoreError};
use sqlx::{SqliteConnection, SqlitePool};
use time::OffsetDateTime;

pub(crate) struct SqliteDeliveries(pub(crate) SqlitePool);

/// Queues deliveries of a round; returns how many were new.
pub(crate) async fn enqueue(c: &mut SqliteConnection, incident_id: i64, round: i64, items: &[NewDelivery]) -> Result<u64, StoreError> {
    let now = now_text();
    let mut n = 0;
    for d in items {
        let r = sqlx::query(
            "INSERT OR IGNORE INTO incident_deliveries (incident_id, responder_id, responder_name, channel, address, round, status, due_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(incident_id)
        .bind(d.responder_id)
        .bind(&d.responder_name)
        .bind(d.channel)
        .bind(&d.address)
        .bind(round)
        .bind(DeliveryStatus::Queued)
        .bind(&now)
        .bind(&now)
        .execute(&mut *c)
        .await?;
        n += r.rows_affected();
    }
    Ok(n)
}

pub(crate) async fn incident_of(c: &mut SqliteConnection, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT incident_id FROM incident_deliveries WHERE id = ?").bind(id).fetch_optional(c).await?)
}

/// A failed or unknown delivery queued again by a person; what it was, or `None` if it was
/// neither. A failed one gets a new key (nothing of it was accepted); an unknown one keeps
/// its key, so Connect still recognises it if an earlier attempt did arrive.
pub(crate) async fn resend(c: &mut SqliteConnection, id: i64) -> Result<Option<DeliveryStatus>, StoreError> {
    let was: Option<DeliveryStatus> =
        sqlx::query_scalar("SELECT status FROM incident_deliveries WHERE id = ?").bind(id).fetch_optional(&mut *c).await?;
    let Some(was) = was.filter(|w| matches!(w, DeliveryStatus::Failed | DeliveryStatus::Unknown)) else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE incident_deliveries SET status = 'queued', due_at = ?1, attempts = 0, reason = NULL, updated_at = ?1,
           send_key = CASE status WHEN 'failed' THEN lower(hex(randomblob(16))) ELSE send_key END,
           maybe_arrived = CASE status WHEN 'failed' THEN 0 ELSE maybe_arrived END
         WHERE id = ?2 AND status = ?3",
    )
    .bind(now_text())
    .bind(id)
    .bind(was)
    .execute(c)
    .await?;
    Ok(Some(was))
}

/// The incident stopped: what has not gone out yet never will.
pub(crate) async fn cancel_queued(c: &mut SqliteConnection, incident_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE incident_deliveries SET status = 'failed', reason = 'the incident was stopped before it went out', updated_at = ? WHERE incident_id = ? AND status = 'queued'")
        .bind(now_text())
        .bind(incident_id)
        .execute(c)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl DeliveryRepo for SqliteDeliveries {
    async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(round) FROM incident_deliveries WHERE incident_id = ? AND responder_id = ?")
            .bind(incident_id)
            .bind(responder_id)
            .fetch_one(&self.0)
            .await?;
        Ok(max.map_or(0, |m| m + 1))
    }

    async fn claim_due(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let now = now_text();
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        let rows: Vec<DueDelivery> = sqlx::query_as(
            "UPDATE incident_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?1
             WHERE id IN (SELECT id FROM incident_deliveries WHERE status = 'queued' AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2)
             RETURNING id, incident_id, responder_id, responder_name, channel, address, attempts, send_key, maybe_arrived",
        )
        .bind(&now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MIN(due_at) FROM incident_deliveries WHERE status = 'queued'").fetch_one(&self.0).await?)
    }

    async fn finish(&self, d: &DueDelivery, o: Outcome<'_>) -> Result<(), StoreError> {
        let mut tx = self.0.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE incident_deliveries SET status = ?, reason = ?, provider_id = COALESCE(?, provider_id), updated_at = ? WHERE id = ?",
        )
        .bind(o.status)
        .bind(o.reason)
        .bind(o.provider_id)
        .bind(now_text())
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        event(&mut tx, d.incident_id, TimelineKind::Delivery, o.event).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn requeue(&self, id: i64, due: OffsetDateTime, reason: &str, maybe_arrived: bool) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incident_deliveries SET status = 'queued', due_at = ?, reason = ?, maybe_arrived = (maybe_arrived OR ?), updated_at = ?
             WHERE id = ? AND status = 'sending'",
        )
        .bind(time_text(due))
        .bind(reason)
        .bind(maybe_arrived)
        .bind(now_text())
        .bind(id)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn fail_interrupted(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE incident_deliveries SET status = 'unknown', maybe_arrived = 1, reason = 'interrupted by a restart while sending; it may have arrived - resend if needed', updated_at = ? WHERE status = 'sending'",
        )
        .bind(now_text())
        .execute(&self.0)
        .await?;
        Ok(r.rows_affected())
    }

    async fn views(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, responder_id, responder_name, channel, address, round, status, attempts, reason FROM incident_deliveries
             WHERE incident_id = ? ORDER BY responder_name COLLATE NOCASE, round, channel",
        )
        .bind(incident_id)
        .fetch_all(&self.0)
        .await?)
    }
}
