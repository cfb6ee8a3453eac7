//! Types the UI shows and server functions return. Plain serde data, safe for the wasm build.

pub mod branding;
pub mod calendar;
mod calls;
pub mod ids;
pub mod incident;
mod lobby;
mod role;
mod status;

pub use calls::{
    BannerDuration, BannerEvent, BannerPosition, BannerRules, BannerRulesForm, CallsOverview, CdrGap, LegSubType, LiveCall, LiveLeg,
    Meeting, MeetingView, SecurityLevel,
};
pub use lobby::{AdmitJob, AdmitOutcome, AdmitResult, AdmitTarget, LobbyMeeting, LobbyPage, LobbyPerson};
pub use role::{Role, RoleParseError};
pub use status::{ComponentState, ComponentStatus, SystemStatus};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// "2026-11-24 14:36:05 UTC": how pages show a point in time.
pub fn display_time(t: &OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// "14:36:05" (UTC), for short lists.
pub fn display_clock(t: &OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// The operator behind the current session, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
}

/// One recorded operator action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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
