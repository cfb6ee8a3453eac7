//! Graph's change notifications (`POST /hooks/graph`, no session: Graph is the caller). The
//! validation handshake echoes `validationToken` as text/plain; a notification batch is handed
//! to the calendar (which checks each `clientState`) and answered 202 at once; a body that is
//! not a notification is a 400.

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use std::collections::HashMap;
use std::sync::Arc;
use switchboard::calendar::Calendar;

pub const GRAPH_HOOK_PATH: &str = "/hooks/graph";

pub fn hook_routes<S: Clone + Send + Sync + 'static>(calendar: Arc<Calendar>) -> Router<S> {
    Router::new().route(GRAPH_HOOK_PATH, post(graph_hook)).with_state(calendar)
}

async fn graph_hook(State(calendar): State<Arc<Calendar>>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    if let Some(token) = q.get("validationToken") {
        // Graph's tokens are short opaque strings; anything else is not Graph.
        if token.len() > 1024 || token.chars().any(char::is_control) {
            return (StatusCode::BAD_REQUEST, "Not a Graph validation token.\n").into_response();
        }
        return ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], token.clone()).into_response();
    }
    match calendar.graph_notified(&body).await {
        Ok(_) => StatusCode::ACCEPTED.into_response(),
        Err(switchboard::calendar::NotifyError::Malformed(m)) => {
            (StatusCode::BAD_REQUEST, format!("Not a Graph change notification: {m}\n")).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "a Graph notification could not be read");
            // Graph retries what was not accepted.
            (StatusCode::SERVICE_UNAVAILABLE, "Try again.\n").into_response()
        }
    }
}
