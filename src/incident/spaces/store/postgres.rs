//! The spaces on PostgreSQL: `$n` placeholders, TIMESTAMPTZ times, BOOLEAN flags. The
//! `pub(crate)` statements also run inside other parts' transactions (a stop, an external's update).

use super::{MemberRow, NewLink, SpacesRepo, SyncedMember};
use crate::incident::statements::postgres::upsert_internal;
use crate::model::incident::{Channel, DirectoryPerson};
use crate::store::StoreError;
use sqlx::{PgConnection, PgPool};
use time::OffsetDateTime;

pub(crate) struct PgSpaces(pub(crate) PgPool);

/// Records the space as synced now; true when it had never been synced.
async fn ensure_space(c: &mut PgConnection, room_id: &str, title: &str) -> Result<bool, StoreError> {
    let first: bool = sqlx::query_scalar("SELECT synced_at IS NULL FROM response_spaces WHERE room_id = $1")
        .bind(room_id)
        .fetch_optional(&mut *c)
        .await?
        .unwrap_or(true);
    sqlx::query(
        "INSERT INTO response_spaces (room_id, title, synced_at) VALUES ($1, $2, $3)
         ON CONFLICT (room_id) DO UPDATE SET title = excluded.title, synced_at = excluded.synced_at",
    )
    .bind(room_id)
    .bind(title)
    .bind(OffsetDateTime::now_utc())
    .execute(c)
    .await?;
    Ok(first)
}

pub(crate) async fn clear_incident_name(c: &mut PgConnection, room_id: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE response_spaces SET incident_name = '' WHERE room_id = $1").bind(room_id).execute(c).await?;
    Ok(())
}

async fn link(c: &mut PgConnection, room_id: &str, responder_id: i64, l: NewLink<'_>, by: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO space_responders (room_id, responder_id, membership_id, pre_existing, send_sms, send_voice, added_by, added_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (room_id, responder_id) DO UPDATE SET membership_id = COALESCE(excluded.membership_id, space_responders.membership_id)",
    )
    .bind(room_id)
    .bind(responder_id)
    .bind(l.membership_id)
    .bind(l.pre_existing)
    .bind(l.send_sms)
    .bind(l.send_voice)
    .bind(by)
    .bind(OffsetDateTime::now_utc())
    .execute(c)
    .await?;
    Ok(())
}

pub(crate) async fn unlink(c: &mut PgConnection, room_id: &str, responder_id: i64) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM space_responders WHERE room_id = $1 AND responder_id = $2")
        .bind(room_id)
        .bind(responder_id)
        .execute(c)
        .await?;
    Ok(())
}

#[async_trait::async_trait]
impl SpacesRepo for PgSpaces {
    async fn space_title(&self, room_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT title, incident_name FROM response_spaces WHERE room_id = $1")
            .bind(room_id)
            .fetch_optional(&self.0)
            .await?)
    }

    async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE response_spaces SET incident_name = $1 WHERE room_id = $2")
            .bind(name)
            .bind(room_id)
            .execute(&self.0)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn members(&self, room_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT responder_id, membership_id, pre_existing, send_sms, send_voice FROM space_responders WHERE room_id = $1",
        )
        .bind(room_id)
        .fetch_all(&self.0)
        .await?)
    }

    async fn set_channel(&self, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), StoreError> {
        let sql = match channel {
            Channel::Sms => "UPDATE space_responders SET send_sms = $1 WHERE room_id = $2 AND responder_id = $3",
            Channel::Voice => "UPDATE space_responders SET send_voice = $1 WHERE room_id = $2 AND responder_id = $3",
            Channel::Webex => return Ok(()),
        };
        sqlx::query(sql).bind(on).bind(room_id).bind(responder_id).execute(&self.0).await?;
        Ok(())
    }

    async fn sync_space(&self, room_id: &str, title: &str, members: &[SyncedMember], gone: &[i64], by: &str) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        let first = ensure_space(&mut tx, room_id, title).await?;
        for m in members {
            let rid = upsert_internal(&mut tx, &m.person).await?;
            let pre_existing = if first { m.pre_existing_if_first } else { m.pre_existing_otherwise };
            link(&mut tx, room_id, rid, NewLink { membership_id: Some(&m.membership_id), pre_existing, ..Default::default() }, by).await?;
        }
        for rid in gone {
            unlink(&mut tx, room_id, *rid).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn add_internal(&self, room_id: &str, person: &DirectoryPerson, l: NewLink<'_>, by: &str) -> Result<(), StoreError> {
        let mut tx = self.0.begin().await?;
        let rid = upsert_internal(&mut tx, person).await?;
        link(&mut tx, room_id, rid, l, by).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn link(&self, room_id: &str, responder_id: i64, l: NewLink<'_>, by: &str) -> Result<(), StoreError> {
        link(&mut *self.0.acquire().await?, room_id, responder_id, l, by).await
    }

    async fn unlink(&self, room_id: &str, responder_id: i64) -> Result<(), StoreError> {
        unlink(&mut *self.0.acquire().await?, room_id, responder_id).await
    }
}
