//! The lobby manager's view: who waits where, who is in, and what admitting someone did.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyPerson {
    pub call_id: String,
    pub leg_id: String,
    pub name: String,
    pub address: String,
    /// "web app (guest)", "sip" …
    pub joined_with: String,
    /// When they joined, if known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    pub node: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyMeeting {
    pub key: String,
    pub name: String,
    /// Call instances (one per bridge).
    pub calls: Vec<String>,
    pub waiting: Vec<LobbyPerson>,
    pub in_call: Vec<LobbyPerson>,
}

/// Someone to admit, by ids (never by display name: two people may share one).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdmitTarget {
    pub call_id: String,
    pub leg_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdmitOutcome {
    Admitted,
    /// Already in the meeting (someone else admitted them, or an activator joined).
    AlreadyIn,
    /// They left before they could be admitted.
    Gone,
    /// Nobody who can start the meeting (an activator) is in it, so CMS cannot admit anyone.
    NoActivator,
    /// CMS said no; its reason.
    Refused(String),
    /// The node hosting the call did not answer.
    Unreachable(String),
}

impl AdmitOutcome {
    pub fn label(&self) -> String {
        match self {
            AdmitOutcome::Admitted => "admitted".into(),
            AdmitOutcome::AlreadyIn => "already in the call".into(),
            AdmitOutcome::Gone => "left before being admitted".into(),
            AdmitOutcome::NoActivator => "no host (activator) is in the call yet, so nobody can be admitted".into(),
            AdmitOutcome::Refused(r) => format!("refused by CMS: {r}"),
            AdmitOutcome::Unreachable(r) => format!("CMS node unreachable: {r}"),
        }
    }
    pub fn ok(&self) -> bool {
        matches!(self, AdmitOutcome::Admitted | AdmitOutcome::AlreadyIn)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmitResult {
    pub target: AdmitTarget,
    pub name: String,
    pub outcome: AdmitOutcome,
}

/// A bulk admit in progress or done.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmitJob {
    pub id: String,
    pub total: usize,
    pub done: usize,
    pub results: Vec<AdmitResult>,
    pub finished: bool,
}

/// What `/lobby` shows: every meeting with its queue, and what this user may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LobbyPage {
    pub meetings: Vec<LobbyMeeting>,
    pub can_admit: bool,
    pub cms_configured: bool,
    /// The server's clock when this was made: waiting times are counted to it.
    pub as_of: OffsetDateTime,
}
