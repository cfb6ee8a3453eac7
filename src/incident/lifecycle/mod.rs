//! An incident's life: start (read the space's meeting, record the incident, queue a delivery
//! per responder × channel), remind, retry, stop (remove the people added for it), and the
//! timeline every step writes. Changed incidents are announced for the live pages.

pub(crate) mod store;

use super::spaces::LinkRow;
use super::{quick, Commander, IncidentError, IncidentService};
use crate::model::incident::{Channel, DeliveryStatus, IncidentSummary, IncidentView};
use crate::model::{AuditAction, Role};
use crate::store::{AuditRecord, AuditResult, Store, StoreError};
use crate::webex::{ApiError, MeetingInfo};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
pub use store::IncidentRow;
use store::{LifecycleStore, Stop};
use time::OffsetDateTime;
use tokio::sync::broadcast;

pub struct Lifecycle {
    db: LifecycleStore,
    changes: broadcast::Sender<i64>,
}

impl Lifecycle {
    pub fn new(store: Store, changes: broadcast::Sender<i64>) -> Self {
        Self { db: LifecycleStore::new(store), changes }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.changes.subscribe()
    }

    /// Tells the live pages that an incident changed.
    pub fn changed(&self, incident_id: i64) {
        let _ = self.changes.send(incident_id);
    }

    pub async fn open_incident(&self, room_id: &str) -> Result<Option<IncidentRow>, StoreError> {
        self.db.open_incident(room_id).await
    }

    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        self.db.open_incidents().await
    }

    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        self.db.incident(id).await
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<IncidentSummary>, StoreError> {
        self.db.history(limit).await
    }
}

fn already_running() -> IncidentError {
    IncidentError::Conflict("An incident is already running in this space; stop it first.".into())
}

fn not_running() -> IncidentError {
    IncidentError::Conflict("No incident is running in this space.".into())
}

impl IncidentService {
    /// Starts the incident: reads the space's meeting, records the incident, queues a delivery
    /// per responder × channel, and returns the view (with the meeting link to open).
    pub async fn start(&self, c: &Commander, room_id: &str, name: &str) -> Result<IncidentView, IncidentError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(IncidentError::Invalid("Give the incident a name first.".into()));
        }
        self.spaces.check_responder(&c.person_id).await?;
        let room = self.spaces.response_room(room_id).await?;
        if self.lifecycle.open_incident(room_id).await?.is_some() {
            return Err(already_running());
        }
        self.spaces.set_incident_name(room_id, name).await?;
        let meeting = self.meeting(c, room_id).await?;
        let mut row = new_incident(c, room_id, &room.title, name, &meeting);
        let links = self.links(room_id).await?;
        let notified: Vec<&LinkRow> = links.iter().filter(|l| l.person_id.as_deref() != Some(c.person_id.as_str())).collect();
        let items: Vec<_> = notified.iter().flat_map(|l| self.deliveries.plan(l, &c.person_id, None)).collect();
        let acks = |i: &IncidentRow| notified.iter().map(|l| self.acks.new_ack(i, l.responder_id, &l.name)).collect();
        let detail = format!("{} started \"{}\"; {} notifications queued", c.name, name, items.len());
        row.id = match self.lifecycle.db.start(&row, &acks, &items, &detail).await {
            Ok(id) => id,
            Err(StoreError::Db(sqlx::Error::Database(d))) if d.is_unique_violation() => return Err(already_running()),
            Err(e) => return Err(e.into()),
        };
        self.deliveries.wake_for(row.id, &c.token);
        self.audit.record(AuditRecord::new(&c.actor(), AuditAction::IncidentStart, AuditResult::Ok).target(&room.title).detail(name)).await;
        self.lifecycle.changed(row.id);
        self.view(&row).await
    }

    /// The space's meeting, read with the commander's token (the org grant's if theirs is refused).
    async fn meeting(&self, c: &Commander, room_id: &str) -> Result<MeetingInfo, IncidentError> {
        let api = self.spaces.api();
        match quick().run(|| api.meeting_info(&c.token, room_id)).await {
            Ok(m) => Ok(m),
            Err(ApiError::Unauthorized) => {
                let org = self.grant().access_token().await?;
                Ok(quick().run(|| api.meeting_info(&org, room_id)).await?)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Notifies one responder again, on the channels chosen (those they have).
    pub async fn remind(&self, c: &Commander, room_id: &str, responder_id: i64, channels: &[Channel]) -> Result<usize, IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let i = self.lifecycle.open_incident(room_id).await?.ok_or_else(not_running)?;
        let link =
            self.link_row(room_id, responder_id).await?.ok_or_else(|| IncidentError::NotFound("Not a responder of this space.".into()))?;
        if channels.is_empty() {
            return Err(IncidentError::Invalid("Choose at least one channel.".into()));
        }
        let items = self.deliveries.plan(&link, &c.person_id, Some(channels));
        if items.is_empty() {
            return Err(IncidentError::Invalid(format!("{} cannot be reached on the channels chosen.", link.name)));
        }
        let round = self.deliveries.next_round(i.id, responder_id).await?;
        let what: Vec<&str> = items.iter().map(|d| d.channel.label()).collect();
        let detail = format!("{} reminded {} ({})", c.name, link.name, what.join(", "));
        let ack = self.acks.new_ack(&i, responder_id, &link.name);
        self.lifecycle.db.remind(i.id, &ack, round, &items, &detail).await?;
        self.deliveries.wake_for(i.id, &c.token);
        self.lifecycle.changed(i.id);
        Ok(items.len())
    }

    /// A failed delivery, or one whose outcome is unknown, of a running incident goes out again:
    /// an explicit action of the commander, on the timeline and in the audit log.
    pub async fn retry_delivery(&self, c: &Commander, delivery_id: i64) -> Result<(), IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let refused = || {
            IncidentError::Conflict(
                "Only a failed delivery, or one whose outcome is unknown, of a running incident can be sent again.".into(),
            )
        };
        let what =
            |was| if was == DeliveryStatus::Unknown { "resent a delivery whose outcome was unknown" } else { "retried a failed delivery" };
        let entry = |was| format!("{} {}", c.name, what(was));
        let (incident, was) = self.lifecycle.db.retry(delivery_id, &entry).await?.ok_or_else(refused)?;
        let what = what(was);
        let target = format!("incident {incident}, delivery {delivery_id}");
        self.audit
            .record(AuditRecord::new(&c.email, AuditAction::IncidentDeliveryResend, AuditResult::Ok).target(&target).detail(what))
            .await;
        self.deliveries.wake_for(incident, &c.token);
        self.lifecycle.changed(incident);
        Ok(())
    }

    /// Stops the incident: removes from the Webex space only the people added for it (never
    /// pre-existing members, never the commander), unlinks them, and clears the incident.
    pub async fn stop(&self, c: &Commander, room_id: &str) -> Result<usize, IncidentError> {
        self.spaces.check_responder(&c.person_id).await?;
        let i = self.lifecycle.open_incident(room_id).await?.ok_or_else(not_running)?;
        let links = self.links(room_id).await?;
        let token = self.grant().access_token().await?;
        let added: Vec<&LinkRow> = links
            .iter()
            .filter(|l| {
                !l.pre_existing
                    && l.person_id.as_deref() != Some(c.person_id.as_str())
                    && l.person_id.as_deref() != Some(i.commander_person_id.as_str())
            })
            .collect();
        let (removed, unlinked, failures) = self.remove_added(&token, &added).await;
        let mut detail = format!("{} stopped the incident; {} added people removed from the space", c.name, removed);
        if !failures.is_empty() {
            detail.push_str(&format!("; could not remove: {}", failures.join("; ")));
        }
        self.lifecycle.db.stop(Stop { incident_id: i.id, room_id, by: &c.name, unlinked: &unlinked, event: &detail }).await?;
        self.deliveries.forget(i.id);
        self.audit
            .record(AuditRecord::new(&c.actor(), AuditAction::IncidentStop, AuditResult::Ok).target(&i.space_title).detail(&detail))
            .await;
        self.lifecycle.changed(i.id);
        Ok(removed)
    }

    /// Takes the people added for the incident out of the Webex space; returns how many were
    /// removed, the responders to unlink (those removed, and externals) and who could not be.
    async fn remove_added(&self, token: &str, added: &[&LinkRow]) -> (usize, Vec<i64>, Vec<String>) {
        let (mut removed, mut unlinked, mut failures) = (0, Vec::new(), Vec::new());
        for l in added {
            if let (Some(_), Some(mid)) = (&l.person_id, &l.membership_id) {
                match quick().run(|| self.spaces.api().remove_member(token, mid)).await {
                    Ok(()) | Err(ApiError::Refused { status: 404, .. }) => removed += 1,
                    Err(e) => {
                        failures.push(format!("{}: {e}", l.name));
                        continue;
                    }
                }
            }
            unlinked.push(l.responder_id);
        }
        (removed, unlinked, failures)
    }

    /// One incident as `role` may see it (without the meeting's link and numbers for viewers).
    pub async fn incident(&self, id: i64, role: Role) -> Result<IncidentView, IncidentError> {
        let i = self.lifecycle.incident(id).await?.ok_or_else(|| IncidentError::NotFound("No such incident.".into()))?;
        Ok(self.view(&i).await?.for_role(role))
    }

    pub(super) async fn view(&self, i: &IncidentRow) -> Result<IncidentView, IncidentError> {
        Ok(IncidentView {
            summary: i.summary(),
            meeting_link: i.meeting_link.clone(),
            meeting_number: i.meeting_number.clone(),
            toll_number: i.toll_number.clone(),
            deliveries: self.deliveries.views(i.id).await?,
            acks: self.acks.views(i.id).await?,
            timeline: self.lifecycle.db.timeline(i.id).await?,
        })
    }
}

/// The row of a new incident, with a fresh random salt for its acknowledgement tokens.
fn new_incident(c: &Commander, room_id: &str, space_title: &str, name: &str, meeting: &MeetingInfo) -> IncidentRow {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    IncidentRow {
        id: 0,
        room_id: room_id.to_string(),
        space_title: space_title.to_string(),
        name: name.to_string(),
        commander: c.name.clone(),
        commander_person_id: c.person_id.clone(),
        meeting_link: meeting.meeting_link.clone(),
        meeting_number: meeting.meeting_number.clone(),
        toll_number: meeting.call_in_toll_number.clone(),
        ack_salt: URL_SAFE_NO_PAD.encode(salt),
        started_at: OffsetDateTime::now_utc(),
        stopped_at: None,
    }
}

#[cfg(test)]
mod tests {
    use crate::model::incident::TimelineKind;
    use crate::store::assert_round_trips;

    crate::both_backends! {
        async fn every_timeline_kind_round_trips_through_the_database_as_its_stable_string(store) {
            assert_round_trips(&store, TimelineKind::ALL).await;
            let kinds: Vec<_> = TimelineKind::ALL.iter().map(|k| k.as_str()).collect();
            assert_eq!(kinds, ["started", "reminder", "retry", "delivery", "ack", "stopped"]);
        }
    }
}
