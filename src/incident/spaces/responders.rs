//! The responders' space: only its members run incidents. It is named by its Webex room id,
//! chosen by an admin from the group spaces the org grant sees (or configured as
//! `webex.responders_space_id`), never looked up by title: anyone can make a space with the
//! same title.

use super::Spaces;
use crate::incident::{IncidentError, IncidentService};
use crate::model::incident::SpaceChoice;
use crate::model::AuditAction;
use crate::store::{AuditRecord, AuditResult};
use std::time::{Duration, Instant};

impl Spaces {
    /// The chosen space (the page's choice, else the configured id with its title as Webex has it).
    pub async fn responders_space(&self) -> Result<Option<SpaceChoice>, IncidentError> {
        if let Some(chosen) = self.db.responders_space().await? {
            return Ok(Some(chosen));
        }
        let Some(id) = &self.configured_responders_space else { return Ok(None) };
        let title = self.org_rooms(false).await.ok().and_then(|rooms| rooms.into_iter().find(|r| &r.id == id).map(|r| r.title));
        Ok(Some(SpaceChoice { room_id: id.clone(), title: title.unwrap_or_else(|| id.clone()) }))
    }

    /// Refuses people who are not members of the responders' space (and everyone while none is chosen).
    pub async fn check_responder(&self, person_id: &str) -> Result<(), IncidentError> {
        let space = self.responders_space().await?.ok_or(IncidentError::NoRespondersSpace)?;
        let mut cache = self.responders_cache.lock().await;
        let fresh = cache.as_ref().is_some_and(|(at, room, _)| *room == space.room_id && at.elapsed() < Duration::from_secs(60));
        if !fresh {
            let token = self.grant.access_token().await?;
            let members = self.api.memberships(&token, &space.room_id, &crate::webex::Retry::default()).await?;
            *cache = Some((Instant::now(), space.room_id.clone(), members.into_iter().map(|m| m.person_id).collect()));
        }
        if cache.as_ref().is_some_and(|(_, _, ids)| ids.iter().any(|id| id == person_id)) {
            Ok(())
        } else {
            Err(IncidentError::NotResponder(space.title))
        }
    }
}

impl IncidentService {
    /// The group spaces the org grant sees, read fresh, to choose the responders' space from.
    pub async fn responders_space_choices(&self) -> Result<Vec<SpaceChoice>, IncidentError> {
        let rooms = self.spaces.org_rooms(true).await?;
        Ok(rooms.into_iter().map(|r| SpaceChoice { room_id: r.id, title: r.title }).collect())
    }

    /// Makes the space with this room id the responders' space; audited with before and after.
    pub async fn choose_responders_space(&self, by: &str, room_id: &str) -> Result<SpaceChoice, IncidentError> {
        let choice = self
            .responders_space_choices()
            .await?
            .into_iter()
            .find(|c| c.room_id == room_id)
            .ok_or_else(|| IncidentError::NotFound("No group space with that id is visible to the connected admin.".into()))?;
        let before = self.spaces.responders_space().await?;
        self.spaces.db.set_responders_space(&choice, by).await?;
        *self.spaces.responders_cache.lock().await = None;
        let show =
            |c: &Option<SpaceChoice>| c.as_ref().map(|c| format!("\"{}\" ({})", c.title, c.room_id)).unwrap_or_else(|| "none".into());
        let detail = format!("before: {}; after: {}", show(&before), show(&Some(choice.clone())));
        self.audit
            .record(AuditRecord::new(by, AuditAction::IncidentRespondersSpace, AuditResult::Ok).target(room_id).detail(&detail))
            .await;
        Ok(choice)
    }
}
