//! What an HTTP simulator received, for tests and people to look at: one log per simulator (per
//! node for CMS), the layer that fills it, and `GET`/`DELETE /sim/requests`, the same JSON shape
//! for the CMS, EWS and Graph simulators. Secrets sent in form bodies are masked.

use crate::sync::lock;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Entries kept; beyond, the oldest go.
const KEPT: usize = 10_000;
/// Bodies are read (and kept) up to this size; a larger one is answered 413 before any handler.
const BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Form fields whose values never appear in the log.
const SECRET_FIELDS: &[&str] =
    &["client_secret", "password", "refresh_token", "code", "code_verifier", "client_assertion", "passcode", "secret"];

/// One request as the simulator saw it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LoggedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub status: u16,
    /// When the answer was sent, in microseconds since the simulator started.
    pub at_us: u64,
}

/// A simulator's request log; clones share it.
#[derive(Debug, Clone)]
pub struct RequestLog(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    started: Instant,
    entries: Mutex<VecDeque<LoggedRequest>>,
}

impl Default for RequestLog {
    fn default() -> Self {
        Self(Arc::new(Inner { started: Instant::now(), entries: Mutex::new(VecDeque::new()) }))
    }
}

impl RequestLog {
    pub fn requests(&self) -> Vec<LoggedRequest> {
        lock(&self.0.entries).iter().cloned().collect()
    }

    pub fn clear(&self) {
        lock(&self.0.entries).clear();
    }

    /// Microseconds since the log began, the clock of `LoggedRequest::at_us`.
    pub fn clock_us(&self) -> u64 {
        self.0.started.elapsed().as_micros() as u64
    }

    pub fn record(&self, r: LoggedRequest) {
        let mut log = lock(&self.0.entries);
        if log.len() >= KEPT {
            log.pop_front();
        }
        log.push_back(r);
    }

    /// `GET /sim/requests` (the log as JSON) and `DELETE /sim/requests` (empties it).
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let (a, b) = (self.clone(), self.clone());
        Router::new().route(
            "/sim/requests",
            get(move || async move { Json(a.requests()) }).delete(move || async move {
                b.clear();
                StatusCode::NO_CONTENT
            }),
        )
    }
}

/// The layer: records every request but those to `/sim/…` with the status it was answered
/// (when the answer's headers went out; a streamed body may still be flowing).
pub async fn record(State(log): State<RequestLog>, req: Request, next: Next) -> Response {
    if req.uri().path().starts_with("/sim/") {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(b) => b,
        Err(_) => {
            let mut r = Response::new(Body::from("request body too large"));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            return r;
        }
    };
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let text = String::from_utf8_lossy(&bytes);
    let body = if form { mask_form(&text) } else { text.to_string() };
    let (method, path, query) = (parts.method.to_string(), parts.uri.path().to_string(), parts.uri.query().unwrap_or("").to_string());
    let res = next.run(Request::from_parts(parts, Body::from(bytes))).await;
    log.record(LoggedRequest { method, path, query, body, status: res.status().as_u16(), at_us: log.clock_us() });
    res
}

/// A form body with the values of secret fields replaced by `***`, the rest as sent.
fn mask_form(body: &str) -> String {
    body.split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if SECRET_FIELDS.iter().any(|s| k.eq_ignore_ascii_case(s)) => format!("{k}=***"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_form_fields_are_masked_and_the_rest_kept_as_sent() {
        assert_eq!(
            mask_form("grant_type=client_credentials&client_secret=s3cr%26t&scope=x&Password=p"),
            "grant_type=client_credentials&client_secret=***&scope=x&Password=***"
        );
        assert_eq!(mask_form("name=Board&uri=board"), "name=Board&uri=board");
    }

    #[test]
    fn the_log_keeps_the_newest_entries() {
        let log = RequestLog::default();
        for i in 0..KEPT + 3 {
            log.record(LoggedRequest {
                method: "GET".into(),
                path: format!("/{i}"),
                query: String::new(),
                body: String::new(),
                status: 200,
                at_us: 0,
            });
        }
        let r = log.requests();
        assert_eq!(r.len(), KEPT);
        assert_eq!(r[0].path, "/3");
    }
}
