//! Who responds in a space: opening a space syncs its Webex memberships in (the commander made
//! moderator), people of the org are added to or removed from the Webex space, externals are
//! linked, and SMS / voice are switched per person.

use super::store::{NewLink, SyncedMember};
use crate::incident::{quick, Commander, IncidentError, IncidentService};
use crate::model::incident::{Channel, DirectoryPerson, SpacePage};
use crate::model::{AuditAction, Role};
use crate::store::{AuditRecord, AuditResult};
use crate::webex::{ApiError, Membership};

impl IncidentService {
    /// Opens a space for the commander: makes them a moderator member, syncs the memberships
    /// into the database (people who left drop out; those already there are kept as
    /// pre-existing), and returns the page as `role` may see it.
    pub async fn open_space(&self, c: &Commander, room_id: &str, role: Role) -> Result<SpacePage, IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let room = self.spaces.response_room(room_id).await?;
        let members = self.moderate(c, room_id).await?;
        let linked = self.links(room_id).await?;
        let mut synced = Vec::with_capacity(members.len());
        for m in &members {
            let known = self.directory.person(&m.person_id).await?;
            let person = known.unwrap_or_else(|| DirectoryPerson {
                person_id: m.person_id.clone(),
                display_name: if m.person_display_name.is_empty() { m.person_email.clone() } else { m.person_display_name.clone() },
                email: m.person_email.clone(),
                sms_number: None,
                voice_number: None,
            });
            // A responder is one Webex person: already linked when a link has their person id.
            let already = linked.iter().any(|l| l.person_id.as_deref() == Some(m.person_id.as_str()));
            // Someone in the space whom Switchboard did not add is pre-existing (on the first
            // sync, everyone is; the commander made member here is not, but is never removed).
            synced.push(SyncedMember {
                person,
                membership_id: m.id.clone(),
                pre_existing_if_first: !already,
                pre_existing_otherwise: !already && m.person_id != c.person_id,
            });
        }
        let gone: Vec<i64> = linked
            .iter()
            .filter(|l| l.person_id.as_ref().is_some_and(|p| !members.iter().any(|m| &m.person_id == p)))
            .map(|l| l.responder_id)
            .collect();
        self.spaces.db.sync_space(room_id, &room.title, &synced, &gone, &c.email).await?;
        self.page(room_id, Some(&c.person_id), role).await
    }

    /// The space's memberships, with the commander in them as a moderator. The org grant's admin
    /// becomes a moderator first: in a moderated space only moderators add or remove people or
    /// change moderators, and the grant does that for the incident.
    async fn moderate(&self, c: &Commander, room_id: &str) -> Result<Vec<Membership>, IncidentError> {
        let (api, token) = (self.spaces.api(), self.grant().access_token().await?);
        let mut members = api.memberships(&token, room_id, &crate::webex::Retry::default()).await?;
        let moderated_refusal = |e: ApiError| {
            match e {
            ApiError::Refused { status: 403, message } => IncidentError::Conflict(format!(
                "This space is moderated and the Webex org admin is not one of its moderators: a moderator must make them one first ({message})."
            )),
            e => e.into(),
        }
        };
        let admin = self.grant().person_id().await?.unwrap_or_default();
        if let Some(m) = members.iter_mut().find(|m| m.person_id == admin && !m.is_moderator) {
            let id = m.id.clone();
            *m = quick().run(|| api.set_moderator(&token, &id, true)).await.map_err(moderated_refusal)?;
        }
        match members.iter().find(|m| m.person_id == c.person_id) {
            Some(m) if !m.is_moderator => {
                quick().run(|| api.set_moderator(&token, &m.id, true)).await.map_err(moderated_refusal)?;
            }
            Some(_) => {}
            None => {
                let m = quick().run(|| api.add_member(&token, room_id, &c.person_id, true)).await.map_err(moderated_refusal)?;
                members.push(m);
            }
        }
        Ok(members)
    }

    pub async fn add_internal(&self, c: &Commander, room_id: &str, person_id: &str) -> Result<(), IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        self.spaces.response_room(room_id).await?;
        let person = self
            .directory
            .person(person_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("That person is not in the org directory (refresh it?).".into()))?;
        let (api, token) = (self.spaces.api(), self.grant().access_token().await?);
        let membership = match quick().run(|| api.add_member(&token, room_id, person_id, false)).await {
            Ok(m) => m.id,
            // Already a member (added in Webex meanwhile): find the membership.
            Err(ApiError::Refused { status: 409, .. }) => api
                .memberships(&token, room_id, &crate::webex::Retry::default())
                .await?
                .into_iter()
                .find(|m| m.person_id == person_id)
                .map(|m| m.id)
                .unwrap_or_default(),
            Err(e) => return Err(e.into()),
        };
        let link = NewLink { membership_id: Some(&membership), ..Default::default() };
        self.spaces.db.add_internal(room_id, &person, link, &c.email).await?;
        self.audit
            .record(
                AuditRecord::new(&c.actor(), AuditAction::IncidentResponderAdd, AuditResult::Ok)
                    .target(room_id)
                    .detail(&person.display_name),
            )
            .await;
        Ok(())
    }

    /// Takes a responder out of the space (and out of the Webex space when internal); never the commander.
    pub async fn remove_responder(&self, c: &Commander, room_id: &str, responder_id: i64) -> Result<(), IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let link =
            self.link_row(room_id, responder_id).await?.ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        if link.person_id.as_deref() == Some(c.person_id.as_str()) {
            return Err(IncidentError::Invalid("You cannot remove yourself: you run this space.".into()));
        }
        if let (Some(_), Some(mid)) = (&link.person_id, &link.membership_id) {
            let token = self.grant().access_token().await?;
            match quick().run(|| self.spaces.api().remove_member(&token, mid)).await {
                Ok(()) | Err(ApiError::Refused { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.spaces.db.unlink(room_id, responder_id).await?;
        self.audit
            .record(AuditRecord::new(&c.actor(), AuditAction::IncidentResponderRemove, AuditResult::Ok).target(room_id).detail(&link.name))
            .await;
        Ok(())
    }

    pub async fn link_external(&self, c: &Commander, room_id: &str, id: i64) -> Result<(), IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let e = self.directory.external(id).await?.ok_or_else(|| IncidentError::NotFound("No such external responder.".into()))?;
        let link =
            NewLink { membership_id: None, pre_existing: false, send_sms: e.sms_number.is_some(), send_voice: e.voice_number.is_some() };
        self.spaces.db.link(room_id, id, link, &c.email).await?;
        let detail = format!("external \"{}\": before: not in the space; after: in the space", e.name);
        self.audit
            .record(AuditRecord::new(&c.email, AuditAction::IncidentResponderAdd, AuditResult::Ok).target(room_id).detail(&detail))
            .await;
        Ok(())
    }

    /// SMS / voice on or off for one responder; refused where there is no number. Audited
    /// with the state before and after.
    pub async fn set_channel(&self, by: &str, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), IncidentError> {
        let link =
            self.link_row(room_id, responder_id).await?.ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        let (has, was) = match channel {
            Channel::Sms => (link.sms_number.is_some(), link.send_sms),
            Channel::Voice => (link.voice_number.is_some(), link.send_voice),
            Channel::Webex => return Err(IncidentError::Invalid("Webex messages go to every internal responder.".into())),
        };
        if on && !has {
            return Err(IncidentError::Invalid(format!("{} has no number for {}.", link.name, channel.label())));
        }
        self.spaces.db.set_channel(room_id, responder_id, channel, on).await?;
        let state = |on: bool| if on { "on" } else { "off" };
        let detail = format!("{} for \"{}\": before: {}; after: {}", channel.label(), link.name, state(was && has), state(on));
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentChannel, AuditResult::Ok).target(room_id).detail(&detail)).await;
        Ok(())
    }
}
