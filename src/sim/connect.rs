//! A Webex Connect simulator: `POST /v1/sms/messages` and `POST /v1/voice/messages` as the
//! messaging API takes them (../shared/reference/webex.md §4): the service key raw in `Authorization`
//! (no `Bearer`), JSON bodies, 202 with an id when accepted. Awkward parts on request: latency,
//! 429 with `Retry-After`, 5xx. `GET /sim/messages` lists what was accepted or refused, so tests
//! and people can see what a responder would have received.
//! The error body shape is not documented in the reference [I]: `{"code": …, "description": …}`.

use crate::sim::faults::Fault;
use crate::sync::lock;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Debug, Clone)]
pub struct ConnectConfig {
    /// The service key callers must send as `Authorization: <key>`.
    pub service_key: String,
}

/// Faults to inject, changeable while running.
pub type ConnectFaults = crate::sim::faults::HttpFaults;

/// One request the simulator received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectMessage {
    /// `sms` or `voice`.
    pub channel: String,
    pub from: String,
    pub to: String,
    /// The SMS text or the text spoken.
    pub text: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The id given when accepted.
    pub id: Option<String>,
}

struct Shared {
    cfg: ConnectConfig,
    faults: Arc<ConnectFaults>,
    log: Mutex<Vec<ConnectMessage>>,
}

/// A running simulator; stops when dropped.
pub struct SimConnect {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimConnect {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SimConnect {
    pub async fn start(addr: SocketAddr, cfg: ConnectConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared { cfg, faults: Arc::new(ConnectFaults::default()), log: Mutex::new(Vec::new()) });
        let app = Router::new()
            .route("/v1/sms/messages", post(sms))
            .route("/v1/voice/messages", post(voice))
            .route("/sim/messages", get(sim_messages))
            .with_state(shared.clone());
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Webex Connect simulator stopped");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// The base URL (`http://127.0.0.1:port`); the API is under `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn faults(&self) -> &ConnectFaults {
        &self.shared.faults
    }

    pub fn messages(&self) -> Vec<ConnectMessage> {
        lock(&self.shared.log).clone()
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SmsBody {
    from: String,
    to: String,
    content: String,
    #[serde(default)]
    content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct VoiceBody {
    caller_id: String,
    dialed_number: String,
    audio: Audio,
}

#[derive(Debug, Deserialize)]
struct Audio {
    #[serde(rename = "type")]
    kind: String,
    text: String,
}

fn error(status: StatusCode, code: &str, description: &str) -> Response {
    (status, Json(serde_json::json!({ "code": code, "description": description }))).into_response()
}

/// E.164: `+`, a non-zero digit, 7 to 15 digits in all.
pub fn is_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

/// Auth and faults, in the order the real service would meet them.
async fn gate(s: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    s.faults.delay().await;
    let key = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if key != s.cfg.service_key {
        return Err(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The service key is missing or wrong (send it raw in Authorization, no Bearer).",
        ));
    }
    match s.faults.next() {
        Some(Fault::Throttle(secs)) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests; retry later.");
            r.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
            Err(r)
        }
        Some(Fault::Fail) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The service is temporarily unavailable.")),
        None => Ok(()),
    }
}

fn accept(s: &Shared, mut m: ConnectMessage) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    m.status = 202;
    m.id = Some(id.clone());
    lock(&s.log).push(m);
    (StatusCode::ACCEPTED, Json(serde_json::json!({ "requestId": id, "messageId": id }))).into_response()
}

fn refuse(s: &Shared, mut m: ConnectMessage, status: StatusCode, code: &str, why: &str) -> Response {
    m.status = status.as_u16();
    lock(&s.log).push(m);
    error(status, code, why)
}

/// A request stopped by the key check or a fault is logged too (with the status it got).
fn refused_at_gate(s: &Shared, m: Option<ConnectMessage>, r: Response) -> Response {
    if let Some(mut m) = m {
        m.status = r.status().as_u16();
        lock(&s.log).push(m);
    }
    r
}

async fn sms(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<SmsBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let parsed = body.as_ref().ok().map(|Json(b)| ConnectMessage {
        channel: "sms".into(),
        from: b.from.clone(),
        to: b.to.clone(),
        text: b.content.clone(),
        status: 0,
        id: None,
    });
    if let Err(r) = gate(&s, &headers).await {
        return refused_at_gate(&s, parsed, r);
    }
    let (Ok(Json(b)), Some(m)) = (body, parsed) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "The body must be JSON with from, to and content.");
    };
    if !is_e164(&b.to) {
        return refuse(&s, m, StatusCode::BAD_REQUEST, "INVALID_DESTINATION", &format!("'{}' is not an E.164 number", b.to));
    }
    if b.content.is_empty() || b.content_type.as_deref().is_some_and(|t| t != "TEXT") {
        return refuse(&s, m, StatusCode::BAD_REQUEST, "INVALID_CONTENT", "content must be non-empty TEXT");
    }
    accept(&s, m)
}

async fn voice(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Result<Json<VoiceBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let parsed = body.as_ref().ok().map(|Json(b)| ConnectMessage {
        channel: "voice".into(),
        from: b.caller_id.clone(),
        to: b.dialed_number.clone(),
        text: b.audio.text.clone(),
        status: 0,
        id: None,
    });
    if let Err(r) = gate(&s, &headers).await {
        return refused_at_gate(&s, parsed, r);
    }
    let (Ok(Json(b)), Some(m)) = (body, parsed) else {
        return error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", "The body must be JSON with callerId, dialedNumber and audio.");
    };
    if !is_e164(&b.dialed_number) {
        return refuse(&s, m, StatusCode::BAD_REQUEST, "INVALID_DESTINATION", &format!("'{}' is not an E.164 number", b.dialed_number));
    }
    if b.audio.kind != "TTS" || b.audio.text.is_empty() {
        return refuse(&s, m, StatusCode::BAD_REQUEST, "INVALID_AUDIO", "audio must be TTS with text");
    }
    accept(&s, m)
}

async fn sim_messages(State(s): State<Arc<Shared>>) -> Json<Vec<ConnectMessage>> {
    Json(lock(&s.log).clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sim() -> SimConnect {
        SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: "svc-key".into() }).await.unwrap()
    }

    async fn post(s: &SimConnect, path: &str, key: &str, body: serde_json::Value) -> reqwest::Response {
        reqwest::Client::new().post(format!("{}{path}", s.url())).header("authorization", key).json(&body).send().await.unwrap()
    }

    #[tokio::test]
    async fn sms_and_voice_are_accepted_with_an_id_and_logged() {
        let s = sim().await;
        let r = post(
            &s,
            "/v1/sms/messages",
            "svc-key",
            serde_json::json!({"from": "+14155550100", "to": "+14155550123", "content": "Join", "contentType": "TEXT"}),
        )
        .await;
        assert_eq!(r.status(), 202);
        let id = r.json::<serde_json::Value>().await.unwrap()["messageId"].as_str().unwrap().to_string();
        let audio = serde_json::json!({"type": "TTS", "text": "Incident", "textFormat": "TEXT", "voice": "AriaNeural", "engine": "AZURE", "language": "en-US", "gender": "female"});
        let r = post(
            &s,
            "/v1/voice/messages",
            "svc-key",
            serde_json::json!({"callerId": "+14155550199", "dialedNumber": "+4520304050", "audio": audio}),
        )
        .await;
        assert_eq!(r.status(), 202);
        let log = s.messages();
        assert_eq!((log[0].channel.as_str(), log[0].id.as_deref(), log[1].text.as_str()), ("sms", Some(id.as_str()), "Incident"));
    }

    #[tokio::test]
    async fn a_wrong_key_a_bearer_key_and_a_bad_number_are_refused_with_the_reason() {
        let s = sim().await;
        let sms = |to: &str| serde_json::json!({"from": "+14155550100", "to": to, "content": "x"});
        assert_eq!(post(&s, "/v1/sms/messages", "nope", sms("+14155550123")).await.status(), 401);
        assert_eq!(post(&s, "/v1/sms/messages", "Bearer svc-key", sms("+14155550123")).await.status(), 401, "the key goes raw");
        let r = post(&s, "/v1/sms/messages", "svc-key", sms("0455 555")).await;
        assert_eq!(r.status(), 400);
        assert!(r.text().await.unwrap().contains("E.164"));
        assert_eq!(s.messages().last().unwrap().status, 400);
    }

    #[tokio::test]
    async fn throttling_answers_429_with_retry_after_and_failures_503() {
        let s = sim().await;
        s.faults().set_throttle_every(2);
        let body = serde_json::json!({"from": "+14155550100", "to": "+14155550123", "content": "x"});
        assert_eq!(post(&s, "/v1/sms/messages", "svc-key", body.clone()).await.status(), 202);
        let r = post(&s, "/v1/sms/messages", "svc-key", body.clone()).await;
        assert_eq!((r.status().as_u16(), r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string())), (429, Some("1".into())));
        s.faults().set_throttle_every(0);
        s.faults().set_fail_every(1);
        assert_eq!(post(&s, "/v1/sms/messages", "svc-key", body).await.status(), 503);
        let statuses: Vec<u16> = s.messages().iter().map(|m| m.status).collect();
        assert_eq!(statuses, vec![202, 429, 503], "refused requests are logged with the status they got; only one was accepted");
    }

    #[test]
    fn e164_numbers_only() {
        assert!(is_e164("+14155550123") && is_e164("+4520304050"));
        for bad in ["14155550123", "+0123456789", "+1 415 555", "+12", "+1234567890123456"] {
            assert!(!is_e164(bad), "{bad}");
        }
    }
}
