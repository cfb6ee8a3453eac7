//! `IncidentService`: everything the incident pages do, with its audit. The org grant's token
//! reads the directory, lists rooms and manages memberships; the commander's own token (from
//! their Webex sign-in) reads the meeting details and sends the 1:1 messages, so they come
//! from the commander.

use super::outbox::Outbox;
use super::phone::{self, PhoneError};
use super::store::{responder_view, IncidentRow, IncidentStore, LinkRow, NewDelivery};
use super::templates;
use crate::model::incident::{
    AckAnswer, Channel, DirectoryPerson, IncidentTemplates, IncidentView, IncidentsHome, SpacePage, SpaceSummary,
};
use crate::model::AuditAction;
use crate::store::{AuditLog, AuditRecord, AuditResult, Store, StoreError};
use crate::webex::grant::GrantError;
use crate::webex::{ApiError, ConnectApi, OrgGrant, Room, WebexApi};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::broadcast;

pub const TEMPLATES_KEY: &str = "incident.templates";

/// Retries of calls a person waits for: a few, honouring `Retry-After` up to 5 s.
pub(super) fn quick() -> crate::webex::Retry {
    crate::webex::Retry { attempts: 4, min_delay: Duration::from_millis(200), max_delay: Duration::from_secs(5) }
}

/// Settings of the incident rooms (`[webex]` and `[connect]` in the configuration).
#[derive(Debug, Clone)]
pub struct IncidentConfig {
    pub space_prefix: String,
    pub responders_space: String,
    /// Which Webex `phoneNumbers[].type` internal responders are texted / called on.
    pub sms_phone_type: String,
    pub voice_phone_type: String,
    pub default_region: Option<phonenumber::country::Id>,
    pub sms_from: String,
    pub voice_from: String,
    /// Where responders open their acknowledgement links (`https://switchboard.example.com`).
    pub public_url: String,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Attempts of one delivery before it is given up as failed.
    pub max_attempts: i64,
    pub voice: crate::webex::connect::Voice,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            space_prefix: "Response".into(),
            responders_space: "Incident_Responders_Members".into(),
            sms_phone_type: "mobile".into(),
            voice_phone_type: "mobile".into(),
            default_region: phone::region("US"),
            sms_from: String::new(),
            voice_from: String::new(),
            public_url: "http://127.0.0.1:3000".into(),
            concurrency: 32,
            max_attempts: 8,
            voice: Default::default(),
        }
    }
}

/// The person running incidents: a Webex user signed in to Switchboard.
#[derive(Debug, Clone)]
pub struct Commander {
    pub person_id: String,
    pub name: String,
    pub email: String,
    /// Their Webex access token (from the session).
    pub token: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("Webex is not configured on this Switchboard.")]
    NotConfigured,
    #[error("Only people signed in with Webex can run incidents; sign out and use \"Sign in with Webex\".")]
    NotWebexUser,
    #[error("Only members of the Webex space \"{0}\" may run incidents.")]
    NotResponder(String),
    #[error("That is not a response space (its title must start with \"{0}\", and the connected admin must be in it).")]
    NotResponseSpace(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error("Webex: {0}")]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IncidentError {
    fn from(e: sqlx::Error) -> Self {
        IncidentError::Store(e.into())
    }
}

impl From<PhoneError> for IncidentError {
    fn from(e: PhoneError) -> Self {
        IncidentError::Invalid(e.to_string())
    }
}

/// An external responder as typed in the form.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExternalForm {
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub voice: String,
}

/// What an acknowledgement link shows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AckPage {
    pub incident_name: String,
    pub responder_name: String,
    pub over: bool,
    pub answer: Option<AckAnswer>,
    pub meeting_link: String,
}

pub struct IncidentService {
    pub(super) db: IncidentStore,
    store: Store,
    pub(super) audit: AuditLog,
    pub(super) grant: Arc<OrgGrant>,
    pub(super) api: WebexApi,
    pub(super) connect: Option<ConnectApi>,
    pub(super) cfg: IncidentConfig,
    ack_key: [u8; 32],
    pub(super) events: broadcast::Sender<i64>,
    pub(super) outbox: Outbox,
    rooms_cache: tokio::sync::Mutex<Option<(Instant, Vec<Room>)>>,
    /// Wakes the directory worker (a new grant: load the directory now).
    pub(super) directory_wake: tokio::sync::Notify,
    /// Who is in the responders space (checked on every commander action; a minute old at most).
    responders_cache: tokio::sync::Mutex<Option<(Instant, Vec<String>)>>,
}

impl IncidentService {
    pub fn new(
        store: Store,
        audit: AuditLog,
        grant: Arc<OrgGrant>,
        api: WebexApi,
        connect: Option<ConnectApi>,
        cfg: IncidentConfig,
        ack_key: [u8; 32],
    ) -> Self {
        Self {
            db: IncidentStore::new(store.clone()),
            store,
            audit,
            grant,
            api,
            connect,
            cfg,
            ack_key,
            events: broadcast::channel(256).0,
            outbox: Outbox::default(),
            rooms_cache: tokio::sync::Mutex::new(None),
            directory_wake: tokio::sync::Notify::new(),
            responders_cache: tokio::sync::Mutex::new(None),
        }
    }

    pub fn grant(&self) -> &OrgGrant {
        &self.grant
    }

    /// Keeps a new org grant and has the directory loaded at once.
    pub async fn connect_org(&self, tokens: crate::webex::TokenSet, by: &str) -> Result<crate::model::incident::GrantStatus, GrantError> {
        let status = self.grant.store_grant(tokens, by).await?;
        *self.rooms_cache.lock().await = None;
        *self.responders_cache.lock().await = None;
        self.directory_wake.notify_one();
        Ok(status)
    }

    pub fn grant_handle(&self) -> Arc<OrgGrant> {
        self.grant.clone()
    }

    /// Incident ids that changed (deliveries, acks, stop), for live pages.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.events.subscribe()
    }

    pub(super) fn changed(&self, incident_id: i64) {
        let _ = self.events.send(incident_id);
    }

    pub fn sms_enabled(&self) -> bool {
        self.connect.is_some() && !self.cfg.sms_from.is_empty()
    }
    pub fn voice_enabled(&self) -> bool {
        self.connect.is_some() && !self.cfg.voice_from.is_empty()
    }

    // --- templates ---

    pub async fn templates(&self) -> Result<IncidentTemplates, StoreError> {
        Ok(self.store.setting::<IncidentTemplates>(TEMPLATES_KEY).await?.unwrap_or_default())
    }

    pub async fn save_templates(&self, t: IncidentTemplates, by: &str) -> Result<templates::Rendered, IncidentError> {
        let preview = templates::validate(&t).map_err(|e| IncidentError::Invalid(e.to_string()))?;
        self.store.put_setting(TEMPLATES_KEY, &t, by).await?;
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentTemplates, AuditResult::Ok)).await;
        Ok(preview)
    }

    // --- rooms and access ---

    async fn org_rooms(&self, fresh: bool) -> Result<Vec<Room>, IncidentError> {
        let mut cache = self.rooms_cache.lock().await;
        if let Some((at, rooms)) = cache.as_ref() {
            if !fresh && at.elapsed() < Duration::from_secs(60) {
                return Ok(rooms.clone());
            }
        }
        let token = self.grant.access_token().await?;
        let rooms = self.api.group_rooms(&token, &crate::webex::Retry::default()).await?;
        *cache = Some((Instant::now(), rooms.clone()));
        Ok(rooms)
    }

    /// Refuses people who are not members of the responders space.
    pub async fn check_responder(&self, person_id: &str) -> Result<(), IncidentError> {
        let rooms = self.org_rooms(false).await?;
        let Some(room) = rooms.iter().find(|r| r.title == self.cfg.responders_space) else {
            return Err(IncidentError::NotResponder(self.cfg.responders_space.clone()));
        };
        let mut cache = self.responders_cache.lock().await;
        let fresh = cache.as_ref().is_some_and(|(at, _)| at.elapsed() < Duration::from_secs(60));
        if !fresh {
            let token = self.grant.access_token().await?;
            let members = self.api.memberships(&token, &room.id, &crate::webex::Retry::default()).await?;
            *cache = Some((Instant::now(), members.into_iter().map(|m| m.person_id).collect()));
        }
        if cache.as_ref().is_some_and(|(_, ids)| ids.iter().any(|id| id == person_id)) {
            Ok(())
        } else {
            Err(IncidentError::NotResponder(self.cfg.responders_space.clone()))
        }
    }

    pub(super) async fn response_room(&self, room_id: &str) -> Result<Room, IncidentError> {
        let rooms = self.org_rooms(false).await?;
        rooms
            .into_iter()
            .find(|r| r.id == room_id && r.title.starts_with(&self.cfg.space_prefix))
            .ok_or_else(|| IncidentError::NotResponseSpace(self.cfg.space_prefix.clone()))
    }

    pub async fn home(&self, commander: Option<&Commander>, configured: bool) -> Result<IncidentsHome, IncidentError> {
        let grant = self.grant.status().await?;
        let (directory_size, directory_refreshed) = self.db.directory_state().await?;
        let history = self.db.history(50).await?;
        let mut home = IncidentsHome {
            grant: grant.clone(),
            configured,
            webex_user: commander.is_some(),
            blocked: None,
            spaces: vec![],
            history,
            directory_size,
            directory_refreshed,
        };
        let Some(c) = commander else {
            home.blocked = Some(IncidentError::NotWebexUser.to_string());
            return Ok(home);
        };
        if !grant.connected {
            home.blocked = Some(GrantError::Missing.to_string());
            return Ok(home);
        }
        if let Err(e) = self.check_responder(&c.person_id).await {
            home.blocked = Some(e.to_string());
            return Ok(home);
        }
        let open = self.db.open_incidents().await?;
        home.spaces = self
            .org_rooms(true)
            .await?
            .into_iter()
            .filter(|r| r.title.starts_with(&self.cfg.space_prefix))
            .map(|r| SpaceSummary {
                open_incident: open.iter().find(|i| i.room_id == r.id).map(|i| i.name.clone()),
                room_id: r.id,
                title: r.title,
            })
            .collect();
        Ok(home)
    }

    // --- a space ---

    /// Opens a space for the commander: makes them a moderator member, syncs the memberships
    /// into the database (people who left drop out; those already there are kept as
    /// pre-existing), and returns the page.
    pub async fn open_space(&self, c: &Commander, room_id: &str) -> Result<SpacePage, IncidentError> {
        self.check_responder(&c.person_id).await?;
        let room = self.response_room(room_id).await?;
        let token = self.grant.access_token().await?;
        let retry = crate::webex::Retry::default();
        let mut members = self.api.memberships(&token, room_id, &retry).await?;
        match members.iter().find(|m| m.person_id == c.person_id) {
            Some(m) if !m.is_moderator => {
                quick().run(|| self.api.set_moderator(&token, &m.id, true)).await?;
            }
            Some(_) => {}
            None => {
                let m = quick().run(|| self.api.add_member(&token, room_id, &c.person_id, true)).await?;
                members.push(m);
            }
        }
        let mut tx = self.db.tx().await?;
        let first = self.db.ensure_space(&mut tx, room_id, &room.title).await?;
        let linked = self.db.links(room_id).await?;
        let mut present = Vec::with_capacity(members.len());
        for m in &members {
            let known = self.db.directory_person(&m.person_id).await?;
            let person = known.unwrap_or_else(|| DirectoryPerson {
                person_id: m.person_id.clone(),
                display_name: if m.person_display_name.is_empty() { m.person_email.clone() } else { m.person_display_name.clone() },
                email: m.person_email.clone(),
                sms_number: None,
                voice_number: None,
            });
            let rid = self.db.upsert_internal(&mut tx, &person).await?;
            present.push(rid);
            let already = linked.iter().any(|l| l.responder_id == rid);
            // Someone in the space whom Switchboard did not add is pre-existing (on the first
            // sync, everyone is; the commander made member here is not, but is never removed).
            let pre = !already && (first || m.person_id != c.person_id);
            self.db.link(&mut tx, room_id, rid, Some(&m.id), pre, false, false, &c.email).await?;
        }
        for l in linked.iter().filter(|l| l.person_id.is_some() && !present.contains(&l.responder_id)) {
            self.db.unlink(&mut tx, room_id, l.responder_id).await?;
        }
        tx.commit().await?;
        self.page(room_id, Some(&c.person_id)).await
    }

    pub async fn page(&self, room_id: &str, commander_person_id: Option<&str>) -> Result<SpacePage, IncidentError> {
        let (title, incident_name) = self
            .db
            .space_title(room_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("This space has not been opened here yet.".into()))?;
        let links = self.db.links(room_id).await?;
        let linked: Vec<i64> = links.iter().map(|l| l.responder_id).collect();
        let externals = self.db.externals().await?.into_iter().filter(|e| !linked.contains(&e.id)).collect();
        let open = self.db.open_incident(room_id).await?;
        let commander = open.as_ref().map(|i| i.commander_person_id.as_str()).or(commander_person_id);
        let incident = match &open {
            Some(i) => Some(self.view(i).await?),
            None => None,
        };
        Ok(SpacePage {
            room_id: room_id.to_string(),
            title,
            incident_name,
            responders: links.iter().map(|l| responder_view(l, commander)).collect(),
            externals,
            incident,
            sms_enabled: self.sms_enabled(),
            voice_enabled: self.voice_enabled(),
        })
    }

    pub async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<(), IncidentError> {
        let name = name.trim();
        if name.chars().count() > 200 {
            return Err(IncidentError::Invalid("The incident name is too long (at most 200 characters).".into()));
        }
        if !self.db.set_incident_name(room_id, name).await? {
            return Err(IncidentError::NotFound("This space has not been opened here yet.".into()));
        }
        Ok(())
    }

    // --- the incident ---

    fn deliveries_for(&self, l: &LinkRow, commander_person_id: &str, only: Option<&[Channel]>) -> Vec<NewDelivery> {
        let wanted = |c: Channel| only.is_none_or(|o| o.contains(&c));
        let mut out = Vec::new();
        let mut push = |channel, address: &str| {
            out.push(NewDelivery { responder_id: l.responder_id, responder_name: l.name.clone(), channel, address: address.to_string() })
        };
        if let Some(pid) = &l.person_id {
            if pid != commander_person_id && wanted(Channel::Webex) {
                push(Channel::Webex, pid);
            }
        }
        let (sms_on, voice_on) = if only.is_some() { (true, true) } else { (l.send_sms, l.send_voice) };
        if let (true, Some(n), true) = (sms_on, &l.sms_number, self.sms_enabled()) {
            if wanted(Channel::Sms) {
                push(Channel::Sms, n);
            }
        }
        if let (true, Some(n), true) = (voice_on, &l.voice_number, self.voice_enabled()) {
            if wanted(Channel::Voice) {
                push(Channel::Voice, n);
            }
        }
        out
    }

    /// The acknowledgement token of a responder in an incident: derived (HMAC) from the secrets
    /// key and the incident's random salt, so only its hash is stored.
    pub(super) fn ack_token(&self, i: &IncidentRow, responder_id: i64) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.ack_key).expect("any key length");
        mac.update(format!("ack:{}:{}:{}", i.id, responder_id, i.ack_salt).as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..24])
    }

    fn token_hash(token: &str) -> String {
        let d = Sha256::digest(token.as_bytes());
        d.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub(super) fn ack_link(&self, token: &str) -> String {
        format!("{}/ack/{token}", self.cfg.public_url.trim_end_matches('/'))
    }

    /// Starts the incident: reads the space's meeting, records the incident, queues a delivery
    /// per responder × channel, and returns the view (with the meeting link to open).
    pub async fn start(&self, c: &Commander, room_id: &str, name: &str) -> Result<IncidentView, IncidentError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(IncidentError::Invalid("Give the incident a name first.".into()));
        }
        self.check_responder(&c.person_id).await?;
        let room = self.response_room(room_id).await?;
        if self.db.open_incident(room_id).await?.is_some() {
            return Err(IncidentError::Conflict("An incident is already running in this space; stop it first.".into()));
        }
        self.set_incident_name(room_id, name).await?;
        let meeting = match quick().run(|| self.api.meeting_info(&c.token, room_id)).await {
            Ok(m) => m,
            Err(ApiError::Unauthorized) => {
                let org = self.grant.access_token().await?;
                quick().run(|| self.api.meeting_info(&org, room_id)).await?
            }
            Err(e) => return Err(e.into()),
        };
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let mut row = IncidentRow {
            id: 0,
            room_id: room_id.to_string(),
            space_title: room.title.clone(),
            name: name.to_string(),
            commander: c.name.clone(),
            commander_person_id: c.person_id.clone(),
            meeting_link: meeting.meeting_link.clone(),
            meeting_number: meeting.meeting_number.clone(),
            toll_number: meeting.call_in_toll_number.clone(),
            ack_salt: URL_SAFE_NO_PAD.encode(salt),
            started_at: OffsetDateTime::now_utc(),
            stopped_at: None,
        };
        let links = self.db.links(room_id).await?;
        let mut tx = self.db.tx().await?;
        row.id = match self.db.insert_incident(&mut tx, &row).await {
            Ok(id) => id,
            Err(StoreError::Db(sqlx::Error::Database(d))) if d.is_unique_violation() => {
                return Err(IncidentError::Conflict("An incident is already running in this space; stop it first.".into()))
            }
            Err(e) => return Err(e.into()),
        };
        let mut items = Vec::new();
        for l in links.iter().filter(|l| l.person_id.as_deref() != Some(c.person_id.as_str())) {
            let token = self.ack_token(&row, l.responder_id);
            self.db.insert_ack(&mut tx, row.id, l.responder_id, &l.name, &Self::token_hash(&token)).await?;
            items.extend(self.deliveries_for(l, &c.person_id, None));
        }
        self.db.enqueue(&mut tx, row.id, 0, &items).await?;
        self.db
            .event(&mut tx, row.id, "started", &format!("{} started \"{}\"; {} notifications queued", c.name, name, items.len()))
            .await?;
        tx.commit().await?;
        self.outbox.set_user_token(row.id, &c.token);
        self.outbox.wake();
        self.audit.record(AuditRecord::new(&c.email, AuditAction::IncidentStart, AuditResult::Ok).target(&room.title).detail(name)).await;
        self.changed(row.id);
        self.view(&row).await
    }

    /// Notifies one responder again, on the channels chosen (those they have).
    pub async fn remind(&self, c: &Commander, room_id: &str, responder_id: i64, channels: &[Channel]) -> Result<usize, IncidentError> {
        self.check_responder(&c.person_id).await?;
        let i =
            self.db.open_incident(room_id).await?.ok_or_else(|| IncidentError::Conflict("No incident is running in this space.".into()))?;
        let link = self
            .db
            .link_row(room_id, responder_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        if channels.is_empty() {
            return Err(IncidentError::Invalid("Choose at least one channel.".into()));
        }
        let items = self.deliveries_for(&link, &c.person_id, Some(channels));
        if items.is_empty() {
            return Err(IncidentError::Invalid(format!("{} cannot be reached on the channels chosen.", link.name)));
        }
        let round = self.db.next_round(i.id, responder_id).await?;
        let mut tx = self.db.tx().await?;
        let token = self.ack_token(&i, responder_id);
        self.db.insert_ack(&mut tx, i.id, responder_id, &link.name, &Self::token_hash(&token)).await?;
        self.db.enqueue(&mut tx, i.id, round, &items).await?;
        let what: Vec<&str> = items.iter().map(|d| d.channel.label()).collect();
        self.db.event(&mut tx, i.id, "reminder", &format!("{} reminded {} ({})", c.name, link.name, what.join(", "))).await?;
        tx.commit().await?;
        self.outbox.set_user_token(i.id, &c.token);
        self.outbox.wake();
        self.changed(i.id);
        Ok(items.len())
    }

    /// A failed delivery goes out again.
    pub async fn retry_delivery(&self, c: &Commander, delivery_id: i64) -> Result<(), IncidentError> {
        self.check_responder(&c.person_id).await?;
        let incident = self
            .db
            .retry_failed(delivery_id)
            .await?
            .ok_or_else(|| IncidentError::Conflict("Only a failed delivery of a running incident can be retried.".into()))?;
        self.db.event_now(incident, "retry", &format!("{} retried a failed delivery", c.name)).await?;
        self.outbox.set_user_token(incident, &c.token);
        self.outbox.wake();
        self.changed(incident);
        Ok(())
    }

    /// Stops the incident: removes from the Webex space only the people added for it (never
    /// pre-existing members, never the commander), unlinks them, and clears the incident.
    pub async fn stop(&self, c: &Commander, room_id: &str) -> Result<usize, IncidentError> {
        self.check_responder(&c.person_id).await?;
        let i =
            self.db.open_incident(room_id).await?.ok_or_else(|| IncidentError::Conflict("No incident is running in this space.".into()))?;
        let links = self.db.links(room_id).await?;
        let token = self.grant.access_token().await?;
        let mut removed = 0;
        let mut failures = Vec::new();
        let added: Vec<&LinkRow> = links
            .iter()
            .filter(|l| {
                !l.pre_existing
                    && l.person_id.as_deref() != Some(c.person_id.as_str())
                    && l.person_id.as_deref() != Some(i.commander_person_id.as_str())
            })
            .collect();
        let mut tx = self.db.tx().await?;
        for l in &added {
            if let (Some(_), Some(mid)) = (&l.person_id, &l.membership_id) {
                match quick().run(|| self.api.remove_member(&token, mid)).await {
                    Ok(()) | Err(ApiError::Refused { status: 404, .. }) => removed += 1,
                    Err(e) => {
                        failures.push(format!("{}: {e}", l.name));
                        continue;
                    }
                }
            }
            self.db.unlink(&mut tx, room_id, l.responder_id).await?;
        }
        self.db.stop_incident(&mut tx, i.id, &c.name).await?;
        let mut detail = format!("{} stopped the incident; {} added people removed from the space", c.name, removed);
        if !failures.is_empty() {
            detail.push_str(&format!("; could not remove: {}", failures.join("; ")));
        }
        self.db.event(&mut tx, i.id, "stopped", &detail).await?;
        sqlx::query("UPDATE response_spaces SET incident_name = '' WHERE room_id = ?").bind(room_id).execute(&mut *tx).await?;
        tx.commit().await?;
        self.outbox.forget(i.id);
        self.audit
            .record(AuditRecord::new(&c.email, AuditAction::IncidentStop, AuditResult::Ok).target(&i.space_title).detail(&detail))
            .await;
        self.changed(i.id);
        Ok(removed)
    }

    pub async fn incident(&self, id: i64) -> Result<IncidentView, IncidentError> {
        let i = self.db.incident(id).await?.ok_or_else(|| IncidentError::NotFound("No such incident.".into()))?;
        self.view(&i).await
    }

    async fn view(&self, i: &IncidentRow) -> Result<IncidentView, IncidentError> {
        Ok(IncidentView {
            summary: i.summary(),
            meeting_link: i.meeting_link.clone(),
            meeting_number: i.meeting_number.clone(),
            toll_number: i.toll_number.clone(),
            deliveries: self.db.deliveries(i.id).await?,
            acks: self.db.acks(i.id).await?,
            timeline: self.db.timeline(i.id).await?,
        })
    }

    // --- acknowledgements ---

    async fn ack_lookup(&self, token: &str) -> Result<(IncidentRow, i64, String, Option<String>, String), IncidentError> {
        let not_found = || IncidentError::NotFound("This link is not valid. Check that it was copied whole.".into());
        if token.is_empty() || token.len() > 64 {
            return Err(not_found());
        }
        let hash = Self::token_hash(token);
        let (incident_id, responder_id, name, answer) = self.db.ack_by_hash(&hash).await?.ok_or_else(not_found)?;
        let i = self.db.incident(incident_id).await?.ok_or_else(not_found)?;
        Ok((i, responder_id, name, answer, hash))
    }

    pub async fn ack_page(&self, token: &str) -> Result<AckPage, IncidentError> {
        let (i, _, name, answer, _) = self.ack_lookup(token).await?;
        Ok(AckPage {
            incident_name: i.name.clone(),
            responder_name: name,
            over: i.stopped_at.is_some(),
            answer: answer.as_deref().and_then(AckAnswer::parse),
            meeting_link: i.meeting_link.clone(),
        })
    }

    /// Records a responder's answer; refused once the incident is over.
    pub async fn ack(&self, token: &str, answer: AckAnswer) -> Result<AckPage, IncidentError> {
        let (i, _, name, _, hash) = self.ack_lookup(token).await?;
        if i.stopped_at.is_some() {
            return Err(IncidentError::Conflict(format!("The incident \"{}\" is over; no answer is needed.", i.name)));
        }
        let mut tx = self.db.tx().await?;
        self.db.answer(&mut tx, &hash, answer).await?;
        self.db.event(&mut tx, i.id, "ack", &format!("{name}: {}", answer.label())).await?;
        tx.commit().await?;
        self.changed(i.id);
        self.ack_page(token).await
    }
}
