//! Types the UI shows and server functions return. Plain serde data, safe for the wasm build.

mod audit;
pub mod branding;
pub mod calendar;
mod calls;
pub mod ids;
pub mod incident;
mod lobby;
mod permission;
mod role;
pub mod stable;
mod status;

pub use audit::{actor_key, split_actor, AuditAction, IdentityProvider};
pub use calls::{
    BannerDuration, BannerEvent, BannerPosition, BannerRules, BannerRulesForm, CallsOverview, CdrGap, LegSubType, LiveCall, LiveLeg,
    Meeting, MeetingView, SecurityLevel,
};
pub use lobby::{AdmitJob, AdmitOutcome, AdmitResult, AdmitTarget, LobbyMeeting, LobbyPage, LobbyPerson};
pub use permission::IncidentAction;
pub use role::{Role, RoleParseError};
pub use status::{AreaStatus, ComponentState, ComponentStatus, SystemStatus};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// "2026-11-24 14:36:05 UTC": how pages show a point in time.
pub fn display_time(t: &OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second())
}

/// The same instant as the viewer's clock shows it: "2026-11-24 15:36:05 UTC+01:00" (the
/// browser supplies the offset; `display_time` is what the server renders before that).
pub fn display_time_at(t: &OffsetDateTime, offset: time::UtcOffset) -> String {
    if offset.is_utc() {
        return display_time(t);
    }
    let t = t.to_offset(offset);
    let (h, m, _) = offset.as_hms();
    let sign = if offset.is_negative() { '-' } else { '+' };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC{sign}{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        h.unsigned_abs(),
        m.unsigned_abs()
    )
}

/// How long someone has waited, at the granularity people read: "45 s", "3 min", "1 h 5 min".
pub fn waiting_for(since: &OffsetDateTime, as_of: &OffsetDateTime) -> String {
    let secs = (*as_of - *since).whole_seconds().max(0);
    match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min", s / 60),
        s => format!("{} h {} min", s / 3600, s / 60 % 60),
    }
}

/// The operator behind the current session, as pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub name: String,
    pub role: Role,
    /// Who vouched for the name: a local account or Webex.
    #[serde(default)]
    pub provider: IdentityProvider,
}

impl UserInfo {
    /// The actor the audit log records for this user (see [`actor_key`]).
    pub fn actor(&self) -> String {
        actor_key(self.provider, &self.name)
    }
}

/// One recorded operator action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    /// Who vouched for the actor; `None` for entries written before it was recorded.
    pub provider: Option<IdentityProvider>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{datetime, offset};

    #[test]
    fn times_read_in_the_viewers_offset_with_the_offset_named() {
        let t = datetime!(2026-11-24 14:36:05.123456789 UTC);
        assert_eq!(display_time(&t), "2026-11-24 14:36:05 UTC");
        assert_eq!(display_time_at(&t, offset!(+1)), "2026-11-24 15:36:05 UTC+01:00");
        assert_eq!(display_time_at(&t, offset!(-5:30)), "2026-11-24 09:06:05 UTC-05:30");
        assert_eq!(display_time_at(&t, offset!(UTC)), "2026-11-24 14:36:05 UTC");
    }

    #[test]
    fn waiting_times_read_in_minutes_not_timestamps() {
        let since = datetime!(2026-11-24 14:00:00 UTC);
        assert_eq!(waiting_for(&since, &datetime!(2026-11-24 14:00:45 UTC)), "45 s");
        assert_eq!(waiting_for(&since, &datetime!(2026-11-24 14:03:59 UTC)), "3 min");
        assert_eq!(waiting_for(&since, &datetime!(2026-11-24 15:05:00 UTC)), "1 h 5 min");
        assert_eq!(waiting_for(&since, &datetime!(2026-11-24 13:59:00 UTC)), "0 s", "a clock behind is not negative");
    }
}
