//! The deliveries on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, BOOLEAN flags. Several
//! instances send at once, so a claim locks the rows it takes (`FOR UPDATE SKIP LOCKED`) in the
//! transaction that marks them sending, and a finish only changes a row still sending. The
//! `pub(crate)` statements also run inside the lifecycle's transactions (start, remind, retry, stop).

use super::{DeliveryRepo, DueDelivery, Outcome};
use crate::incident::deliveries::NewDelivery;
use crate::incident::statements::postgres::event;
use crate::model::incident::{DeliveryStatus, DeliveryView, TimelineKind};
use crate::store::StoreError;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

pub(crate) struct PgDeliveries(pub(crate) PgPool);

/// Queues deliveries of a round; returns how many were new.
pub(crate) async fn enqueue(c: &mut PgConnection, incident_id: i64, round: i64, items: &[NewDelivery]) -> Result<u64, StoreError> {
    let now = OffsetDateTime::now_utc();
    let mut n = 0;
    for d in items {
        let r = sqlx::query(
            "INSERT INTO incident_deliveries (incident_id, responder_id, responder_name, channel, address, round, status, due_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) ON CONFLICT DO NOTHING",
        )
        .bind(incident_id)
        .bind(d.responder_id)
        .bind(&d.responder_name)
        .bind(d.channel)
        .bind(&d.address)
        .bind(round)
        .bind(DeliveryStatus::Queued)
        .bind(now)
        .execute(&mut *c)
        .await?;
        n += r.rows_affected();
    }
    Ok(n)
}

pub(crate) async fn incident_of(c: &mut PgConnection, id: i64) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar("SELECT incident_id FROM incident_deliveries WHERE id = $1").bind(id).fetch_optional(c).await?)
}

/// A failed or unknown delivery queued again by a person; what it was, or `None` if it was
/// neither. A failed one gets a new key (nothing of it was accepted); an unknown one keeps
/// its key, so Connect still recognises it if an earlier attempt did arrive. The row is locked
/// from reading its status to queueing it, so two people resending it queue it once.
pub(crate) async fn resend(c: &mut PgConnection, id: i64) -> Result<Option<DeliveryStatus>, StoreError> {
    let was: Option<DeliveryStatus> =
        sqlx::query_scalar("SELECT status FROM incident_deliveries WHERE id = $1 FOR UPDATE").bind(id).fetch_optional(&mut *c).await?;
    let Some(was) = was.filter(|w| matches!(w, DeliveryStatus::Failed | DeliveryStatus::Unknown)) else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE incident_deliveries SET status = 'queued', due_at = $1, attempts = 0, reason = NULL, updated_at = $1,
           send_key = CASE status WHEN 'failed' THEN replace(gen_random_uuid()::text, '-', '') ELSE send_key END,
           maybe_arrived = CASE status WHEN 'failed' THEN FALSE ELSE maybe_arrived END
         WHERE id = $2 AND status = $3",
    )
    .bind(OffsetDateTime::now_utc())
    .bind(id)
    .bind(was)
    .execute(c)
    .await?;
    Ok(Some(was))
}

/// The incident stopped: what has not gone out yet never will.
pub(crate) async fn cancel_queued(c: &mut PgConnection, incident_id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE incident_deliveries SET status = 'failed', reason = 'the incident was stopped before it went out', updated_at = $1 WHERE incident_id = $2 AND status = 'queued'")
        .bind(OffsetDateTime::now_utc())
        .bind(incident_id)
        .execute(c)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl DeliveryRepo for PgDeliveries {
    async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError> {
        let max: Option<i64> =
            sqlx::query_scalar("SELECT MAX(round) FROM incident_deliveries WHERE incident_id = $1 AND responder_id = $2")
                .bind(incident_id)
                .bind(responder_id)
                .fetch_one(&self.0)
                .await?;
        Ok(max.map_or(0, |m| m + 1))
    }

    async fn claim_due(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let now = OffsetDateTime::now_utc();
        let mut tx = self.0.begin().await?;
        // Rows another instance is claiming are skipped, not waited for: it takes them.
        let rows: Vec<DueDelivery> = sqlx::query_as(
            "WITH due AS (
               SELECT id FROM incident_deliveries WHERE status = 'queued' AND due_at <= $1 ORDER BY due_at, id LIMIT $2 FOR UPDATE SKIP LOCKED
             )
             UPDATE incident_deliveries d SET status = 'sending', attempts = d.attempts + 1, updated_at = $1
             FROM due WHERE d.id = due.id
             RETURNING d.id, d.incident_id, d.responder_id, d.responder_name, d.channel, d.address, d.attempts, d.send_key, d.maybe_arrived",
        )
        .bind(now)
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
        let mut tx = self.0.begin().await?;
        let r = sqlx::query(
            "UPDATE incident_deliveries SET status = $1, reason = $2, provider_id = COALESCE($3, provider_id), updated_at = $4
             WHERE id = $5 AND status = 'sending'",
        )
        .bind(o.status)
        .bind(o.reason)
        .bind(o.provider_id)
        .bind(OffsetDateTime::now_utc())
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        // No longer sending (an instance's restart declared it interrupted): the outcome and
        // its entry are not this sender's to write.
        if r.rows_affected() == 1 {
            event(&mut tx, d.incident_id, TimelineKind::Delivery, o.event).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn requeue(&self, id: i64, due: OffsetDateTime, reason: &str, maybe_arrived: bool) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incident_deliveries SET status = 'queued', due_at = $1, reason = $2, maybe_arrived = (maybe_arrived OR $3), updated_at = $4
             WHERE id = $5 AND status = 'sending'",
        )
        .bind(due)
        .bind(reason)
        .bind(maybe_arrived)
        .bind(OffsetDateTime::now_utc())
        .bind(id)
        .execute(&self.0)
        .await?;
        Ok(())
    }

    async fn fail_interrupted(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE incident_deliveries SET status = 'unknown', maybe_arrived = TRUE, reason = 'interrupted by a restart while sending; it may have arrived - resend if needed', updated_at = $1 WHERE status = 'sending'",
        )
        .bind(OffsetDateTime::now_utc())
        .execute(&self.0)
        .await?;
        Ok(r.rows_affected())
    }

    async fn views(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, responder_id, responder_name, channel, address, round, status, attempts, reason FROM incident_deliveries
             WHERE incident_id = $1 ORDER BY lower(responder_name), round, channel",
        )
        .bind(incident_id)
        .fetch_all(&self.0)
        .await?)
    }
}
