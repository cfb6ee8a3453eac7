//! A Microsoft Graph simulator for Exchange Online calendars (../shared/reference/exchange.md §3): the
//! identity platform's token endpoint (`/{tenant}/oauth2/v2.0/token`, client credentials, the
//! secret in the form or in Basic authentication, scope `https://graph.microsoft.com/.default`),
//! its OpenID Connect discovery document (`/{tenant}/v2.0/.well-known/openid-configuration`) and
//! MSAL's instance discovery (`/common/discovery/instance`), so that MSAL signs in against it;
//! and under `/v1.0/users/{user}`: `calendarView/delta` (a window on the first call, pages no
//! longer than `Prefer: odata.maxpagesize` nor the simulator's own limit, absolute
//! `@odata.nextLink`/`@odata.deltaLink`, removed events as `@removed`; times as
//! `dateTimeTimeZone` in UTC or in the zone `Prefer: outlook.timezone` names, Windows or IANA
//! names read in their zone, DST included, the given zone kept as `originalStartTimeZone`),
//! `events/{id}` GET with
//! `$expand=singleValueExtendedProperties($filter=id eq '…')`, PATCH with `If-Match` (412 when
//! the event changed), POST to `events`, DELETE. Errors are Graph's `{"error":{"code","message"}}`.
//! `subscriptions` (POST validates the notification URL first with `?validationToken=` — a token
//! with spaces, as Graph's — and wants it echoed as text/plain within 10 s; PATCH renews, at
//! most 10,080 minutes ahead; DELETE), change notifications POSTed to the URL on every change
//! (retried when not answered 2xx within 3 s, sent twice on request), lifecycle notifications
//! (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) on request. Plain-HTTP
//! notification URLs are accepted (Graph insists on HTTPS) so tests and demo can use loopback.
//! Awkward parts on request: tokens that expire early (401 `InvalidAuthenticationToken` with
//! `WWW-Authenticate: Bearer` naming the authorization endpoint, as Graph's), delta
//! tokens forgotten (410 `SyncStateNotFound`), 429 with `Retry-After` / 503 ([`HttpFaults`]),
//! mailboxes outside the app's access policy (403 `ErrorAccessDenied`), latency.
//! Series as Graph shows them: calendarView/delta returns a series' `occurrence`s (and
//! `exception`s) with their `seriesMasterId`, never the `seriesMaster`, which GET returns with
//! its `recurrence` (`pattern`, `range`); attendees' copies, which the organiser's PATCH reaches.
//!
//! This module holds the server, its state and the router; token, gate, delta, events,
//! subscriptions and notifications live beside it, one file each; `/sim/requests` shows every
//! HTTP request received.

mod delta;
mod discovery;
mod events;
mod gate;
mod model;
mod notifications;
mod subscriptions;
mod token;
mod zones;

pub use model::GraphEvent;
pub use model::SimSubscription;
pub use notifications::Delivery;

use crate::sim::ews::SimMeeting;
use crate::sim::faults::HttpFaults;
use crate::sim::request_log::RequestLog;
use crate::sync::lock;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use serde_json::json;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// The tenant and app that may sign in, which mailboxes exist and which the app may reach, and
/// the simulator's page and token lifetimes.
#[derive(Debug, Clone)]
pub struct GraphSimConfig {
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
    /// Mailboxes that exist.
    pub mailboxes: Vec<String>,
    /// Mailboxes the app's access policy allows (empty: all).
    pub allowed: Vec<String>,
    /// At most this many events a delta page, whatever the client asks.
    pub page_max: usize,
    /// `expires_in` of the tokens handed out.
    pub token_seconds: u64,
    /// Serve HTTPS with a self-signed certificate ([`SimGraph::cert_pem`]): MSAL takes only
    /// `https://` authorities.
    pub tls: bool,
}

impl GraphSimConfig {
    /// Tenant `contoso`, app `switchboard-app` / `app-secret`, mailboxes `user1@cloud.example.com` ….
    pub fn demo(mailboxes: usize) -> Self {
        Self {
            tenant: "contoso".into(),
            client_id: "switchboard-app".into(),
            client_secret: "app-secret".into(),
            mailboxes: (1..=mailboxes.max(1)).map(|i| format!("user{i}@cloud.example.com")).collect(),
            allowed: vec![],
            page_max: 10,
            token_seconds: 3599,
            tls: false,
        }
    }
}

/// The simulator's state, shared by every request and notification task.
struct Shared {
    cfg: GraphSimConfig,
    base: String,
    events: Mutex<Vec<GraphEvent>>,
    /// (mailbox, id, seq) of deleted events, for `@removed`.
    removed: Mutex<Vec<(String, String, u64)>>,
    seq: AtomicU64,
    tokens: Mutex<HashMap<String, Instant>>,
    /// Delta tokens carry it; bumping it makes every outstanding one unknown (410).
    delta_epoch: AtomicU64,
    faults: HttpFaults,
    /// The organiser edits the event just before the next PATCH lands (its etag is stale then).
    edit_before_patch: std::sync::atomic::AtomicBool,
    requests: Mutex<Vec<(String, String)>>,
    subscriptions: Mutex<HashMap<String, SimSubscription>>,
    /// (URL, what was sent, HTTP status or 0 when unanswered) of every notification and validation.
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    duplicate_notifications: std::sync::atomic::AtomicBool,
    http: reqwest::Client,
}

/// A running Graph simulator; stops when dropped.
pub struct SimGraph {
    shared: Arc<Shared>,
    /// Every HTTP request received, as `/sim/requests` shows it.
    log: RequestLog,
    task: tokio::task::JoinHandle<()>,
    /// With TLS: the self-signed certificate it presents (PEM), to trust as a CA.
    cert_pem: Option<String>,
}

impl Drop for SimGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An opaque event id, shaped as Graph's.
fn new_id() -> String {
    format!("AAMkAG{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()))
}

/// Graph's error body: `{"error": {"code", "message", "innerError"}}`.
fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message, "innerError": { "request-id": uuid::Uuid::new_v4().to_string() } } })),
    )
        .into_response()
}

impl SimGraph {
    pub async fn start(addr: SocketAddr, cfg: GraphSimConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let tls = if cfg.tls {
            let names = vec!["localhost".to_string(), "127.0.0.1".to_string(), addr.ip().to_string()];
            let key = rcgen::generate_simple_self_signed(names).map_err(std::io::Error::other)?;
            let (cert, key) = (key.cert.pem(), key.signing_key.serialize_pem());
            let config = axum_server::tls_rustls::RustlsConfig::from_pem(cert.clone().into_bytes(), key.into_bytes()).await?;
            Some((cert, config))
        } else {
            None
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared {
            cfg,
            base: format!("{scheme}://{addr}"),
            events: Mutex::new(Vec::new()),
            removed: Mutex::new(Vec::new()),
            seq: AtomicU64::new(0),
            tokens: Mutex::new(HashMap::new()),
            delta_epoch: AtomicU64::new(1),
            faults: HttpFaults::default(),
            edit_before_patch: Default::default(),
            requests: Mutex::new(Vec::new()),
            subscriptions: Mutex::new(HashMap::new()),
            deliveries: Arc::new(Mutex::new(Vec::new())),
            duplicate_notifications: Default::default(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default(),
        });
        let log = RequestLog::default();
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token::token))
            .route("/{tenant}/v2.0/.well-known/openid-configuration", get(discovery::openid_configuration))
            .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
            .route("/common/discovery/instance", get(discovery::instance))
            .route("/v1.0/users/{user}/calendarView/delta", get(delta::delta))
            .route("/v1.0/users/{user}/events", post(events::create))
            .route("/v1.0/users/{user}/events/{id}", get(events::get_event).patch(events::patch_event).delete(events::delete_event))
            .route("/v1.0/subscriptions", post(subscriptions::create_subscription))
            .route(
                "/v1.0/subscriptions/{id}",
                get(subscriptions::get_subscription).patch(subscriptions::renew_subscription).delete(subscriptions::delete_subscription),
            )
            .merge(log.routes())
            .layer(axum::middleware::from_fn_with_state(log.clone(), crate::sim::request_log::record))
            .with_state(shared.clone());
        let log_stop = |r: std::io::Result<()>| {
            if let Err(e) = r {
                tracing::error!(error = %e, "Graph simulator stopped");
            }
        };
        let task = match &tls {
            Some((_, config)) => {
                let server = axum_server::tls_rustls::from_tcp_rustls(listener.into_std()?, config.clone())?;
                tokio::spawn(async move { log_stop(server.serve(app.into_make_service()).await) })
            }
            None => tokio::spawn(async move { log_stop(axum::serve(listener, app).await) }),
        };
        Ok(Self { shared, log, task, cert_pem: tls.map(|(c, _)| c) })
    }

    /// Every HTTP request received (method, path, query, body with secrets masked, status), as
    /// `/sim/requests` shows it.
    pub fn request_log(&self) -> &RequestLog {
        &self.log
    }

    /// `https://login.microsoftonline.com/{tenant}` stand-in: the authority MSAL is given.
    pub fn authority_url(&self) -> String {
        format!("{}/{}", self.shared.base, self.shared.cfg.tenant)
    }

    /// `https://login.microsoftonline.com` stand-in.
    pub fn login_url(&self) -> String {
        self.shared.base.clone()
    }

    /// `https://graph.microsoft.com/v1.0` stand-in.
    pub fn api_url(&self) -> String {
        format!("{}/v1.0", self.shared.base)
    }

    pub fn token_url(&self) -> String {
        format!("{}/{}/oauth2/v2.0/token", self.shared.base, self.shared.cfg.tenant)
    }

    /// The certificate it presents when serving HTTPS (PEM).
    pub fn cert_pem(&self) -> Option<&str> {
        self.cert_pem.as_deref()
    }

    pub fn faults(&self) -> &HttpFaults {
        &self.shared.faults
    }

    /// The next PATCH meets an organiser's edit made a moment before (its `If-Match` is stale).
    pub fn edit_before_next_patch(&self) {
        self.shared.edit_before_patch.store(true, Ordering::Relaxed);
    }

    /// Every token handed out stops working (as when Entra ID revokes or they expire early).
    pub fn expire_tokens(&self) {
        lock(&self.shared.tokens).clear();
    }

    /// Every outstanding delta link is forgotten: the next use answers 410 `SyncStateNotFound`.
    pub fn forget_delta_tokens(&self) {
        self.shared.delta_epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// (method, path and query) of every request to the API.
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.shared.requests).clone()
    }

    /// A meeting created in `organizer`'s calendar as Outlook on the web would.
    pub fn create_meeting(
        &self,
        organizer: &str,
        subject: &str,
        location: &str,
        body_html: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> String {
        self.handle().create_meeting(organizer, subject, location, body_html, start, end)
    }

    /// The organiser edits the meeting (a new etag, a delta change).
    pub fn edit_meeting(&self, id: &str, location: Option<&str>, body: Option<&str>) -> bool {
        let s = &self.shared;
        let mut events = lock(&s.events);
        let Some(e) = events.iter_mut().find(|e| e.id == id) else { return false };
        if let Some(l) = location {
            e.location = l.into();
        }
        if let Some(b) = body {
            e.body = b.into();
        }
        e.version += 1;
        e.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let e = e.clone();
        drop(events);
        notifications::notify_change(s, &e, "updated");
        true
    }

    pub fn subscriptions(&self) -> Vec<SimSubscription> {
        let mut v: Vec<SimSubscription> = lock(&self.shared.subscriptions).values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    /// Every validation and notification POST made so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        lock(&self.shared.deliveries).clone()
    }

    /// Every change notification is sent twice (Graph may deliver more than once).
    pub fn set_duplicate_notifications(&self, on: bool) {
        self.shared.duplicate_notifications.store(on, Ordering::Relaxed);
    }

    /// Sends `event` (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) for every
    /// subscription to its lifecycle URL; `subscriptionRemoved` also forgets the subscriptions.
    pub fn lifecycle(&self, event: &str) {
        notifications::lifecycle(&self.shared, event);
    }

    /// A handle that can create meetings from another task (demo scenarios).
    pub fn handle(&self) -> GraphHandle {
        GraphHandle(self.shared.clone())
    }

    pub fn event(&self, id: &str) -> Option<GraphEvent> {
        lock(&self.shared.events).iter().find(|e| e.id == id).cloned()
    }

    /// See [`GraphHandle::create`].
    pub fn create(&self, m: SimMeeting) -> String {
        self.handle().create(m)
    }

    /// The stored events of a mailbox (singles, masters, exceptions, attendees' copies).
    pub fn events_of(&self, mailbox: &str) -> Vec<GraphEvent> {
        lock(&self.shared.events).iter().filter(|e| e.mailbox.eq_ignore_ascii_case(mailbox)).cloned().collect()
    }

    /// The id of a master's `index`-th occurrence (from 1), as calendarView shows it.
    pub fn occurrence_id(&self, master_id: &str, index: u32) -> String {
        model::occurrence_id(master_id, index)
    }
}

/// Creates meetings in a running simulator from another task.
#[derive(Clone)]
pub struct GraphHandle(Arc<Shared>);

impl GraphHandle {
    pub fn create_meeting(
        &self,
        organizer: &str,
        subject: &str,
        location: &str,
        body_html: &str,
        start: OffsetDateTime,
        end: OffsetDateTime,
    ) -> String {
        self.create(SimMeeting::single(organizer, subject, location, body_html, start, end))
    }

    /// A meeting or series (then `start`/`end` are the first occurrence's) with copies in the
    /// attendees' calendars that are mailboxes here; returns the organiser's event id.
    pub fn create(&self, m: SimMeeting) -> String {
        events::insert(&self.0, &m, true, ("UTC", "UTC"))
    }
}
