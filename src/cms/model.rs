//! Typed views of the CMS API's XML objects. Fields CMS may omit are `Option`/defaults;
//! unknown elements are ignored, so newer CMS versions do not break parsing.

use serde::{Deserialize, Deserializer};

fn bool_text<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let s = String::deserialize(d)?;
    Ok(matches!(s.trim(), "true" | "1"))
}

fn opt_bool_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    Ok(s.map(|s| matches!(s.trim(), "true" | "1")))
}

/// One `<call>` of `GET /calls`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallSummary {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub co_space: Option<String>,
    pub call_correlator: Option<String>,
    pub tenant: Option<String>,
}

/// `GET /calls/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallDetail {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub co_space: Option<String>,
    pub call_correlator: Option<String>,
    pub tenant: Option<String>,
    pub duration_seconds: Option<u64>,
    pub num_call_legs: Option<u32>,
    pub num_participants_local: Option<u32>,
    pub num_participants_remote: Option<u32>,
    pub num_distributed_instances: Option<u32>,
    #[serde(default, deserialize_with = "opt_bool_text")]
    pub locked: Option<bool>,
    pub message_text: Option<String>,
    pub message_position: Option<String>,
    pub message_duration: Option<String>,
}

/// One `<callLeg>` of `GET /callLegs` or `GET /calls/<id>/callLegs`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLegSummary {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub remote_party: Option<String>,
    pub call: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLegStatus {
    /// Present and true while the person waits in the lobby.
    #[serde(default, deserialize_with = "bool_text")]
    pub deactivated: bool,
    pub duration_seconds: Option<u64>,
    pub state: Option<String>,
}

/// `GET /callLegs/<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CallLeg {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub remote_party: Option<String>,
    pub local_address: Option<String>,
    pub call: Option<String>,
    pub r#type: Option<String>,
    pub sub_type: Option<String>,
    pub direction: Option<String>,
    #[serde(default)]
    pub status: CallLegStatus,
}

impl CallLeg {
    /// The inter-bridge link of a distributed call, not a person.
    pub fn is_distribution_link(&self) -> bool {
        self.sub_type.as_deref() == Some("distributionLink")
    }
}

/// One `<participant>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub call: Option<String>,
    pub tenant: Option<String>,
    pub call_bridge: Option<String>,
}

/// A `<coSpace>` (list entries carry a subset of these).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CoSpace {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub uri: Option<String>,
    pub secondary_uri: Option<String>,
    pub call_id: Option<String>,
    pub passcode: Option<String>,
    pub secret: Option<String>,
    pub owner_jid: Option<String>,
    pub tenant: Option<String>,
}

/// A `<user>` (LDAP-synced, read-only).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    #[serde(rename = "@id")]
    pub id: String,
    pub user_jid: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub tenant: Option<String>,
}

/// A `<userCoSpace>`: a space associated with a user (`GET /users/<id>/usercoSpaces`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserCoSpace {
    #[serde(rename = "@id")]
    pub id: String,
    pub co_space_id: Option<String>,
    pub auto_generated: Option<bool>,
}

/// A `<callBrandingProfile>` or `<ivrBrandingProfile>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BrandingProfile {
    #[serde(rename = "@id")]
    pub id: String,
    pub invitation_template: Option<String>,
    pub resource_location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebBridgeProfile {
    #[serde(rename = "@id")]
    pub id: String,
    pub name: Option<String>,
    pub resource_archive: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CdrReceiver {
    #[serde(rename = "@id")]
    pub id: String,
    pub uri: Option<String>,
    pub url: Option<String>,
}

impl CdrReceiver {
    /// CMS versions differ on the element name; either means the same.
    pub fn target(&self) -> Option<&str> {
        self.uri.as_deref().or(self.url.as_deref())
    }
}

/// `GET /system/status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemStatus {
    pub software_version: Option<String>,
    pub uptime_seconds: Option<u64>,
    #[serde(default, deserialize_with = "opt_bool_text")]
    pub activated: Option<bool>,
    pub call_legs_active: Option<u32>,
}
