//! Live calls and legs as the `/calls` and `/lobby` pages show them, and the banner rules.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLeg {
    pub id: String,
    /// The Call Bridge GUID from the CDRs (empty for a single node).
    pub bridge: String,
    pub call: Option<String>,
    /// Participant id from the CMS API, when known (needed to admit).
    pub participant: Option<String>,
    pub display_name: String,
    pub local_address: Option<String>,
    pub remote_address: Option<String>,
    pub leg_type: Option<String>,
    pub sub_type: Option<String>,
    pub guest: bool,
    pub direction: Option<String>,
    pub connected: bool,
    /// Waiting in the lobby (`deactivated`).
    pub in_lobby: bool,
    pub in_ivr: bool,
    /// RFC 3339 time the leg started (as CMS reported it).
    pub started: String,
}

impl LiveLeg {
    pub fn is_distribution_link(&self) -> bool {
        self.sub_type.as_deref() == Some("distributionLink")
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCall {
    pub id: String,
    pub bridge: String,
    /// Switchboard's name for the CMS node hosting it, once known.
    pub node: Option<String>,
    pub name: String,
    pub co_space: Option<String>,
    pub owner: Option<String>,
    pub correlator: Option<String>,
    pub call_type: Option<String>,
    pub started: String,
    pub legs: Vec<LiveLeg>,
    /// The banner CMS shows in this call now, as far as Switchboard knows.
    pub message_text: Option<String>,
}

/// Security level of one participant, as the HEAD version of the security script defined them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SecurityLevel {
    /// An on-premises endpoint from a secure domain.
    Secure = 1,
    /// An internal client (e.g. Jabber) from an internal domain.
    Internal = 2,
    /// Anyone else: web-app users, guests, SIP from other domains.
    External = 3,
}

/// What decides the banner in a call. Stored in the database, edited on `/settings`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerRules {
    /// A call whose name contains one of these (any case) is restricted.
    pub restricted_keywords: Vec<String>,
    /// SIP remote domains of on-premises endpoints (level 1).
    pub secure_domains: Vec<String>,
    /// SIP remote domains of internal clients (level 2).
    pub internal_domains: Vec<String>,
    pub restricted_text: String,
    pub external_text: String,
    /// Shown when internal (level 2) participants are in and no external one; empty = nothing.
    pub internal_text: String,
    /// `top`, `middle` or `bottom`.
    pub position: String,
    /// Seconds, or `permanent`.
    pub duration: String,
}

impl Default for BannerRules {
    fn default() -> Self {
        Self {
            restricted_keywords: vec!["restricted".into()],
            secure_domains: Vec::new(),
            internal_domains: Vec::new(),
            restricted_text: "Restricted Meeting".into(),
            external_text: "External Participant(s) in Meeting".into(),
            internal_text: String::new(),
            position: "bottom".into(),
            duration: "permanent".into(),
        }
    }
}

/// A meeting: the call instances that share a callCorrelator across bridges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeetingView {
    pub key: String,
    pub name: String,
    pub instances: Vec<LiveCall>,
    pub restricted: bool,
    pub externals: usize,
    pub lobby: usize,
    pub participants: usize,
    /// The banner Switchboard wants shown (None = none).
    pub banner: Option<String>,
    /// Whether every instance shows that banner now.
    pub banner_shown: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerEvent {
    pub at: String,
    pub call_id: String,
    pub node: String,
    pub call_name: String,
    pub text: String,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CdrGap {
    pub at: String,
    pub bridge: String,
    pub session: String,
    pub missing: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallsOverview {
    pub meetings: Vec<MeetingView>,
    pub gaps: Vec<CdrGap>,
    pub history: Vec<BannerEvent>,
    pub dead_letters: i64,
    pub records_received: i64,
    /// Demo mode: the page offers controls over the simulated world.
    pub demo: bool,
}
