//! What the dashboard shows about the system and each integration.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentState {
    Up,
    Down,
    /// Configured but not checked yet, or checking is not possible.
    Unknown,
    /// Not configured at all.
    Disabled,
}

impl ComponentState {
    pub fn label(self) -> &'static str {
        match self {
            ComponentState::Up => "up",
            ComponentState::Down => "down",
            ComponentState::Unknown => "unknown",
            ComponentState::Disabled => "not configured",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentStatus {
    /// What it is, e.g. "Database" or "CMS node cb1".
    pub name: String,
    pub state: ComponentState,
    /// A sentence a person can act on, e.g. "connection refused" or "sqlite, 12 ms".
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    pub uptime_seconds: u64,
    pub mode: String,
    pub database: ComponentStatus,
    pub integrations: Vec<ComponentStatus>,
    /// Every background worker: running, restarting after a failure, or stuck.
    pub workers: Vec<ComponentStatus>,
    /// Database size, oldest record kept, retention.
    pub storage: ComponentStatus,
    /// Every area of Switchboard and whether it can be used now.
    pub areas: Vec<AreaStatus>,
}

/// One area of Switchboard as the dashboard lists it. `state`: `Up` when configured and its
/// background work is running, `Down` when configured but some of that work is failing,
/// `Disabled` when not configured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AreaStatus {
    pub name: String,
    /// Its page, e.g. `/calendar`.
    pub path: String,
    /// What it is for, in a few words.
    pub summary: String,
    pub state: ComponentState,
    /// What to do about it; empty when it is up.
    pub detail: String,
}
