//! `[connect]`: Webex Connect, the SMS and voice channel of incidents — its URL and service
//! key (which make the client), the sender numbers and the voice.

use super::{ConfigError, HttpLimitsConfig, Secret};
use serde::{Deserialize, Serialize};

/// Webex Connect (SMS and voice for incidents).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectConfig {
    /// The messaging API base (`/v1/sms/messages` is under it).
    pub url: String,
    /// The service key; empty: no SMS or voice.
    pub service_key: Option<Secret>,
    /// Sender numbers (E.164).
    pub sms_from: String,
    pub voice_from: String,
    pub voice: String,
    pub voice_language: String,
    pub voice_gender: String,
    /// `[connect.http]`: timeouts and answer cap of requests to Webex Connect.
    pub http: HttpLimitsConfig,
}

impl Default for ConnectConfig {
    fn default() -> Self {
        Self {
            url: "https://api-sandbox.imiconnect.io".into(),
            service_key: None,
            sms_from: String::new(),
            voice_from: String::new(),
            voice: "AriaNeural".into(),
            voice_language: "en-US".into(),
            voice_gender: "female".into(),
            http: HttpLimitsConfig::default(),
        }
    }
}

impl ConnectConfig {
    /// The URL the service key goes to, by key (when a key is set).
    pub(super) fn secret_bearing_urls(&self) -> Vec<(&'static str, &str)> {
        self.service_key.as_ref().map(|_| ("connect.url", self.url.as_str())).into_iter().collect()
    }

    /// The client's base URL and service key; `None` (no key): no SMS or voice.
    pub fn client(&self) -> Option<(String, String)> {
        self.service_key.as_ref().filter(|k| !k.0.is_empty()).map(|k| (self.url.clone(), k.0.clone()))
    }

    pub fn limits(&self) -> Result<switchboard::outbound::HttpLimits, ConfigError> {
        self.http.limits("connect.http")
    }

    /// The voice calls speak with.
    pub fn voice(&self) -> switchboard::webex::connect::Voice {
        switchboard::webex::connect::Voice {
            voice: self.voice.clone(),
            engine: "AZURE".into(),
            language: self.voice_language.clone(),
            gender: self.voice_gender.clone(),
        }
    }
}
