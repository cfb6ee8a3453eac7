//! Statements that more than one part's transaction runs on PostgreSQL: the timeline entry written
//! with the change it records, an internal responder upserted into the directory, channels kept
//! to the numbers a responder has. Below the parts: each part's postgres file uses these, none of these uses a part.

use crate::model::incident::{DirectoryPerson, TimelineKind};
use crate::store::StoreError;
use sqlx::PgConnection;
use time::OffsetDateTime;

/// A timeline entry, written with the change it records.
pub(crate) async fn event(c: &mut PgConnection, incident_id: i64, kind: TimelineKind, detail: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO incident_events (incident_id, at, kind, detail) VALUES ($1, $2, $3, $4)")
        .bind(incident_id)
        .bind(OffsetDateTime::now_utc())
        .bind(kind)
        .bind(detail)
        .execute(c)
        .await?;
    Ok(())
}

/// The responder id of a Webex person, created (or its name/numbers refreshed) as needed.
pub(crate) async fn upsert_internal(c: &mut PgConnection, p: &DirectoryPerson) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO responders (person_id, name, email, sms_number, voice_number, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)
         ON CONFLICT (person_id) DO UPDATE SET name = excluded.name, email = excluded.email,
           sms_number = COALESCE(excluded.sms_number, responders.sms_number), voice_number = COALESCE(excluded.voice_number, responders.voice_number),
           updated_at = excluded.updated_at
         RETURNING id",
    )
    .bind(&p.person_id)
    .bind(&p.display_name)
    .bind(&p.email)
    .bind(&p.sms_number)
    .bind(&p.voice_number)
    .bind(OffsetDateTime::now_utc())
    .fetch_one(c)
    .await?;
    Ok(id)
}

/// A channel without a number cannot stay on, in any space.
pub(crate) async fn keep_channels_with_numbers(c: &mut PgConnection, responder_id: i64, sms: bool, voice: bool) -> Result<(), StoreError> {
    sqlx::query("UPDATE space_responders SET send_sms = send_sms AND $1, send_voice = send_voice AND $2 WHERE responder_id = $3")
        .bind(sms)
        .bind(voice)
        .bind(responder_id)
        .execute(c)
        .await?;
    Ok(())
}
