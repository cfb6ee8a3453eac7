//! Incident rooms as pages see them: the org grant, response spaces, responders, an incident
//! with its deliveries, acknowledgements and timeline.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The org admin grant: connected as whom, until when, or "admin grant needed".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantStatus {
    pub connected: bool,
    /// A grant exists but its refresh token is dead or revoked.
    pub needs_grant: bool,
    pub display_name: String,
    pub email: String,
    pub org_id: String,
    pub granted_by: String,
    #[serde(with = "time::serde::rfc3339::option")]
    pub granted_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub refreshed_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

crate::stable_strings! {
    /// A notification channel.
    pub enum Channel("delivery channel") {
        Webex = "webex",
        Sms = "sms",
        Voice = "voice",
    }
}

impl Channel {
    pub fn label(self) -> &'static str {
        match self {
            Channel::Webex => "Webex message",
            Channel::Sms => "SMS",
            Channel::Voice => "Voice call",
        }
    }
}

crate::stable_strings! {
    /// Where one delivery stands: queued → sending → sent | failed | unknown (sent, but its
    /// answer was lost: it may have arrived, so only a person sends it again).
    pub enum DeliveryStatus("delivery status") {
        Queued = "queued",
        Sending = "sending",
        Sent = "sent",
        Failed = "failed",
        Unknown = "unknown",
    }
}

impl DeliveryStatus {
    /// Nothing more happens to it by itself.
    pub fn is_finished(self) -> bool {
        matches!(self, DeliveryStatus::Sent | DeliveryStatus::Failed | DeliveryStatus::Unknown)
    }
    /// What the incident page calls it.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryStatus::Unknown => "outcome unknown",
            other => other.as_str(),
        }
    }
}

crate::stable_strings! {
    /// A responder's answer on their acknowledgement page.
    pub enum AckAnswer("acknowledgement answer") {
        Coming = "coming",
        Declined = "declined",
    }
}

impl AckAnswer {
    pub fn label(self) -> &'static str {
        match self {
            AckAnswer::Coming => "On my way",
            AckAnswer::Declined => "Can't join",
        }
    }
}

crate::stable_strings! {
    /// What one timeline entry of an incident records.
    pub enum TimelineKind("timeline event kind") {
        Started = "started",
        Reminder = "reminder",
        Retry = "retry",
        Delivery = "delivery",
        Ack = "ack",
        Stopped = "stopped",
    }
}

/// A response space the commander may pick.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceSummary {
    pub room_id: String,
    pub title: String,
    /// The open incident's name, if one runs there.
    pub open_incident: Option<String>,
}

/// What `/incidents` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentsHome {
    pub grant: GrantStatus,
    /// Whether Webex is configured at all on this Switchboard.
    pub configured: bool,
    /// Whether the current user signed in with Webex (only they can run incidents).
    pub webex_user: bool,
    /// Why the current user cannot run incidents, if they cannot.
    pub blocked: Option<String>,
    pub spaces: Vec<SpaceSummary>,
    pub history: Vec<IncidentSummary>,
    pub directory_size: i64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub directory_refreshed: Option<OffsetDateTime>,
}

impl IncidentsHome {
    /// The page when incidents cannot run here at all (e.g. Webex is not configured).
    pub fn unavailable(why: String) -> Self {
        Self {
            grant: GrantStatus::default(),
            configured: false,
            webex_user: false,
            blocked: Some(why),
            spaces: vec![],
            history: vec![],
            directory_size: 0,
            directory_refreshed: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentSummary {
    pub id: i64,
    pub name: String,
    pub space_title: String,
    pub commander: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
}

/// A responder linked to a space.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResponderView {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    /// A Webex person (internal) or phone-only (external).
    pub internal: bool,
    pub sms_number: Option<String>,
    pub voice_number: Option<String>,
    pub send_sms: bool,
    pub send_voice: bool,
    /// Was in the Webex space before Switchboard added anyone (kept when the incident stops).
    pub pre_existing: bool,
    pub is_commander: bool,
}

/// An external responder not (yet) in this space, or any external when listing all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct ExternalResponder {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub sms_number: Option<String>,
    pub voice_number: Option<String>,
}

/// A person of the Webex org directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct DirectoryPerson {
    pub person_id: String,
    pub display_name: String,
    pub email: String,
    pub sms_number: Option<String>,
    pub voice_number: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct DeliveryView {
    pub id: i64,
    pub responder_id: i64,
    pub responder_name: String,
    pub channel: Channel,
    pub address: String,
    pub round: i64,
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckView {
    pub responder_id: i64,
    pub responder_name: String,
    pub answer: Option<AckAnswer>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub answered_at: Option<OffsetDateTime>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub kind: TimelineKind,
    pub detail: String,
}

/// A running or past incident.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentView {
    pub summary: IncidentSummary,
    pub meeting_link: String,
    pub meeting_number: String,
    pub toll_number: String,
    pub deliveries: Vec<DeliveryView>,
    pub acks: Vec<AckView>,
    pub timeline: Vec<TimelineEntry>,
}

impl IncidentView {
    /// (finished, total) deliveries: sent, failed or of unknown outcome count as finished.
    pub fn progress(&self) -> (usize, usize) {
        let done = self.deliveries.iter().filter(|d| d.status.is_finished()).count();
        (done, self.deliveries.len())
    }
}

/// What `/incidents/{space}` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpacePage {
    pub room_id: String,
    pub title: String,
    pub incident_name: String,
    pub responders: Vec<ResponderView>,
    /// Externals not linked to this space (to add).
    pub externals: Vec<ExternalResponder>,
    pub incident: Option<IncidentView>,
    pub sms_enabled: bool,
    pub voice_enabled: bool,
}

/// The notification templates (minijinja), editable in settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentTemplates {
    /// Markdown, sent as a 1:1 Webex message.
    pub webex: String,
    pub sms: String,
    /// Spoken by the text-to-speech call.
    pub voice: String,
}

impl Default for IncidentTemplates {
    fn default() -> Self {
        Self {
            webex: "**Join incident \"{{ incident_name }}\"** handled in response space *{{ space_title }}*.\n\n\
                    - Webex App: {{ meeting_link }}\n\
                    - Dial in: {{ toll_number }}pp{{ meeting_number }}# (press # again when prompted)\n\n\
                    Tell the commander whether you are coming: {{ ack_link }}"
                .into(),
            sms: "Join incident \"{{ incident_name }}\" handled in response space {{ space_title }}. Webex App: {{ meeting_link }} \
                  Dial in: {{ toll_number }}pp{{ meeting_number }}# (press # again when prompted). Answer: {{ ack_link }}"
                .into(),
            voice: "{% for i in range(2) %}Incident {{ incident_name }} requires your participation. Join meeting {{ meeting_number }} \
                    by calling {{ toll_number }}. {% endfor %}"
                .into(),
        }
    }
}
