//! Types the UI shows and server functions return. Plain serde data, safe for the wasm build.

pub mod branding;
mod calls;
mod lobby;
mod role;
mod status;

pub use calls::{BannerEvent, BannerRules, CallsOverview, CdrGap, LiveCall, LiveLeg, MeetingView, SecurityLevel};
pub use lobby::{AdmitJob, AdmitOutcome, AdmitResult, AdmitTarget, LobbyMeeting, LobbyPerson};
pub use role::{Role, RoleParseError};
pub use status::{ComponentState, ComponentStatus, SystemStatus};

use serde::{Deserialize, Serialize};

/// The operator behind the current session, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
}

/// One recorded operator action. `at` is RFC 3339 UTC.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub result: String,
    pub detail: Option<String>,
}

/// A page of audit entries, newest first, with the total for paging controls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
    pub offset: i64,
    pub limit: i64,
}
