//! Operational endpoints and request tracing.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::sync::Arc;
use switchboard::status::StatusService;
use tracing::Span;

/// 200 when the database answers and every background worker is alive; 503 naming what is not.
/// Never needs a session.
pub async fn healthz(State(status): State<Arc<StatusService>>) -> impl IntoResponse {
    let h = status.health().await;
    if h.ok() {
        return (StatusCode::OK, "ok: database reachable, workers running\n".to_string());
    }
    let mut problems = Vec::new();
    if !h.database {
        problems.push("database unreachable".to_string());
    }
    if !h.failing_workers.is_empty() {
        problems.push(format!("workers not running: {}", h.failing_workers.join(", ")));
    }
    (StatusCode::SERVICE_UNAVAILABLE, format!("unhealthy: {}\n", problems.join("; ")))
}

/// Headers every response carries. Pages rendered by Leptos set their own Content-Security-Policy
/// with the response's script nonce (`app::api::ssr::page_policy`); anything else (the
/// acknowledgement and problem pages, JSON, files for CMS) gets this one, which runs no script.
pub fn security_headers<S: Clone + Send + Sync + 'static>(router: axum::Router<S>) -> axum::Router<S> {
    use axum::http::{header, HeaderValue};
    use tower_http::set_header::SetResponseHeaderLayer;
    router
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FALLBACK_POLICY)))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        // Full referrer inside the site only: acknowledgement links carry a token in the path.
        // (Not `no-referrer`: browsers would then send `Origin: null` on our own form posts.)
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
}

pub const FALLBACK_POLICY: &str =
    "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// One span per request, carrying the request id so every log line of a request can be found.
pub fn request_span(req: &Request) -> Span {
    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
    tracing::info_span!("request", id = %id, method = %req.method(), path = %loggable_path(req.uri().path()))
}

/// The path as logs may show it: an acknowledgement link's token is a bearer secret (whoever
/// holds it answers for the responder), so it never reaches a log line.
pub fn loggable_path(path: &str) -> &str {
    match path.strip_prefix("/ack/") {
        Some(t) if !t.is_empty() => "/ack/(token)",
        _ => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acknowledgement_tokens_never_reach_the_request_log() {
        assert_eq!(loggable_path("/ack/Zm9vYmFyLXNlY3JldC10b2tlbg"), "/ack/(token)");
        assert_eq!(loggable_path("/ack/abc/extra"), "/ack/(token)");
        assert_eq!(loggable_path("/calls"), "/calls");
        assert_eq!(loggable_path("/ack/"), "/ack/");
    }
}
