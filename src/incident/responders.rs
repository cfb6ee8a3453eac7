//! The people side of the incident rooms: the org directory (cached from `GET /people`,
//! reloaded by a worker and on demand, searched as you type), internal responders added to or
//! removed from a Webex space, external (phone-only) responders, and per-person channels.

use super::phone;
use super::service::{quick, Commander, ExternalForm, IncidentError, IncidentService};
use crate::model::incident::{Channel, DirectoryPerson, ExternalResponder};
use crate::model::AuditAction;
use crate::store::{AuditRecord, AuditResult, StoreError};
use crate::webex::{ApiError, Person};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

impl IncidentService {
    // --- directory ---

    /// Reloads the org directory from `GET /people` (all pages).
    pub async fn refresh_directory(&self, by: &str) -> Result<usize, IncidentError> {
        let token = self.grant.access_token().await?;
        let people = self.api.people(&token, &crate::webex::Retry::default()).await?;
        let entries: Vec<DirectoryPerson> = people.iter().map(|p| self.directory_entry(p)).collect();
        self.db.replace_directory(&entries).await?;
        self.audit
            .record(AuditRecord::new(by, AuditAction::IncidentDirectory, AuditResult::Ok).detail(&format!("{} people", entries.len())))
            .await;
        Ok(entries.len())
    }

    fn directory_entry(&self, p: &Person) -> DirectoryPerson {
        let norm = |n: Option<&str>| n.and_then(|n| phone::normalise(n, self.cfg.default_region).ok().flatten());
        DirectoryPerson {
            person_id: p.id.clone(),
            display_name: p.display_name.clone(),
            email: p.email().to_string(),
            sms_number: norm(p.phone(&self.cfg.sms_phone_type)),
            voice_number: norm(p.phone(&self.cfg.voice_phone_type)),
        }
    }

    pub async fn directory_refreshed(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.db.directory_state().await?.1)
    }

    pub async fn search_directory(&self, q: &str) -> Result<Vec<DirectoryPerson>, IncidentError> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(vec![]);
        }
        Ok(self.db.search_directory(q, 20).await?)
    }

    // --- responders ---

    pub async fn add_internal(&self, c: &Commander, room_id: &str, person_id: &str) -> Result<(), IncidentError> {
        self.check_responder(&c.person_id).await?;
        self.response_room(room_id).await?;
        let person = self
            .db
            .directory_person(person_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("That person is not in the org directory (refresh it?).".into()))?;
        let token = self.grant.access_token().await?;
        let membership = match quick().run(|| self.api.add_member(&token, room_id, person_id, false)).await {
            Ok(m) => m.id,
            // Already a member (added in Webex meanwhile): find the membership.
            Err(ApiError::Refused { status: 409, .. }) => self
                .api
                .memberships(&token, room_id, &crate::webex::Retry::default())
                .await?
                .into_iter()
                .find(|m| m.person_id == person_id)
                .map(|m| m.id)
                .unwrap_or_default(),
            Err(e) => return Err(e.into()),
        };
        let mut tx = self.db.tx().await?;
        let rid = self.db.upsert_internal(&mut tx, &person).await?;
        self.db.link(&mut tx, room_id, rid, Some(&membership), false, false, false, &c.email).await?;
        tx.commit().await?;
        self.audit
            .record(
                AuditRecord::new(&c.email, AuditAction::IncidentResponderAdd, AuditResult::Ok).target(room_id).detail(&person.display_name),
            )
            .await;
        Ok(())
    }

    /// Takes a responder out of the space (and out of the Webex space when internal); never the commander.
    pub async fn remove_responder(&self, c: &Commander, room_id: &str, responder_id: i64) -> Result<(), IncidentError> {
        self.check_responder(&c.person_id).await?;
        let link = self
            .db
            .link_row(room_id, responder_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        if link.person_id.as_deref() == Some(c.person_id.as_str()) {
            return Err(IncidentError::Invalid("You cannot remove yourself: you run this space.".into()));
        }
        if let (Some(_), Some(mid)) = (&link.person_id, &link.membership_id) {
            let token = self.grant.access_token().await?;
            match quick().run(|| self.api.remove_member(&token, mid)).await {
                Ok(()) | Err(ApiError::Refused { status: 404, .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut tx = self.db.tx().await?;
        self.db.unlink(&mut tx, room_id, responder_id).await?;
        tx.commit().await?;
        self.audit
            .record(AuditRecord::new(&c.email, AuditAction::IncidentResponderRemove, AuditResult::Ok).target(room_id).detail(&link.name))
            .await;
        Ok(())
    }

    fn parse_external(&self, id: i64, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let name = f.name.trim();
        if name.is_empty() {
            return Err(IncidentError::Invalid("An external responder needs a name.".into()));
        }
        let email = f.email.trim();
        if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
            return Err(IncidentError::Invalid(format!("'{email}' is not an email address.")));
        }
        let sms =
            phone::normalise(&f.mobile, self.cfg.default_region).map_err(|e| IncidentError::Invalid(format!("Mobile number: {e}.")))?;
        let voice =
            phone::normalise(&f.voice, self.cfg.default_region).map_err(|e| IncidentError::Invalid(format!("Voice number: {e}.")))?;
        if sms.is_none() && voice.is_none() {
            return Err(IncidentError::Invalid("An external responder needs a mobile or a voice number.".into()));
        }
        Ok(ExternalResponder {
            id,
            name: name.to_string(),
            email: (!email.is_empty()).then(|| email.to_string()),
            sms_number: sms,
            voice_number: voice,
        })
    }

    pub async fn create_external(&self, by: &str, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let mut e = self.parse_external(0, f)?;
        e.id = self.db.insert_external(&e).await?;
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalCreate, AuditResult::Ok).detail(&e.name)).await;
        Ok(e)
    }

    pub async fn update_external(&self, by: &str, id: i64, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let e = self.parse_external(id, f)?;
        if !self.db.update_external(&e).await? {
            return Err(IncidentError::NotFound("No such external responder.".into()));
        }
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalUpdate, AuditResult::Ok).detail(&e.name)).await;
        Ok(e)
    }

    pub async fn delete_external(&self, by: &str, id: i64) -> Result<(), IncidentError> {
        let e = self.db.external(id).await?.ok_or_else(|| IncidentError::NotFound("No such external responder.".into()))?;
        self.db.delete_external(id).await?;
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalDelete, AuditResult::Ok).detail(&e.name)).await;
        Ok(())
    }

    pub async fn link_external(&self, c: &Commander, room_id: &str, id: i64) -> Result<(), IncidentError> {
        self.check_responder(&c.person_id).await?;
        let e = self.db.external(id).await?.ok_or_else(|| IncidentError::NotFound("No such external responder.".into()))?;
        let mut tx = self.db.tx().await?;
        self.db.link(&mut tx, room_id, id, None, false, e.sms_number.is_some(), e.voice_number.is_some(), &c.email).await?;
        tx.commit().await?;
        Ok(())
    }

    /// SMS / voice on or off for one responder; refused where there is no number.
    pub async fn set_channel(&self, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), IncidentError> {
        let link = self
            .db
            .link_row(room_id, responder_id)
            .await?
            .ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        let has = match channel {
            Channel::Sms => link.sms_number.is_some(),
            Channel::Voice => link.voice_number.is_some(),
            Channel::Webex => return Err(IncidentError::Invalid("Webex messages go to every internal responder.".into())),
        };
        if on && !has {
            return Err(IncidentError::Invalid(format!("{} has no number for {}.", link.name, channel.label())));
        }
        self.db.set_channel(room_id, responder_id, channel, on).await?;
        Ok(())
    }
}

impl IncidentService {
    /// The worker: reloads the org directory when it is older than `every` (at start, then as
    /// it ages); waits quietly while no org is connected.
    pub async fn run_directory_refresh(self: Arc<Self>, every: Duration, ctx: crate::workers::WorkerCtx) {
        let mut woken = false;
        loop {
            let due = match self.directory_refreshed().await {
                Ok(Some(at)) => OffsetDateTime::now_utc() - at >= every || woken,
                Ok(None) => true,
                Err(_) => false,
            };
            if due && self.grant.status().await.map(|g| g.connected).unwrap_or(false) {
                match self.refresh_directory("switchboard").await {
                    Ok(n) => tracing::info!(people = n, "Webex org directory reloaded"),
                    Err(e) => tracing::warn!(error = %e, "could not reload the Webex org directory"),
                }
            }
            woken = false;
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = self.directory_wake.notified() => woken = true,
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
}
