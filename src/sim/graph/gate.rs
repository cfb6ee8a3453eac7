//! What every API request meets first, in Graph's order: the request logged, latency, the
//! bearer token, throttling and failures, then (under `/v1.0/users/{user}`) the mailbox's
//! existence and the app's access policy.

use super::discovery::public_base;
use super::token::url_decode;
use super::{error, Shared};
use crate::sim::faults::Fault;
use crate::sync::lock;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::Response;
use std::sync::Arc;
use std::time::Instant;

/// Microsoft Graph's application id, which its 401 challenge names.
const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

/// A request past authentication and faults, as every API request meets them first.
pub(super) struct App;

impl axum::extract::FromRequestParts<Arc<Shared>> for App {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        gate_app(s, &parts.method, &parts.uri, &parts.headers).await.map(|()| App)
    }
}

/// … under `/v1.0/users/{user}/…`, and that mailbox exists and is allowed (Graph's order).
pub(super) struct Mailbox(pub(super) String);

impl axum::extract::FromRequestParts<Arc<Shared>> for Mailbox {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        gate_app(s, &parts.method, &parts.uri, &parts.headers).await?;
        let user = parts.uri.path().strip_prefix("/v1.0/users/").and_then(|r| r.split('/').next()).unwrap_or_default();
        check_mailbox(s, &url_decode(user)).map(Mailbox).map_err(|r| *r)
    }
}

/// The mailbox exists and the app's access policy allows it.
pub(super) fn check_mailbox(s: &Shared, mailbox: &str) -> Result<String, Box<Response>> {
    let mailbox = mailbox.to_ascii_lowercase();
    if !s.cfg.mailboxes.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
        return Err(Box::new(error(StatusCode::NOT_FOUND, "ErrorInvalidUser", &format!("The requested user '{mailbox}' is invalid."))));
    }
    if !s.cfg.allowed.is_empty() && !s.cfg.allowed.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
        return Err(Box::new(error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access to OData is disabled: the application access policy does not allow this mailbox.",
        )));
    }
    Ok(mailbox)
}

/// Graph's 401: the error body, and `WWW-Authenticate: Bearer` naming where a token comes from
/// (here, this simulator) and Graph's own application id as the resource.
fn unauthorized(s: &Shared, headers: &HeaderMap, message: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", message);
    let challenge = format!(
        "Bearer realm=\"\", authorization_uri=\"{}/common/oauth2/authorize\", client_id=\"{GRAPH_APP_ID}\"",
        public_base(s, headers)
    );
    if let Ok(v) = challenge.parse() {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn pq(uri: &axum::http::Uri) -> String {
    uri.path_and_query().map(|p| p.to_string()).unwrap_or_default()
}

/// Authentication and faults, as every request meets them (subscriptions are not under a user).
async fn gate_app(s: &Shared, method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> Result<(), Response> {
    lock(&s.requests).push((method.to_string(), pq(uri)));
    s.faults.delay().await;
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(bearer) = bearer else {
        return Err(unauthorized(s, headers, "Access token is empty."));
    };
    let valid = lock(&s.tokens).get(bearer).is_some_and(|until| Instant::now() < *until);
    if !valid {
        return Err(unauthorized(s, headers, "Access token has expired or is not yet valid."));
    }
    match s.faults.next() {
        Some(Fault::Throttle(secs)) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.");
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Err(r)
        }
        Some(Fault::Fail) => Err(error(StatusCode::SERVICE_UNAVAILABLE, "ServiceNotAvailable", "The service is temporarily unavailable.")),
        None => Ok(()),
    }
}
