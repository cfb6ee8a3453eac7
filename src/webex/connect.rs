//! Webex Connect's messaging API (../shared/reference/webex.md §4): SMS and text-to-speech voice calls,
//! authorised by the service key itself in `Authorization` (no `Bearer`). 202 with an id means
//! accepted; anything else is a failure with its reason.

use super::client::retry_after;
use super::ApiError;
use crate::outbound::{read_body, HttpLimits};
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;

/// What an accepted message is called by Connect (its id when the answer has one).
pub type ConnectId = String;

#[derive(Clone)]
pub struct ConnectApi {
    http: reqwest::Client,
    base: String,
    key: String,
    limits: HttpLimits,
}

impl std::fmt::Debug for ConnectApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectApi").field("base", &self.base).finish_non_exhaustive()
    }
}

/// The voice settings of a TTS call.
#[derive(Debug, Clone)]
pub struct Voice {
    pub voice: String,
    pub engine: String,
    pub language: String,
    pub gender: String,
}

impl Default for Voice {
    fn default() -> Self {
        Self { voice: "AriaNeural".into(), engine: "AZURE".into(), language: "en-US".into(), gender: "female".into() }
    }
}

impl ConnectApi {
    pub fn new(http: reqwest::Client, base: &str, service_key: &str) -> Self {
        Self { http, base: base.trim_end_matches('/').to_string(), key: service_key.to_string(), limits: HttpLimits::default() }
    }

    /// The answer cap and the timeouts errors name (the client's own are set where it is built).
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    pub async fn sms(&self, from: &str, to: &str, text: &str) -> Result<ConnectId, ApiError> {
        let body = serde_json::json!({"from": from, "to": to, "content": text, "contentType": "TEXT"});
        self.post("/v1/sms/messages", &body).await
    }

    pub async fn voice(&self, caller_id: &str, to: &str, text: &str, v: &Voice) -> Result<ConnectId, ApiError> {
        let body = serde_json::json!({
            "callerId": caller_id, "dialedNumber": to,
            "audio": {"type": "TTS", "text": text, "textFormat": "TEXT", "voice": v.voice, "engine": v.engine,
                      "language": v.language, "gender": v.gender}
        });
        self.post("/v1/voice/messages", &body).await
    }

    async fn post(&self, path: &str, body: &serde_json::Value) -> Result<ConnectId, ApiError> {
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, &self.key)
            .json(body)
            .send()
            .await
            .map_err(|e| ApiError::from(self.limits.error(e)))?;
        let status = res.status();
        let ra = retry_after(res.headers());
        // Read within the cap; an accepted send whose answer cannot be read is still accepted.
        let text = read_body(res, &self.limits).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        if status.is_success() {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Accepted {
                message_id: Option<String>,
                request_id: Option<String>,
            }
            let id = serde_json::from_str::<Accepted>(&text).ok().and_then(|a| a.message_id.or(a.request_id)).unwrap_or_default();
            return Ok(id);
        }
        #[derive(Deserialize)]
        struct Refusal {
            #[serde(default)]
            description: String,
        }
        let reason = serde_json::from_str::<Refusal>(&text).map(|r| r.description).unwrap_or_default();
        Err(match status.as_u16() {
            401 | 403 => ApiError::Refused { status: status.as_u16(), message: "Webex Connect refused the service key".into() },
            _ => ApiError::from_status(status, ra, reason),
        })
    }
}
