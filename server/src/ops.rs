//! Operational endpoints and request tracing.

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use switchboard::status::StatusService;
use tower_http::request_id::{MakeRequestId, RequestId};
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
    use tower_http::set_header::SetResponseHeaderLayer;
    let [csp, nosniff, referrer, frame] = static_security_headers();
    // One stack, applied once: each `Router::layer` call boxes every route again, and each box
    // is cloned on every request.
    router.layer(
        tower::ServiceBuilder::new()
            .layer(SetResponseHeaderLayer::overriding(frame.0, frame.1))
            .layer(SetResponseHeaderLayer::overriding(referrer.0, referrer.1))
            .layer(SetResponseHeaderLayer::overriding(nosniff.0, nosniff.1))
            .layer(SetResponseHeaderLayer::if_not_present(csp.0, csp.1)),
    )
}

/// The security headers with fixed values, for the layer above and for answers prepared ahead
/// (the branding files): the fallback policy, no sniffing, full referrer inside the site only
/// (acknowledgement links carry a token in the path; not `no-referrer`: browsers would then
/// send `Origin: null` on our own form posts), no framing.
pub fn static_security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(FALLBACK_POLICY)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    ]
}

pub const FALLBACK_POLICY: &str =
    "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/// Request ids in UUID form: a random half drawn once per process and a counter as the other.
/// As unique as a random UUID per request (`MakeRequestUuid`), without asking the kernel for
/// randomness on every request; an id is a name for log lines, not a secret.
#[derive(Clone)]
pub struct RequestIds(Arc<(u64, AtomicU64)>);

impl Default for RequestIds {
    fn default() -> Self {
        Self(Arc::new((rand::random(), AtomicU64::new(0))))
    }
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.0 .1.fetch_add(1, Ordering::Relaxed);
        let id = uuid::Uuid::from_u64_pair(self.0 .0, n);
        HeaderValue::from_str(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer())).ok().map(RequestId::new)
    }
}

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
    fn request_ids_are_distinct_uuids() {
        let mut ids = RequestIds::default();
        let req = axum::http::Request::new(());
        let a = ids.make_request_id(&req).unwrap();
        let b = ids.clone().make_request_id(&req).unwrap();
        let (a, b) = (a.header_value().to_str().unwrap(), b.header_value().to_str().unwrap());
        assert_ne!(a, b, "a clone shares the counter");
        assert!(uuid::Uuid::parse_str(a).is_ok(), "{a}");
    }

    #[test]
    fn acknowledgement_tokens_never_reach_the_request_log() {
        assert_eq!(loggable_path("/ack/Zm9vYmFyLXNlY3JldC10b2tlbg"), "/ack/(token)");
        assert_eq!(loggable_path("/ack/abc/extra"), "/ack/(token)");
        assert_eq!(loggable_path("/calls"), "/calls");
        assert_eq!(loggable_path("/ack/"), "/ack/");
    }
}
