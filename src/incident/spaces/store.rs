//! The spaces' SQL: the response spaces opened here (`response_spaces`) and who responds in
//! each (`space_responders`: membership, pre-existing or added, SMS / voice on or off).

use crate::incident::Tx;
use crate::model::incident::{Channel, SpaceChoice};
use crate::store::{now_text, Store, StoreError};

/// Where the responders' space chosen on the page is kept (a setting: its room id and title).
const RESPONDERS_SPACE_KEY: &str = "incident.responders_space";

#[derive(Clone)]
pub struct SpacesStore {
    store: Store,
}

/// A responder's place in a space.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub responder_id: i64,
    pub membership_id: Option<String>,
    pub pre_existing: bool,
    pub send_sms: bool,
    pub send_voice: bool,
}

/// How a responder joins a space.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewLink<'a> {
    pub membership_id: Option<&'a str>,
    pub pre_existing: bool,
    pub send_sms: bool,
    pub send_voice: bool,
}

impl SpacesStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.store.pool()
    }

    /// Records the space as synced now; true when it had never been synced.
    pub async fn ensure_space(&self, tx: &mut Tx, room_id: &str, title: &str) -> Result<bool, StoreError> {
        let first: bool = sqlx::query_scalar("SELECT synced_at IS NULL FROM response_spaces WHERE room_id = ?")
            .bind(room_id)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or(true);
        sqlx::query(
            "INSERT INTO response_spaces (room_id, title, synced_at) VALUES (?, ?, ?)
             ON CONFLICT(room_id) DO UPDATE SET title = excluded.title, synced_at = excluded.synced_at",
        )
        .bind(room_id)
        .bind(title)
        .bind(now_text())
        .execute(&mut **tx)
        .await?;
        Ok(first)
    }

    /// The responders' space an admin chose, if one did.
    pub async fn responders_space(&self) -> Result<Option<SpaceChoice>, StoreError> {
        self.store.setting(RESPONDERS_SPACE_KEY).await
    }

    pub async fn set_responders_space(&self, choice: &SpaceChoice, by: &str) -> Result<(), StoreError> {
        self.store.put_setting(RESPONDERS_SPACE_KEY, choice, by).await
    }

    pub async fn space_title(&self, room_id: &str) -> Result<Option<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT title, incident_name FROM response_spaces WHERE room_id = ?")
            .bind(room_id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<bool, StoreError> {
        let r = sqlx::query("UPDATE response_spaces SET incident_name = ? WHERE room_id = ?")
            .bind(name)
            .bind(room_id)
            .execute(self.pool())
            .await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn clear_incident_name(&self, tx: &mut Tx, room_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE response_spaces SET incident_name = '' WHERE room_id = ?").bind(room_id).execute(&mut **tx).await?;
        Ok(())
    }

    /// Links a responder to a space (if already linked, only a new membership id is kept).
    pub async fn link(&self, tx: &mut Tx, room_id: &str, responder_id: i64, l: NewLink<'_>, by: &str) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO space_responders (room_id, responder_id, membership_id, pre_existing, send_sms, send_voice, added_by, added_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(room_id, responder_id) DO UPDATE SET membership_id = COALESCE(excluded.membership_id, space_responders.membership_id)",
        )
        .bind(room_id)
        .bind(responder_id)
        .bind(l.membership_id)
        .bind(l.pre_existing)
        .bind(l.send_sms)
        .bind(l.send_voice)
        .bind(by)
        .bind(now_text())
        .execute(&mut **tx)
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn unlink(&self, tx: &mut Tx, room_id: &str, responder_id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM space_responders WHERE room_id = ? AND responder_id = ?")
            .bind(room_id)
            .bind(responder_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn members(&self, room_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        Ok(sqlx::query_as("SELECT responder_id, membership_id, pre_existing, send_sms, send_voice FROM space_responders WHERE room_id = ?")
            .bind(room_id)
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn set_channel(&self, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), StoreError> {
        let sql = match channel {
            Channel::Sms => "UPDATE space_responders SET send_sms = ? WHERE room_id = ? AND responder_id = ?",
            Channel::Voice => "UPDATE space_responders SET send_voice = ? WHERE room_id = ? AND responder_id = ?",
            Channel::Webex => return Ok(()),
        };
        sqlx::query(sql).bind(on).bind(room_id).bind(responder_id).execute(self.pool()).await?;
        Ok(())
    }

    /// A channel without a number cannot stay on, in any space.
    pub async fn keep_channels_with_numbers(&self, tx: &mut Tx, responder_id: i64, sms: bool, voice: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE space_responders SET send_sms = send_sms AND ?, send_voice = send_voice AND ? WHERE responder_id = ?")
            .bind(sms)
            .bind(voice)
            .bind(responder_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}
