//! The two sends, checked in the order the service meets a request: the service key, faults,
//! the body (JSON, by a `Content-Type` compared case-insensitively), the fields the API marks
//! mandatory, the `Idempotency-Key`; then the send is accepted (and its answer perhaps lost).
//! Codes other than the documented 7000–7003 are the simulator's own [I].

use super::{ConnectMessage, Shared, KEY_MEMORY};
use crate::sim::faults::Fault;
use crate::sim::lost::Cut;
use crate::sync::lock;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::Value;
use std::sync::Arc;
use std::time::Instant;

/// The longest `Idempotency-Key` the API takes.
const MAX_KEY: usize = 64;
/// The longest SMS `content` the API takes.
const MAX_CONTENT: usize = 1024;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(serde_json::json!({ "code": code, "message": message }))).into_response()
}

/// A refusal before it becomes a response.
struct Refusal(StatusCode, &'static str, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        error(self.0, self.1, &self.2)
    }
}

/// E.164: `+`, a non-zero digit, 7 to 15 digits in all.
pub fn is_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

/// The service key, then faults.
async fn gate(s: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    s.faults.delay().await;
    match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::trim) {
        None | Some("") => return Err(error(StatusCode::UNAUTHORIZED, "7002", "Service Key Missing")),
        Some(k) if k != s.cfg.service_key => return Err(error(StatusCode::UNAUTHORIZED, "7001", "Authentication failed.")),
        Some(_) => {}
    }
    match s.faults.next() {
        Some(Fault::Throttle(secs)) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", "Too many requests; retry later.");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            Err(r)
        }
        Some(Fault::Fail) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "The service is temporarily unavailable.")),
        None => Ok(()),
    }
}

/// The body as JSON: `application/json` in any letter case, parameters (charset) ignored.
fn json_body(headers: &HeaderMap, body: &Bytes) -> Result<Value, Refusal> {
    let essence = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/json") {
        return Err(Refusal(StatusCode::UNSUPPORTED_MEDIA_TYPE, "7000", "Invalid JSON: send Content-Type: application/json.".into()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) if v.is_object() => Ok(v),
        _ => Err(Refusal(StatusCode::BAD_REQUEST, "7000", "Invalid JSON".into())),
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

/// A mandatory string field, present and not empty.
fn required<'a>(v: &'a Value, field: &str) -> Result<&'a str, Refusal> {
    text(v, field).filter(|t| !t.trim().is_empty()).ok_or_else(|| mandatory(field))
}

fn mandatory(field: &str) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, "7003", format!("param '{field}' is mandatory"))
}

fn invalid(code: &'static str, why: &str) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, code, why.into())
}

/// The `Idempotency-Key`, if one was sent; too long or empty is refused.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, Refusal> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str().map(str::trim) {
        Ok(k) if !k.is_empty() && k.len() <= MAX_KEY => Ok(Some(k.to_string())),
        _ => Err(invalid("INVALID_IDEMPOTENCY_KEY", &format!("Idempotency-Key must be 1 to {MAX_KEY} characters"))),
    }
}

/// What was asked, as far as it could be read (for the log).
fn draft(channel: &str, v: Option<&Value>, from: &str, to: &str, text_of: impl Fn(&Value) -> Option<String>) -> ConnectMessage {
    ConnectMessage {
        channel: channel.into(),
        from: v.and_then(|v| text(v, from)).unwrap_or_default().into(),
        to: v.and_then(|v| text(v, to)).unwrap_or_default().into(),
        text: v.and_then(text_of).unwrap_or_default(),
        status: 0,
        id: None,
        correlation_id: v.and_then(|v| text(v, "correlationId")).map(String::from),
        idempotency_key: None,
        answer_lost: false,
    }
}

fn log(s: &Shared, mut m: ConnectMessage, r: Response) -> Response {
    m.status = r.status().as_u16();
    lock(&s.log).push(m);
    r
}

/// A duplicate of a send accepted in the last hour, or the send accepted now.
fn accept(s: &Shared, mut m: ConnectMessage, cut: &Cut) -> Response {
    let now = Instant::now();
    if let Some(k) = &m.idempotency_key {
        let mut keys = lock(&s.keys);
        keys.retain(|_, (at, _)| now.duration_since(*at) < KEY_MEMORY);
        if let Some((_, id)) = keys.get(k) {
            let why = format!("Duplicate request: this Idempotency-Key was accepted in the last hour (messageId {id}).");
            drop(keys);
            return log(s, m, error(StatusCode::CONFLICT, "DUPLICATE_REQUEST", &why));
        }
    }
    let id = uuid::Uuid::new_v4().to_string();
    if let Some(k) = &m.idempotency_key {
        lock(&s.keys).insert(k.clone(), (now, id.clone()));
    }
    let mut body = serde_json::json!({ "messageId": id });
    if let Some(c) = &m.correlation_id {
        body["correlationId"] = Value::String(c.clone());
    }
    m.id = Some(id);
    if s.faults.lose_answer() {
        m.answer_lost = true;
        cut.pull();
    }
    log(s, m, (StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Everything before the fields: key and faults, body, `Idempotency-Key`.
async fn prelude(s: &Shared, headers: &HeaderMap, body: &Bytes, m: &mut ConnectMessage) -> Result<Value, Response> {
    gate(s, headers).await?;
    let v = json_body(headers, body).map_err(IntoResponse::into_response)?;
    m.idempotency_key = idempotency_key(headers).map_err(IntoResponse::into_response)?;
    Ok(v)
}

pub(super) async fn sms(State(s): State<Arc<Shared>>, ConnectInfo(cut): ConnectInfo<Cut>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let mut m = draft("sms", parsed.as_ref(), "from", "to", |v| text(v, "content").map(String::from));
    let v = match prelude(&s, &headers, &body, &mut m).await {
        Ok(v) => v,
        Err(r) => return log(&s, m, r),
    };
    if let Err(r) = check_sms(&v) {
        return log(&s, m, r.into_response());
    }
    accept(&s, m, &cut)
}

/// `from`, `to` (E.164), `content` (at most 1024 characters), `contentType` TEXT or TEMPLATE in
/// any letter case (the reference's sample writes `TEXT`, the API page `text`; TEXT by default).
fn check_sms(v: &Value) -> Result<(), Refusal> {
    required(v, "from")?;
    let to = required(v, "to")?;
    let content = required(v, "content")?;
    if !is_e164(to) {
        return Err(invalid("INVALID_DESTINATION", &format!("'{to}' is not an E.164 number")));
    }
    if content.chars().count() > MAX_CONTENT {
        return Err(invalid("INVALID_CONTENT", &format!("content is longer than {MAX_CONTENT} characters")));
    }
    match text(v, "contentType") {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("text") || t.eq_ignore_ascii_case("template") => Ok(()),
        Some(t) => Err(invalid("INVALID_CONTENT_TYPE", &format!("contentType '{t}' must be TEXT or TEMPLATE"))),
    }
}

pub(super) async fn voice(State(s): State<Arc<Shared>>, ConnectInfo(cut): ConnectInfo<Cut>, headers: HeaderMap, body: Bytes) -> Response {
    let parsed = serde_json::from_slice::<Value>(&body).ok();
    let spoken = |v: &Value| v.get("audio").and_then(|a| text(a, "text")).map(String::from);
    let mut m = draft("voice", parsed.as_ref(), "callerId", "dialedNumber", spoken);
    let v = match prelude(&s, &headers, &body, &mut m).await {
        Ok(v) => v,
        Err(r) => return log(&s, m, r),
    };
    if let Err(r) = check_voice(&v) {
        return log(&s, m, r.into_response());
    }
    accept(&s, m, &cut)
}

/// A text-to-speech call needs `callerId`, `dialedNumber` (E.164) and `audio` with `type` TTS,
/// `text`, `language`, `voice`, `gender` and `engine` (all mandatory on the API page; `style`
/// defaults to NEURAL, `textFormat` to TEXT; values compared in any letter case).
fn check_voice(v: &Value) -> Result<(), Refusal> {
    required(v, "callerId")?;
    let to = required(v, "dialedNumber")?;
    let Some(audio) = v.get("audio").filter(|a| a.is_object()) else {
        return Err(mandatory("audio"));
    };
    let kind = required(audio, "type")?;
    for field in ["text", "language", "voice", "gender", "engine"] {
        required(audio, field).map_err(|_| mandatory(&format!("audio.{field}")))?;
    }
    if !is_e164(to) {
        return Err(invalid("INVALID_DESTINATION", &format!("'{to}' is not an E.164 number")));
    }
    if !kind.eq_ignore_ascii_case("tts") {
        return Err(invalid("INVALID_AUDIO", "audio.type must be TTS for a text-to-speech call"));
    }
    let one_of = |field: &str, allowed: &[&str]| match text(audio, field) {
        Some(x) if !allowed.iter().any(|a| a.eq_ignore_ascii_case(x)) => {
            Err(invalid("INVALID_AUDIO", &format!("audio.{field} '{x}' must be one of {}", allowed.join(", "))))
        }
        _ => Ok(()),
    };
    one_of("gender", &["FEMALE", "MALE"])?;
    one_of("textFormat", &["TEXT", "SSML"])?;
    one_of("style", &["NEURAL", "STANDARD"])
}
