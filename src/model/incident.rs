//! Incident rooms as pages see them: the org grant, response spaces, responders, an incident
//! with its deliveries, acknowledgements and timeline.

use super::{IncidentAction, Role};
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

/// A Webex space as an admin picks it: by its room id, the title only to read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpaceChoice {
    pub room_id: String,
    pub title: String,
}

/// What `/incidents` shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentsHome {
    /// The role this was prepared for (what the page offers follows [`IncidentAction`]).
    pub role: Role,
    /// The space whose members run incidents, if one is chosen.
    pub responders_space: Option<SpaceChoice>,
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
    pub fn unavailable(why: String, role: Role) -> Self {
        Self {
            role,
            responders_space: None,
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
    /// The role this was prepared for: numbers and links are left out where it may not see them.
    pub role: Role,
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

/// A phone number as people without the right to read it in full see it: its last 4 digits.
pub fn mask_number(n: &str) -> String {
    let digits: Vec<char> = n.chars().filter(char::is_ascii_digit).collect();
    let last: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("•••{last}")
}

/// Free text (a delivery's reason) with every run of 5 or more digits blanked: it may quote a number.
fn without_digit_runs(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().filter(char::is_ascii_digit).count() >= 5 {
            out.push_str("•••");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for ch in text.chars() {
        if ch.is_ascii_digit() || (ch == '+' && run.is_empty()) {
            run.push(ch);
        } else {
            flush(&mut run, &mut out);
            out.push(ch);
        }
    }
    flush(&mut run, &mut out);
    out
}

impl IncidentView {
    /// As `role` may see it: without the meeting's link and dial-in, the deliveries' addresses
    /// and numbers in reasons, unless it may see contacts.
    pub fn for_role(mut self, role: Role) -> Self {
        if IncidentAction::SeeContacts.allowed(role) {
            return self;
        }
        self.meeting_link.clear();
        self.meeting_number.clear();
        self.toll_number.clear();
        for d in &mut self.deliveries {
            d.address.clear();
            d.reason = d.reason.as_deref().map(without_digit_runs);
        }
        self
    }
}

/// A number of the directory as `role` may see it: in full with the right to export the
/// directory, masked for those who run incidents, left out for the others.
fn directory_number(role: Role, n: Option<String>) -> Option<String> {
    if IncidentAction::ExportDirectory.allowed(role) {
        n
    } else if IncidentAction::SeeContacts.allowed(role) {
        n.map(|n| mask_number(&n))
    } else {
        None
    }
}

impl ExternalResponder {
    /// As `role` may see it (see [`directory_number`]).
    pub fn for_role(mut self, role: Role) -> Self {
        self.sms_number = directory_number(role, self.sms_number);
        self.voice_number = directory_number(role, self.voice_number);
        self
    }
}

impl DirectoryPerson {
    /// As `role` may see it in search results (see [`directory_number`]).
    pub fn for_role(mut self, role: Role) -> Self {
        self.sms_number = directory_number(role, self.sms_number);
        self.voice_number = directory_number(role, self.voice_number);
        self
    }
}

impl SpacePage {
    /// As `role` may see it: responders' numbers, the externals' and the incident's contacts
    /// left out (or masked) where the matrix says so.
    pub fn for_role(mut self, role: Role) -> Self {
        self.role = role;
        if !IncidentAction::SeeContacts.allowed(role) {
            for r in &mut self.responders {
                r.sms_number = None;
                r.voice_number = None;
            }
        }
        self.externals = self.externals.into_iter().map(|e| e.for_role(role)).collect();
        self.incident = self.incident.map(|i| i.for_role(role));
        self
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_number_keeps_only_its_last_four_digits() {
        assert_eq!(mask_number("+12015550199"), "•••0199");
        assert_eq!(mask_number("12"), "•••12");
        assert_eq!(without_digit_runs("'+12015550199' refused (code 1234)"), "'•••' refused (code 1234)");
    }
}
