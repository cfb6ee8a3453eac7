//! The simulated CMS's data. Spaces, users and profiles live in the cluster's shared database;
//! calls, legs, participants and CDR receivers belong to one Call Bridge each, as on CMS.

use std::collections::BTreeMap;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct CoSpace {
    pub id: String,
    pub name: String,
    pub uri: String,
    pub secondary_uri: Option<String>,
    pub call_id: String,
    pub passcode: Option<String>,
    pub secret: String,
    pub owner_jid: Option<String>,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub user_jid: String,
    pub name: String,
    pub email: String,
    pub tenant: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Profile {
    pub id: String,
    /// Field name -> value (invitationTemplate, resourceLocation, resourceArchive, name …).
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct Shared {
    pub co_spaces: BTreeMap<String, CoSpace>,
    pub users: BTreeMap<String, User>,
    pub call_branding_profiles: BTreeMap<String, Profile>,
    pub ivr_branding_profiles: BTreeMap<String, Profile>,
    pub web_bridge_profiles: BTreeMap<String, Profile>,
}

#[derive(Debug, Clone)]
pub struct Call {
    pub id: String,
    pub name: String,
    pub co_space: Option<String>,
    pub correlator: String,
    pub tenant: Option<String>,
    pub started: Instant,
    pub locked: bool,
    pub message_text: String,
    pub message_position: String,
    pub message_duration: String,
    pub legs_completed: u32,
    pub legs_max_active: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegKind {
    /// A SIP endpoint or room system.
    Sip,
    /// Someone in the web app (CMS 3.x), signed in or as a guest.
    WebApp,
    /// The link between two Call Bridges hosting one distributed call.
    DistributionLink,
}

#[derive(Debug, Clone)]
pub struct Leg {
    pub id: String,
    pub call: String,
    pub participant: String,
    pub name: String,
    pub remote: String,
    pub local: String,
    pub kind: LegKind,
    pub guest: bool,
    pub direction: &'static str,
    /// Its call leg profile has needsActivation=false: it starts the meeting and releases the lobby.
    pub activator: bool,
    pub deactivated: bool,
    pub started: Instant,
    pub sip_call_id: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub call: String,
    pub leg: String,
}

#[derive(Debug, Default)]
pub struct NodeDb {
    pub calls: BTreeMap<String, Call>,
    pub legs: BTreeMap<String, Leg>,
    pub participants: BTreeMap<String, Participant>,
    /// id -> receiver URL.
    pub cdr_receivers: BTreeMap<String, String>,
}

impl NodeDb {
    pub fn legs_of<'a>(&'a self, call: &'a str) -> impl Iterator<Item = &'a Leg> + 'a {
        self.legs.values().filter(move |l| l.call == call)
    }

    pub fn participants_of<'a>(&'a self, call: &'a str) -> impl Iterator<Item = &'a Participant> + 'a {
        self.participants.values().filter(move |p| p.call == call)
    }

    pub fn has_activator(&self, call: &str) -> bool {
        self.legs_of(call).any(|l| l.activator && !l.deactivated && l.kind != LegKind::DistributionLink)
    }
}

/// Ids look like CMS's: lower-case GUIDs.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
