//! Calendar join details as `/calendar` shows them, with the closed sets the calendar stores
//! (each as its stable string: existing rows keep reading).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

crate::stable_strings! {
    /// What Switchboard did to a meeting (the calendar log's `action`).
    pub enum LogAction("calendar log action") {
        Inserted = "inserted",
        Replaced = "replaced",
        Removed = "removed",
        LeftAlone = "left alone",
        DryRun = "dry run",
        Failed = "failed",
    }
}

crate::stable_strings! {
    /// Where a CMS user sync run is (`calendar_sync_runs.status`).
    pub enum SyncStatus("calendar sync status") {
        Running = "running",
        Done = "done",
        Failed = "failed",
    }
}

crate::stable_strings! {
    /// What a user sync found for one user (a line of a run's stored diff).
    pub enum DiffKind("calendar sync diff kind") {
        Added = "added",
        Changed = "changed",
        Gone = "gone",
        NoSpace = "no space",
    }
}

/// One line of a user sync's diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffLine {
    pub jid: String,
    pub what: DiffKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct SyncRunView {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// "start", "schedule", "by <operator>" …
    pub trigger: String,
    pub status: SyncStatus,
    pub users: i64,
    pub added: i64,
    pub changed: i64,
    pub gone: i64,
    pub no_space: i64,
    pub error: Option<String>,
}

/// The health of one group of watched mailboxes (one streaming connection).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupHealth {
    pub first_mailbox: String,
    pub mailboxes: usize,
    #[serde(with = "time::serde::rfc3339::option")]
    pub connected_since: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_event: Option<OffsetDateTime>,
    pub catch_ups: u64,
    pub reconnects: u64,
    /// Mailboxes the service account may not impersonate.
    pub no_impersonation: Vec<String>,
    pub last_error: Option<String>,
}

/// What Switchboard did to a meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct CalendarLogEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub mailbox: String,
    pub item_id: String,
    pub subject: String,
    pub action: LogAction,
    pub detail: String,
    pub latency_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarPage {
    pub enabled: bool,
    /// (done, total) while a user sync runs.
    pub sync_progress: Option<(usize, usize)>,
    pub runs: Vec<SyncRunView>,
    pub last_diff: Vec<DiffLine>,
    pub users: usize,
    pub users_without_space: Vec<String>,
    pub groups: Vec<GroupHealth>,
    pub log: Vec<CalendarLogEntry>,
    pub dry_run: bool,
    pub keyword: String,
    pub templates: BTreeMap<String, String>,
}
