//! Live calls and legs as the `/calls` and `/lobby` pages show them, the banner rules, and the
//! one grouping of call instances into meetings that every view uses.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// CMS's `subType` of a call leg, parsed once where CMS data comes in. Unknown values are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum LegSubType {
    /// A browser in the CMS web app.
    WebApp,
    /// The link between two Call Bridges of a distributed call: not a person.
    DistributionLink,
    Lync,
    Avaya,
    Other(String),
}

impl LegSubType {
    pub fn as_str(&self) -> &str {
        match self {
            LegSubType::WebApp => "webApp",
            LegSubType::DistributionLink => "distributionLink",
            LegSubType::Lync => "lync",
            LegSubType::Avaya => "avaya",
            LegSubType::Other(s) => s,
        }
    }
}

impl From<String> for LegSubType {
    fn from(s: String) -> Self {
        match s.as_str() {
            "webApp" => LegSubType::WebApp,
            "distributionLink" => LegSubType::DistributionLink,
            "lync" => LegSubType::Lync,
            "avaya" => LegSubType::Avaya,
            _ => LegSubType::Other(s),
        }
    }
}

impl From<&str> for LegSubType {
    fn from(s: &str) -> Self {
        LegSubType::from(s.to_string())
    }
}

impl From<LegSubType> for String {
    fn from(s: LegSubType) -> Self {
        s.as_str().to_string()
    }
}

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
    /// CMS's `type` (sip, acano, …) as sent.
    pub leg_type: Option<String>,
    pub sub_type: Option<LegSubType>,
    pub guest: bool,
    pub direction: Option<String>,
    pub connected: bool,
    /// Waiting in the lobby (`deactivated`).
    pub in_lobby: bool,
    pub in_ivr: bool,
    /// When the leg started (as CMS reported it), if known.
    #[serde(with = "time::serde::rfc3339::option")]
    pub started: Option<OffsetDateTime>,
}

impl LiveLeg {
    pub fn is_distribution_link(&self) -> bool {
        self.sub_type == Some(LegSubType::DistributionLink)
    }

    pub fn is_web_app(&self) -> bool {
        self.sub_type == Some(LegSubType::WebApp)
    }

    /// "web app (guest)", "sip", "lync" … as pages show it.
    pub fn joined_with(&self) -> String {
        let base = match (&self.sub_type, self.leg_type.as_deref()) {
            (Some(LegSubType::WebApp), _) => "web app".to_string(),
            (Some(s), _) => s.as_str().to_string(),
            (None, Some(t)) => t.to_string(),
            (None, None) => "unknown".to_string(),
        };
        if self.guest {
            format!("{base} (guest)")
        } else {
            base
        }
    }

    /// The name to show: the display name, or a placeholder when CMS gave none.
    pub fn shown_name(&self) -> String {
        if self.display_name.is_empty() {
            "(no name)".into()
        } else {
            self.display_name.clone()
        }
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
    #[serde(with = "time::serde::rfc3339::option")]
    pub started: Option<OffsetDateTime>,
    pub legs: Vec<LiveLeg>,
    /// The banner CMS shows in this call now, as far as Switchboard knows.
    pub message_text: Option<String>,
}

impl LiveCall {
    /// The meeting this call instance belongs to: its callCorrelator (shared by the instances
    /// of a distributed call, one per bridge), else its own id.
    pub fn meeting_key(&self) -> &str {
        self.correlator.as_deref().unwrap_or(&self.id)
    }

    /// The banner shown now, with "" meaning none.
    pub fn shown_banner(&self) -> Option<&str> {
        self.message_text.as_deref().filter(|t| !t.is_empty())
    }
}

/// One meeting: the call instances sharing a callCorrelator across bridges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meeting {
    pub key: String,
    /// Ordered by node, then id.
    pub instances: Vec<LiveCall>,
}

impl Meeting {
    /// Groups call instances into meetings, ordered by key. The only grouping: `/calls`,
    /// `/lobby` and the banner enforcer all go through it.
    pub fn group(calls: impl IntoIterator<Item = LiveCall>) -> Vec<Meeting> {
        let mut groups: BTreeMap<String, Vec<LiveCall>> = BTreeMap::new();
        for c in calls {
            groups.entry(c.meeting_key().to_string()).or_default().push(c);
        }
        groups
            .into_iter()
            .map(|(key, mut instances)| {
                instances.sort_by(|a, b| a.node.cmp(&b.node).then(a.id.cmp(&b.id)));
                Meeting { key, instances }
            })
            .collect()
    }

    /// The first non-empty call name, else a placeholder.
    pub fn name(&self) -> String {
        self.instances.iter().map(|c| c.name.clone()).find(|n| !n.is_empty()).unwrap_or_else(|| "(unnamed call)".into())
    }

    /// Everyone in the meeting (not the links between bridges), with the call they are in.
    pub fn people(&self) -> impl Iterator<Item = (&LiveCall, &LiveLeg)> {
        self.instances.iter().flat_map(|c| c.legs.iter().filter(|l| !l.is_distribution_link()).map(move |l| (c, l)))
    }
}

/// Security level of one participant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SecurityLevel {
    /// An on-premises endpoint from a secure domain.
    Secure = 1,
    /// An internal client (e.g. Jabber) from an internal domain.
    Internal = 2,
    /// Anyone else: web-app users, guests, SIP from other domains.
    External = 3,
}

/// Where CMS shows the banner (`messagePosition`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BannerPosition {
    Top,
    Middle,
    Bottom,
}

impl BannerPosition {
    pub const ALL: [BannerPosition; 3] = [BannerPosition::Top, BannerPosition::Middle, BannerPosition::Bottom];

    pub fn as_str(self) -> &'static str {
        match self {
            BannerPosition::Top => "top",
            BannerPosition::Middle => "middle",
            BannerPosition::Bottom => "bottom",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|p| p.as_str() == s.trim()).ok_or_else(|| "Position must be top, middle or bottom.".to_string())
    }
}

/// How long CMS shows the banner (`messageDuration`): seconds, or for the whole call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum BannerDuration {
    Permanent,
    Seconds(u32),
}

impl BannerDuration {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "permanent" => Ok(BannerDuration::Permanent),
            n => n.parse().map(BannerDuration::Seconds).map_err(|_| "Duration must be a number of seconds or 'permanent'.".to_string()),
        }
    }

    /// The value CMS takes.
    pub fn as_cms(self) -> String {
        match self {
            BannerDuration::Permanent => "permanent".into(),
            BannerDuration::Seconds(n) => n.to_string(),
        }
    }
}

impl TryFrom<String> for BannerDuration {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        BannerDuration::parse(&s)
    }
}

impl From<BannerDuration> for String {
    fn from(d: BannerDuration) -> Self {
        d.as_cms()
    }
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
    pub position: BannerPosition,
    pub duration: BannerDuration,
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
            position: BannerPosition::Bottom,
            duration: BannerDuration::Permanent,
        }
    }
}

/// The banner rules as the settings form sends them: text fields, parsed by the banner service.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BannerRulesForm {
    pub restricted_keywords: String,
    pub secure_domains: String,
    pub internal_domains: String,
    pub restricted_text: String,
    pub external_text: String,
    pub internal_text: String,
    pub position: String,
    pub duration: String,
}

/// A meeting as `/calls` shows it.
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
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct BannerEvent {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub call_id: String,
    pub node: String,
    pub call_name: String,
    pub text: String,
    pub result: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "server", derive(sqlx::FromRow))]
pub struct CdrGap {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn call(id: &str, corr: Option<&str>, node: &str, name: &str) -> LiveCall {
        LiveCall {
            id: id.into(),
            bridge: String::new(),
            node: Some(node.into()),
            name: name.into(),
            co_space: None,
            owner: None,
            correlator: corr.map(str::to_string),
            call_type: None,
            started: None,
            legs: Vec::new(),
            message_text: None,
        }
    }

    #[test]
    fn instances_sharing_a_correlator_form_one_meeting_ordered_by_node() {
        let m = Meeting::group(vec![call("b", Some("k"), "cb2", ""), call("a", Some("k"), "cb1", "Board"), call("c", None, "cb1", "")]);
        assert_eq!(m.iter().map(|m| m.key.as_str()).collect::<Vec<_>>(), ["c", "k"], "ordered by key");
        assert_eq!(m[1].instances.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(m[1].name(), "Board");
        assert_eq!(m[0].name(), "(unnamed call)", "no correlator: the call alone");
    }

    #[test]
    fn banner_settings_read_and_write_the_strings_cms_and_older_versions_use() {
        assert_eq!(BannerDuration::parse("30"), Ok(BannerDuration::Seconds(30)));
        assert!(BannerDuration::parse("forever").unwrap_err().contains("Duration"));
        assert!(BannerPosition::parse("left").unwrap_err().contains("Position"));
        let stored = r#"{"restricted_keywords":["x"],"secure_domains":[],"internal_domains":[],"restricted_text":"R","external_text":"E","internal_text":"","position":"top","duration":"permanent"}"#;
        let r: BannerRules = serde_json::from_str(stored).unwrap();
        assert_eq!((r.position, r.duration), (BannerPosition::Top, BannerDuration::Permanent));
        assert_eq!(serde_json::to_string(&r).unwrap(), stored);
    }

    #[test]
    fn leg_sub_types_are_parsed_and_unknown_ones_kept() {
        assert_eq!(LegSubType::from("webApp"), LegSubType::WebApp);
        assert_eq!(LegSubType::from("teams").as_str(), "teams");
    }
}
