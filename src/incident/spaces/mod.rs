//! The Webex spaces incidents run in: which group rooms are response spaces, who may run
//! incidents (members of the responders' space, chosen by room id: [`responders`]), and who
//! responds in each space. The membership changes (open, add, remove, channels) are in [`members`].

mod members;
mod responders;
pub(crate) mod store;

use super::{IncidentConfig, IncidentError, IncidentService};
use crate::model::incident::{ResponderView, SpacePage, SpaceSummary};
use crate::model::Role;
use crate::store::{Store, StoreError};
use crate::webex::{OrgGrant, Room, WebexApi};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::SpacesStore;
use tokio::sync::Mutex;

/// A responder of a space, as the other parts work with it.
#[derive(Debug, Clone)]
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

pub struct Spaces {
    db: SpacesStore,
    grant: Arc<OrgGrant>,
    api: WebexApi,
    space_prefix: String,
    /// The responders' space of the configuration, while none is chosen on the page.
    configured_responders_space: Option<String>,
    rooms_cache: Mutex<Option<(Instant, Vec<Room>)>>,
    /// Who is in the responders' space (checked on every commander action; a minute old at
    /// most): its room id and the person ids of its members.
    responders_cache: Mutex<Option<(Instant, String, Vec<String>)>>,
}

impl Spaces {
    pub fn new(store: Store, grant: Arc<OrgGrant>, api: WebexApi, cfg: &IncidentConfig) -> Self {
        Self {
            db: SpacesStore::new(store),
            grant,
            api,
            space_prefix: cfg.space_prefix.clone(),
            configured_responders_space: cfg.responders_space_id.clone().filter(|id| !id.trim().is_empty()),
            rooms_cache: Mutex::new(None),
            responders_cache: Mutex::new(None),
        }
    }

    pub fn grant(&self) -> &OrgGrant {
        &self.grant
    }

    pub fn grant_handle(&self) -> Arc<OrgGrant> {
        self.grant.clone()
    }

    pub fn api(&self) -> &WebexApi {
        &self.api
    }

    /// A new grant: the rooms and the responders are read again.
    pub async fn forget_cached(&self) {
        *self.rooms_cache.lock().await = None;
        *self.responders_cache.lock().await = None;
    }

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

    /// The room, if it is a response space the org grant sees.
    pub async fn response_room(&self, room_id: &str) -> Result<Room, IncidentError> {
        let rooms = self.org_rooms(false).await?;
        rooms
            .into_iter()
            .find(|r| r.id == room_id && r.title.starts_with(&self.space_prefix))
            .ok_or_else(|| IncidentError::NotResponseSpace(self.space_prefix.clone()))
    }

    /// Every response space, read fresh, with the name of the incident running there.
    pub async fn summaries(&self, open_incident: impl Fn(&str) -> Option<String>) -> Result<Vec<SpaceSummary>, IncidentError> {
        Ok(self
            .org_rooms(true)
            .await?
            .into_iter()
            .filter(|r| r.title.starts_with(&self.space_prefix))
            .map(|r| SpaceSummary { open_incident: open_incident(&r.id), room_id: r.id, title: r.title })
            .collect())
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
}

impl IncidentService {
    /// The responders of a space, by name: its memberships, with who they are from the directory.
    pub(super) async fn links(&self, room_id: &str) -> Result<Vec<LinkRow>, StoreError> {
        let members = self.spaces.db.members(room_id).await?;
        let ids: Vec<i64> = members.iter().map(|m| m.responder_id).collect();
        let people = self.directory.responders(&ids).await?;
        let mut links: Vec<LinkRow> = members
            .into_iter()
            .filter_map(|m| {
                let p = people.iter().find(|p| p.id == m.responder_id)?.clone();
                Some(LinkRow {
                    responder_id: m.responder_id,
                    person_id: p.person_id,
                    name: p.name,
                    email: p.email,
                    sms_number: p.sms_number,
                    voice_number: p.voice_number,
                    membership_id: m.membership_id,
                    pre_existing: m.pre_existing,
                    send_sms: m.send_sms,
                    send_voice: m.send_voice,
                })
            })
            .collect();
        // As SQLite's `COLLATE NOCASE` orders: ASCII letters folded.
        links.sort_by_cached_key(|l| l.name.to_ascii_lowercase());
        Ok(links)
    }

    pub(super) async fn link_row(&self, room_id: &str, responder_id: i64) -> Result<Option<LinkRow>, StoreError> {
        Ok(self.links(room_id).await?.into_iter().find(|l| l.responder_id == responder_id))
    }

    /// The space's page as `role` may see it (numbers and links left out or masked by the matrix).
    pub async fn page(&self, room_id: &str, commander_person_id: Option<&str>, role: Role) -> Result<SpacePage, IncidentError> {
        let (title, incident_name) = self
            .spaces
            .db
            .space_title(room_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("This space has not been opened here yet.".into()))?;
        let links = self.links(room_id).await?;
        let linked: Vec<i64> = links.iter().map(|l| l.responder_id).collect();
        let externals = self.directory.externals().await?.into_iter().filter(|e| !linked.contains(&e.id)).collect();
        let open = self.lifecycle.open_incident(room_id).await?;
        let commander = open.as_ref().map(|i| i.commander_person_id.as_str()).or(commander_person_id);
        let incident = match &open {
            Some(i) => Some(self.view(i).await?),
            None => None,
        };
        let page = SpacePage {
            role,
            room_id: room_id.to_string(),
            title,
            incident_name,
            responders: links.iter().map(|l| responder_view(l, commander)).collect(),
            externals,
            incident,
            sms_enabled: self.sms_enabled(),
            voice_enabled: self.voice_enabled(),
        };
        Ok(page.for_role(role))
    }

    pub async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<(), IncidentError> {
        self.spaces.set_incident_name(room_id, name).await
    }
}

/// The page row of a linked responder.
fn responder_view(l: &LinkRow, commander_person_id: Option<&str>) -> ResponderView {
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
