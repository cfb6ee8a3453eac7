//! A Webex Connect simulator: `POST /v1/sms/messages` and `POST /v1/voice/messages` as the
//! messaging API takes them (../shared/reference/webex.md §4; developers.webexconnect.io "Send SMS
//! API v1", "Make Outbound Calls Using Voice API v1"): the service key raw in `Authorization`
//! (no `Bearer`), JSON bodies, 202 with a message id when accepted, refusals as `{"code",
//! "message"}` (the API status codes page: 7000 invalid JSON, 7001 authentication failed, 7002
//! service key missing, 7003 a mandatory parameter missing; other codes here are [I]).
//! Sent once: a request carrying an `Idempotency-Key` (at most 64 characters) that was accepted in
//! the last hour is refused as a duplicate (documented for SMS and voice calls; the status, 409,
//! is [I]); a `correlationId` is kept with the message and echoed.
//! Awkward parts on request: latency, 429 with `Retry-After`, 503, and an accepted send whose
//! answer is lost (the connection cut, [`crate::sim::lost`]). `GET /sim/messages` lists what was
//! accepted or refused, so tests and people can see what a responder would have received.

mod sends;
#[cfg(test)]
mod tests;

use crate::sync::lock;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

pub use sends::is_e164;

/// How long an accepted `Idempotency-Key` is remembered.
const KEY_MEMORY: Duration = Duration::from_secs(3600);

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
    /// The HTTP status answered (also when the answer was then lost).
    pub status: u16,
    /// The id given when accepted.
    pub id: Option<String>,
    #[serde(default)]
    pub correlation_id: Option<String>,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// The answer was never delivered: the connection was cut after the send was accepted.
    #[serde(default)]
    pub answer_lost: bool,
}

struct Shared {
    cfg: ConnectConfig,
    faults: Arc<ConnectFaults>,
    log: Mutex<Vec<ConnectMessage>>,
    /// Accepted `Idempotency-Key`s: when, and the message id they gave.
    keys: Mutex<HashMap<String, (Instant, String)>>,
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
        let shared = Arc::new(Shared {
            cfg,
            faults: Arc::new(ConnectFaults::default()),
            log: Mutex::new(Vec::new()),
            keys: Mutex::new(HashMap::new()),
        });
        let app = Router::new()
            .route("/v1/sms/messages", post(sends::sms))
            .route("/v1/voice/messages", post(sends::voice))
            .route("/sim/messages", get(sim_messages))
            .with_state(shared.clone());
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = crate::sim::lost::serve(listener, app).await {
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

async fn sim_messages(State(s): State<Arc<Shared>>) -> Json<Vec<ConnectMessage>> {
    Json(lock(&s.log).clone())
}
