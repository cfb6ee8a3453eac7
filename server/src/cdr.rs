//! CMS-facing CDR receiver (`POST /cdr`, no session) and the push channel (`GET /events/calls`)
//! that live pages listen to. Each router carries only its own state.

use crate::metrics::Metrics;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use futures::Stream;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use subtle::ConstantTimeEq;
use switchboard::cdr::{CdrService, IngestError};
use tokio_util::sync::CancellationToken;

/// Who may post, decided before the body is read.
#[derive(Clone, Default)]
pub struct CdrGuard {
    pub token: Option<String>,
    pub networks: Vec<ipnet::IpNet>,
}

impl CdrGuard {
    fn check(&self, peer: &SocketAddr, query: &HashMap<String, String>) -> Result<(), (StatusCode, &'static str)> {
        if !self.networks.is_empty() && !self.networks.iter().any(|n| n.contains(&peer.ip())) {
            return Err((StatusCode::FORBIDDEN, "This address may not post CDRs (cdr.allowed_sources).\n"));
        }
        if let Some(t) = &self.token {
            let given = query.get("token").map(String::as_bytes).unwrap_or(b"");
            if !bool::from(given.ct_eq(t.as_bytes())) {
                return Err((StatusCode::FORBIDDEN, "Missing or wrong CDR receiver token (the ?token= in the receiver URL).\n"));
            }
        }
        Ok(())
    }
}

#[derive(Clone)]
struct Receiver {
    calls: Arc<CdrService>,
    guard: CdrGuard,
    metrics: Metrics,
}

/// `POST {path}`: public (CMS has no session), guarded by token and source list.
pub fn receiver_routes<S: Clone + Send + Sync + 'static>(
    path: &str,
    calls: Arc<CdrService>,
    guard: CdrGuard,
    metrics: Metrics,
    max_body: usize,
) -> Router<S> {
    Router::new().route(path, post(receive).layer(DefaultBodyLimit::max(max_body))).with_state(Receiver { calls, guard, metrics })
}

async fn receive(
    State(r): State<Receiver>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    if let Err((status, msg)) = r.guard.check(&peer, &query) {
        tracing::warn!(%peer, "CDR post refused: {}", msg.trim());
        return (status, msg).into_response();
    }
    match r.calls.ingest_bytes(&body, &peer.ip().to_string()).await {
        Ok(report) => {
            let m = &r.metrics;
            m.cdr_records.inc_by(report.new as u64);
            m.cdr_duplicates.inc_by(report.duplicates as u64);
            m.cdr_missing.inc_by(report.missing);
            m.cdr_live_legs.set(r.calls.leg_count() as i64);
            StatusCode::OK.into_response()
        }
        Err(IngestError::Malformed(reason)) => {
            r.metrics.cdr_malformed.inc();
            (StatusCode::BAD_REQUEST, format!("Not a CDR document: {reason}\n")).into_response()
        }
        Err(IngestError::Store(e)) => {
            // Not acknowledged: CMS keeps the batch and sends it again.
            tracing::error!(error = %e, "CDR batch could not be stored");
            (StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable; send again.\n").into_response()
        }
    }
}

#[derive(Clone)]
struct Events {
    calls: Arc<CdrService>,
    closing: CancellationToken,
}

/// `GET /events/calls` (for the protected router). Streams end when `closing` is cancelled,
/// so a page left open does not hold up a graceful shutdown.
pub fn event_routes<S: Clone + Send + Sync + 'static>(calls: Arc<CdrService>, closing: CancellationToken) -> Router<S> {
    Router::new().route("/events/calls", get(events)).with_state(Events { calls, closing })
}

/// Server-sent events: one `calls` event whenever calls changed (bursts are coalesced).
async fn events(State(e): State<Events>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = e.calls.subscribe();
    let stream = futures::stream::unfold((rx, e.closing), |(mut rx, closing)| async move {
        tokio::select! {
            _ = closing.cancelled() => None,
            got = rx.recv() => match got {
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    while rx.try_recv().is_ok() {}
                    Some((Ok(Event::default().event("calls").data("changed")), (rx, closing)))
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => None,
            },
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
