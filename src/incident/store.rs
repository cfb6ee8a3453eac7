//! The incident tables' SQL: responders and their spaces, the directory cache, incidents,
//! deliveries (the durable job), acknowledgements and the timeline.

use crate::model::incident::{
    AckAnswer, AckView, Channel, DeliveryStatus, DeliveryView, DirectoryPerson, ExternalResponder, IncidentSummary, ResponderView,
    TimelineEntry,
};
use crate::store::{now_text, time_text, Store, StoreError};
use time::OffsetDateTime;

#[derive(Clone)]
pub struct IncidentStore {
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

/// A member of a space as the service works with it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub responder_id: i64,
    pub person_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub sms_number: Option<String>,
    pub voice_number: Option<String>,
    pub membership_id: Option<String>,
    pub pre_existing: bool,
    pub send_sms: bool,
    pub send_voice: bool,
}

/// A delivery claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueDelivery {
    pub id: i64,
    pub incident_id: i64,
    pub responder_id: i64,
    pub responder_name: String,
    pub channel: String,
    pub address: String,
    pub attempts: i64,
}

/// What a new delivery is.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub responder_id: i64,
    pub responder_name: String,
    pub channel: Channel,
    pub address: String,
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

impl IncidentStore {
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    pub fn pool(&self) -> &sqlx::SqlitePool {
        self.store.pool()
    }

    pub async fn tx(&self) -> Result<Tx, StoreError> {
        Ok(self.store.write_tx().await?)
    }

    // --- directory ---

    pub async fn replace_directory(&self, people: &[DirectoryPerson]) -> Result<(), StoreError> {
        let now = now_text();
        let mut tx = self.tx().await?;
        for p in people {
            sqlx::query(
                "INSERT INTO webex_directory (person_id, display_name, email, sms_number, voice_number, refreshed_at) VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT(person_id) DO UPDATE SET display_name = excluded.display_name, email = excluded.email,
                   sms_number = excluded.sms_number, voice_number = excluded.voice_number, refreshed_at = excluded.refreshed_at",
            )
            .bind(&p.person_id)
            .bind(&p.display_name)
            .bind(&p.email)
            .bind(&p.sms_number)
            .bind(&p.voice_number)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        // People no longer in the org drop out of the cache.
        sqlx::query("DELETE FROM webex_directory WHERE refreshed_at <> ?").bind(&now).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn directory_state(&self) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        Ok(sqlx::query_as("SELECT COUNT(*), MAX(refreshed_at) FROM webex_directory").fetch_one(self.pool()).await?)
    }

    pub async fn search_directory(&self, q: &str, limit: i64) -> Result<Vec<DirectoryPerson>, StoreError> {
        let like = format!("%{}%", q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
        Ok(sqlx::query_as(
            "SELECT person_id, display_name, email, sms_number, voice_number FROM webex_directory
             WHERE display_name LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' ORDER BY display_name COLLATE NOCASE LIMIT ?2",
        )
        .bind(like)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn directory_person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError> {
        Ok(sqlx::query_as("SELECT person_id, display_name, email, sms_number, voice_number FROM webex_directory WHERE person_id = ?")
            .bind(person_id)
            .fetch_optional(self.pool())
            .await?)
    }

    // --- responders and spaces ---

    /// The responder id of a Webex person, created (or its name/numbers refreshed) as needed.
    pub async fn upsert_internal(&self, tx: &mut Tx, p: &DirectoryPerson) -> Result<i64, StoreError> {
        let now = now_text();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO responders (person_id, name, email, sms_number, voice_number, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(person_id) DO UPDATE SET name = excluded.name, email = excluded.email,
               sms_number = COALESCE(excluded.sms_number, responders.sms_number), voice_number = COALESCE(excluded.voice_number, responders.voice_number),
               updated_at = excluded.updated_at
             RETURNING id",
        )
        .bind(&p.person_id)
        .bind(&p.display_name)
        .bind(&p.email)
        .bind(&p.sms_number)
        .bind(&p.voice_number)
        .bind(&now)
        .bind(&now)
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

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

    /// Links a responder to a space (no change if already linked).
    #[allow(clippy::too_many_arguments)]
    pub async fn link(
        &self,
        tx: &mut Tx,
        room_id: &str,
        responder_id: i64,
        membership_id: Option<&str>,
        pre_existing: bool,
        send_sms: bool,
        send_voice: bool,
        by: &str,
    ) -> Result<bool, StoreError> {
        let r = sqlx::query(
            "INSERT INTO space_responders (room_id, responder_id, membership_id, pre_existing, send_sms, send_voice, added_by, added_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(room_id, responder_id) DO UPDATE SET membership_id = COALESCE(excluded.membership_id, space_responders.membership_id)",
        )
        .bind(room_id)
        .bind(responder_id)
        .bind(membership_id)
        .bind(pre_existing)
        .bind(send_sms)
        .bind(send_voice)
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

    pub async fn links(&self, room_id: &str) -> Result<Vec<LinkRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT r.id AS responder_id, r.person_id, r.name, r.email, r.sms_number, r.voice_number, s.membership_id, s.pre_existing, s.send_sms, s.send_voice
             FROM space_responders s JOIN responders r ON r.id = s.responder_id WHERE s.room_id = ? ORDER BY r.name COLLATE NOCASE",
        )
        .bind(room_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn link_row(&self, room_id: &str, responder_id: i64) -> Result<Option<LinkRow>, StoreError> {
        Ok(self.links(room_id).await?.into_iter().find(|l| l.responder_id == responder_id))
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

    pub async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, email, sms_number, voice_number FROM responders WHERE person_id IS NULL ORDER BY name COLLATE NOCASE",
        )
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn external(&self, id: i64) -> Result<Option<ExternalResponder>, StoreError> {
        Ok(self.externals().await?.into_iter().find(|e| e.id == id))
    }

    pub async fn insert_external(&self, e: &ExternalResponder) -> Result<i64, StoreError> {
        let now = now_text();
        Ok(sqlx::query_scalar(
            "INSERT INTO responders (person_id, name, email, sms_number, voice_number, created_at, updated_at) VALUES (NULL, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&e.name)
        .bind(&e.email)
        .bind(&e.sms_number)
        .bind(&e.voice_number)
        .bind(&now)
        .bind(&now)
        .fetch_one(self.pool())
        .await?)
    }

    pub async fn update_external(&self, e: &ExternalResponder) -> Result<bool, StoreError> {
        let mut tx = self.tx().await?;
        let r = sqlx::query("UPDATE responders SET name = ?, email = ?, sms_number = ?, voice_number = ?, updated_at = ? WHERE id = ? AND person_id IS NULL")
            .bind(&e.name)
            .bind(&e.email)
            .bind(&e.sms_number)
            .bind(&e.voice_number)
            .bind(now_text())
            .bind(e.id)
            .execute(&mut *tx)
            .await?;
        // A channel without a number cannot stay on.
        sqlx::query(
            "UPDATE space_responders SET send_sms = send_sms AND ? IS NOT NULL, send_voice = send_voice AND ? IS NOT NULL WHERE responder_id = ?",
        )
        .bind(&e.sms_number)
        .bind(&e.voice_number)
        .bind(e.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    pub async fn delete_external(&self, id: i64) -> Result<bool, StoreError> {
        let r = sqlx::query("DELETE FROM responders WHERE id = ? AND person_id IS NULL").bind(id).execute(self.pool()).await?;
        Ok(r.rows_affected() == 1)
    }

    // --- incidents ---

    pub async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE room_id = ? AND stopped_at IS NULL")
            .bind(room_id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE id = ?").bind(id).fetch_optional(self.pool()).await?)
    }

    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE stopped_at IS NULL").fetch_all(self.pool()).await?)
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<IncidentSummary>, StoreError> {
        let rows: Vec<IncidentRow> =
            sqlx::query_as("SELECT * FROM incidents ORDER BY id DESC LIMIT ?").bind(limit).fetch_all(self.pool()).await?;
        Ok(rows.iter().map(IncidentRow::summary).collect())
    }

    #[allow(clippy::too_many_arguments)]
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
        let now = now_text();
        sqlx::query("UPDATE incidents SET stopped_at = ?, stopped_by = ? WHERE id = ? AND stopped_at IS NULL")
            .bind(&now)
            .bind(by)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        sqlx::query("UPDATE incident_deliveries SET status = 'failed', reason = 'the incident was stopped before it went out', updated_at = ? WHERE incident_id = ? AND status = 'queued'")
            .bind(&now)
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn event(&self, tx: &mut Tx, incident_id: i64, kind: &str, detail: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO incident_events (incident_id, at, kind, detail) VALUES (?, ?, ?, ?)")
            .bind(incident_id)
            .bind(now_text())
            .bind(kind)
            .bind(detail)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn event_now(&self, incident_id: i64, kind: &str, detail: &str) -> Result<(), StoreError> {
        let mut tx = self.tx().await?;
        self.event(&mut tx, incident_id, kind, detail).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn timeline(&self, incident_id: i64) -> Result<Vec<TimelineEntry>, StoreError> {
        let rows: Vec<(OffsetDateTime, String, String)> =
            sqlx::query_as("SELECT at, kind, detail FROM incident_events WHERE incident_id = ? ORDER BY id")
                .bind(incident_id)
                .fetch_all(self.pool())
                .await?;
        Ok(rows.into_iter().map(|(at, kind, detail)| TimelineEntry { at, kind, detail }).collect())
    }

    // --- deliveries ---

    /// Queues deliveries of a round; returns how many were new.
    pub async fn enqueue(&self, tx: &mut Tx, incident_id: i64, round: i64, items: &[NewDelivery]) -> Result<u64, StoreError> {
        let now = now_text();
        let mut n = 0;
        for d in items {
            let r = sqlx::query(
                "INSERT OR IGNORE INTO incident_deliveries (incident_id, responder_id, responder_name, channel, address, round, status, due_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            )
            .bind(incident_id)
            .bind(d.responder_id)
            .bind(&d.responder_name)
            .bind(d.channel.as_str())
            .bind(&d.address)
            .bind(round)
            .bind(&now)
            .bind(&now)
            .execute(&mut **tx)
            .await?;
            n += r.rows_affected();
        }
        Ok(n)
    }

    pub async fn next_round(&self, incident_id: i64, responder_id: i64) -> Result<i64, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(round) FROM incident_deliveries WHERE incident_id = ? AND responder_id = ?")
            .bind(incident_id)
            .bind(responder_id)
            .fetch_one(self.pool())
            .await?;
        Ok(max.map_or(0, |m| m + 1))
    }

    /// Claims up to `limit` due deliveries (marks them sending, counting the attempt).
    pub async fn claim_due(&self, limit: i64) -> Result<Vec<DueDelivery>, StoreError> {
        let now = now_text();
        let mut tx = self.tx().await?;
        let rows: Vec<DueDelivery> = sqlx::query_as(
            "UPDATE incident_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = ?1
             WHERE id IN (SELECT id FROM incident_deliveries WHERE status = 'queued' AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2)
             RETURNING id, incident_id, responder_id, responder_name, channel, address, attempts",
        )
        .bind(&now)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// When the next queued delivery is due.
    pub async fn next_due(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(sqlx::query_scalar("SELECT MIN(due_at) FROM incident_deliveries WHERE status = 'queued'").fetch_one(self.pool()).await?)
    }

    /// Records a delivery's outcome and its timeline entry together, so a page that sees the
    /// outcome also sees it on the timeline (and a crash cannot keep one without the other).
    pub async fn finish_delivery(
        &self,
        d: &DueDelivery,
        status: DeliveryStatus,
        reason: Option<&str>,
        provider_id: Option<&str>,
        event: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.tx().await?;
        sqlx::query(
            "UPDATE incident_deliveries SET status = ?, reason = ?, provider_id = COALESCE(?, provider_id), updated_at = ? WHERE id = ?",
        )
        .bind(status.as_str())
        .bind(reason)
        .bind(provider_id)
        .bind(now_text())
        .bind(d.id)
        .execute(&mut *tx)
        .await?;
        self.event(&mut tx, d.incident_id, "delivery", event).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn requeue(&self, id: i64, due: OffsetDateTime, reason: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incident_deliveries SET status = 'queued', due_at = ?, reason = ?, updated_at = ? WHERE id = ? AND status = 'sending'",
        )
        .bind(time_text(due))
        .bind(reason)
        .bind(now_text())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A failed delivery queued again by hand; returns its incident.
    pub async fn retry_failed(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let now = now_text();
        Ok(sqlx::query_scalar(
            "UPDATE incident_deliveries SET status = 'queued', due_at = ?1, attempts = 0, reason = NULL, updated_at = ?1
             WHERE id = ?2 AND status = 'failed' AND incident_id IN (SELECT id FROM incidents WHERE stopped_at IS NULL) RETURNING incident_id",
        )
        .bind(&now)
        .bind(id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Deliveries caught mid-send by a restart: it is unknown whether they arrived, so they are
    /// not sent again by themselves (a person may retry them).
    pub async fn fail_interrupted(&self) -> Result<u64, StoreError> {
        let r = sqlx::query(
            "UPDATE incident_deliveries SET status = 'failed', reason = 'interrupted by a restart while sending; it may have arrived - retry if needed', updated_at = ? WHERE status = 'sending'",
        )
        .bind(now_text())
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected())
    }

    pub async fn deliveries(&self, incident_id: i64) -> Result<Vec<DeliveryView>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            responder_id: i64,
            responder_name: String,
            channel: String,
            address: String,
            round: i64,
            status: String,
            attempts: i64,
            reason: Option<String>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT id, responder_id, responder_name, channel, address, round, status, attempts, reason FROM incident_deliveries
             WHERE incident_id = ? ORDER BY responder_name COLLATE NOCASE, round, channel",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| DeliveryView {
                id: r.id,
                responder_id: r.responder_id,
                responder_name: r.responder_name,
                channel: Channel::parse(&r.channel).unwrap_or(Channel::Webex),
                address: r.address,
                round: r.round,
                status: DeliveryStatus::parse(&r.status),
                attempts: r.attempts,
                reason: r.reason,
            })
            .collect())
    }

    // --- acknowledgements ---

    pub async fn insert_ack(
        &self,
        tx: &mut Tx,
        incident_id: i64,
        responder_id: i64,
        name: &str,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT OR IGNORE INTO incident_acks (incident_id, responder_id, responder_name, token_hash) VALUES (?, ?, ?, ?)")
            .bind(incident_id)
            .bind(responder_id)
            .bind(name)
            .bind(token_hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// (incident id, responder id, responder name, answer) of a token hash.
    pub async fn ack_by_hash(&self, hash: &str) -> Result<Option<(i64, i64, String, Option<String>)>, StoreError> {
        Ok(sqlx::query_as("SELECT incident_id, responder_id, responder_name, answer FROM incident_acks WHERE token_hash = ?")
            .bind(hash)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn answer(&self, tx: &mut Tx, hash: &str, answer: AckAnswer) -> Result<(), StoreError> {
        sqlx::query("UPDATE incident_acks SET answer = ?, answered_at = ? WHERE token_hash = ?")
            .bind(answer.as_str())
            .bind(now_text())
            .bind(hash)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    pub async fn acks(&self, incident_id: i64) -> Result<Vec<AckView>, StoreError> {
        let rows: Vec<(i64, String, Option<String>, Option<OffsetDateTime>)> = sqlx::query_as(
            "SELECT responder_id, responder_name, answer, answered_at FROM incident_acks WHERE incident_id = ? ORDER BY responder_name COLLATE NOCASE",
        )
        .bind(incident_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(responder_id, responder_name, answer, answered_at)| AckView {
                responder_id,
                responder_name,
                answer: answer.as_deref().and_then(AckAnswer::parse),
                answered_at,
            })
            .collect())
    }
}

/// The page row of a linked responder.
pub fn responder_view(l: &LinkRow, commander_person_id: Option<&str>) -> ResponderView {
    ResponderView {
        id: l.responder_id,
        name: l.name.clone(),
        email: l.email.clone(),
        internal: l.person_id.is_some(),
        sms_number: l.sms_number.clone(),
        voice_number: l.voice_number.clone(),
        send_sms: l.send_sms && l.sms_number.is_some(),
        send_voice: l.send_voice && l.voice_number.is_some(),
        pre_existing: l.pre_existing,
        is_commander: l.person_id.is_some() && l.person_id.as_deref() == commander_person_id,
    }
}
