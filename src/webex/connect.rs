//! Webex Connect's messaging API (../shared/reference/webex.md §4; developers.webexconnect.io
//! "Send SMS API v1", "Make Outbound Calls Using Voice API v1"): SMS and text-to-speech voice
//! calls, authorised by the service key itself in `Authorization` (no `Bearer`). 202 with a
//! message id means accepted; a refusal carries `{"code", "message"}`.
//! Sent once: every send carries the caller's key as `Idempotency-Key` (Connect refuses a key it
//! accepted in the last hour as a duplicate) and as `correlationId`, so a send repeated after its
//! answer was lost is recognised instead of delivered twice.

use super::client::retry_after;
use super::ApiError;
use crate::outbound::{read_body, HttpLimits};
use reqwest::header::AUTHORIZATION;
use serde::Deserialize;

/// What an accepted message is called by Connect.
pub type ConnectId = String;

/// The longest `Idempotency-Key` Connect takes.
pub const MAX_SEND_KEY: usize = 64;

/// Connect took the send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Its message id, when the answer carried one.
    pub id: Option<ConnectId>,
    /// Connect had already accepted an earlier attempt with the same key (whose answer was lost).
    pub earlier: bool,
}

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

/// The voice settings of a TTS call (all mandatory at Connect).
#[derive(Debug, Clone)]
pub struct Voice {
    pub voice: String,
    pub engine: String,
    pub language: String,
    pub gender: String,
}

impl Default for Voice {
    fn default() -> Self {
        Self { voice: "AriaNeural".into(), engine: "AZURE".into(), language: "en-US".into(), gender: "FEMALE".into() }
    }
}

/// A refusal's body.
#[derive(Deserialize)]
struct Refusal {
    #[serde(default)]
    code: serde_json::Value,
    #[serde(default)]
    message: String,
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

    /// Sends an SMS once per `send_key` (at most [`MAX_SEND_KEY`] characters).
    pub async fn sms(&self, from: &str, to: &str, text: &str, send_key: &str) -> Result<Accepted, ApiError> {
        let body = serde_json::json!({"from": from, "to": to, "content": text, "contentType": "TEXT", "correlationId": send_key});
        self.post("/v1/sms/messages", &body, send_key).await
    }

    /// Places a text-to-speech call once per `send_key`.
    pub async fn voice(&self, caller_id: &str, to: &str, text: &str, v: &Voice, send_key: &str) -> Result<Accepted, ApiError> {
        let body = serde_json::json!({
            "callerId": caller_id, "dialedNumber": to, "correlationId": send_key,
            "audio": {"type": "TTS", "text": text, "textFormat": "TEXT", "style": "NEURAL", "voice": v.voice, "engine": v.engine,
                      "language": v.language, "gender": v.gender}
        });
        self.post("/v1/voice/messages", &body, send_key).await
    }

    async fn post(&self, path: &str, body: &serde_json::Value, send_key: &str) -> Result<Accepted, ApiError> {
        if send_key.is_empty() || send_key.len() > MAX_SEND_KEY {
            return Err(ApiError::Protocol(format!("a Webex Connect send key must be 1 to {MAX_SEND_KEY} characters")));
        }
        let res = self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, &self.key)
            .header("Idempotency-Key", send_key)
            .json(body)
            .send()
            .await
            .map_err(|e| ApiError::from_send(&self.limits, e))?;
        let status = res.status();
        let ra = retry_after(res.headers());
        // Read within the cap; an accepted send whose answer cannot be read is still accepted.
        let text = read_body(res, &self.limits).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        if status.is_success() {
            #[derive(Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Answer {
                message_id: Option<String>,
                request_id: Option<String>,
            }
            let id = serde_json::from_str::<Answer>(&text).ok().and_then(|a| a.message_id.or(a.request_id)).filter(|i| !i.is_empty());
            return Ok(Accepted { id, earlier: false });
        }
        let reason = serde_json::from_str::<Refusal>(&text)
            .map(|r| match r.code {
                serde_json::Value::String(c) if !c.is_empty() => format!("{} (code {c})", r.message),
                serde_json::Value::Number(c) => format!("{} (code {c})", r.message),
                _ => r.message,
            })
            .unwrap_or_default();
        Err(match status.as_u16() {
            // The key was used by a send Connect accepted: an earlier attempt of this one.
            409 => return Ok(Accepted { id: None, earlier: true }),
            401 | 403 => ApiError::Refused { status: status.as_u16(), message: format!("Webex Connect refused the service key: {reason}") },
            _ => ApiError::from_status(status, ra, reason),
        })
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::sim::connect::{ConnectConfig, SimConnect};

    async fn world() -> (SimConnect, ConnectApi) {
        let sim = SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: "k".into() }).await.unwrap();
        let api = ConnectApi::new(reqwest::Client::new(), &sim.url(), "k");
        (sim, api)
    }

    #[tokio::test]
    async fn a_send_repeated_after_its_answer_was_lost_is_recognised_not_sent_again() {
        let (sim, api) = world().await;
        sim.faults().set_lose_answer_every(1);
        let first = api.sms("+14155550100", "+14155550123", "Join", "delivery-1").await;
        assert!(matches!(first, Err(ref e) if e.may_have_taken_effect()), "{first:?}");
        sim.faults().set_lose_answer_every(0);
        let again = api.sms("+14155550100", "+14155550123", "Join", "delivery-1").await.unwrap();
        assert_eq!(again, Accepted { id: None, earlier: true });
        assert_eq!(sim.messages().iter().filter(|m| m.status == 202).count(), 1);
    }

    #[tokio::test]
    async fn a_call_carries_every_field_connect_requires_and_a_refusal_its_reason() {
        let (sim, api) = world().await;
        let ok = api.voice("+14155550199", "+4520304050", "Incident", &Voice::default(), "delivery-2").await.unwrap();
        assert!(ok.id.is_some() && !ok.earlier);
        let e = api.sms("+14155550100", "0455 555", "Join", "delivery-3").await.unwrap_err();
        assert!(matches!(&e, ApiError::Refused { status: 400, message } if message.contains("E.164") && message.contains("code")), "{e:?}");
        let wrong = ConnectApi::new(reqwest::Client::new(), &sim.url(), "not-the-key");
        let e = wrong.sms("+14155550100", "+14155550123", "Join", "delivery-4").await.unwrap_err();
        assert!(matches!(&e, ApiError::Refused { status: 401, message } if message.contains("7001")), "{e:?}");
    }

    #[tokio::test]
    async fn a_service_that_cannot_be_reached_was_not_sent_to() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let api = ConnectApi::new(reqwest::Client::new(), &format!("http://{closed}"), "k");
        let e = api.sms("+14155550100", "+14155550123", "Join", "delivery-5").await.unwrap_err();
        assert!(matches!(e, ApiError::Network(_)), "{e:?}");
        assert!(!e.may_have_taken_effect());
    }
}
