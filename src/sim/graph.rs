//! A Microsoft Graph simulator for Exchange Online calendars (reference/exchange.md §3): the
//! identity platform's token endpoint (`/{tenant}/oauth2/v2.0/token`, client credentials, the
//! secret in the form or in Basic authentication, scope `https://graph.microsoft.com/.default`),
//! and under `/v1.0/users/{user}`: `calendarView/delta` (a window on the first call, pages no
//! longer than `Prefer: odata.maxpagesize` nor the simulator's own limit, absolute
//! `@odata.nextLink`/`@odata.deltaLink`, removed events as `@removed`), `events/{id}` GET with
//! `$expand=singleValueExtendedProperties($filter=id eq '…')`, PATCH with `If-Match` (412 when
//! the event changed), POST to `events`, DELETE. Errors are Graph's `{"error":{"code","message"}}`.
//! `subscriptions` (POST validates the notification URL first with `?validationToken=` — a token
//! with spaces, as Graph's — and wants it echoed as text/plain within 10 s; PATCH renews, at
//! most 10,080 minutes ahead; DELETE), change notifications POSTed to the URL on every change
//! (retried when not answered 2xx within 3 s, sent twice on request), lifecycle notifications
//! (`reauthorizationRequired`, `subscriptionRemoved`, `missed`) on request. Plain-HTTP
//! notification URLs are accepted (Graph insists on HTTPS) so tests and demo can use loopback.
//! Awkward parts on request: tokens that expire early (401 `InvalidAuthenticationToken`), delta
//! tokens forgotten (410 `SyncStateNotFound`), 429 with `Retry-After` / 503 ([`HttpFaults`]),
//! mailboxes outside the app's access policy (403 `ErrorAccessDenied`), latency.
//! Series as Graph shows them: calendarView/delta returns a series' `occurrence`s (and
//! `exception`s) with their `seriesMasterId`, never the `seriesMaster`, which GET returns with
//! its `recurrence` (`pattern`, `range`); attendees' copies, which the organiser's PATCH reaches.

use crate::sim::ews::{SimMeeting, SimRange, SimRecurrence};
use crate::sim::faults::{Fault, HttpFaults};
use crate::sync::lock;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::net::TcpListener;

/// Outlook's property set for named string properties (PS_PUBLIC_STRINGS).
const PS_PUBLIC_STRINGS: &str = "{00020329-0000-0000-C000-000000000046}";

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
        }
    }
}

/// An event as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphEvent {
    pub id: String,
    pub mailbox: String,
    pub subject: String,
    pub location: String,
    pub body: String,
    pub body_html: bool,
    pub organizer: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    /// The marker extended property (named string in PS_PUBLIC_STRINGS) by name → value.
    pub properties: HashMap<String, String>,
    /// PATCH calls that changed it.
    pub updates: u64,
    /// `singleInstance`, `seriesMaster`, `occurrence` or `exception` (the event's `type`).
    pub kind: &'static str,
    /// A master's recurrence; its `start`/`end` are its first occurrence's, as in Graph.
    pub recurrence: Option<SimRecurrence>,
    /// An occurrence's or exception's `seriesMasterId`, and which instance (1 = the first) it is.
    pub master: Option<(String, u32)>,
    /// `iCalUId`: shared by the organiser's event and the attendees' copies.
    pub uid: String,
    version: u64,
    /// The change sequence number (for delta).
    seq: u64,
}

/// An occurrence's id: opaque to clients, but naming its master and instance.
fn occurrence_id(master: &str, index: u32) -> String {
    format!("AAMkAGOcc{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{master}|{index}")))
}

fn parse_occurrence_id(id: &str) -> Option<(String, u32)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.strip_prefix("AAMkAGOcc")?).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (master, index) = raw.rsplit_once('|')?;
    Some((master.to_string(), index.parse().ok()?))
}

/// The event `id` names in `mailbox`: a stored one, or an occurrence of a stored master as
/// Graph shows it (its own id, times and etag; the master's content).
fn lookup(events: &[GraphEvent], id: &str, mailbox: &str) -> Option<GraphEvent> {
    if let Some(e) = events.iter().find(|e| e.id == id && e.mailbox == mailbox) {
        return Some(e.clone());
    }
    let (master_id, index) = parse_occurrence_id(id)?;
    let m = events.iter().find(|e| e.id == master_id && e.mailbox == mailbox)?;
    let (_, start, end) = m.recurrence.as_ref()?.expand(m.start, m.end, None, index as usize).into_iter().find(|o| o.0 == index)?;
    Some(GraphEvent {
        id: id.to_string(),
        start,
        end,
        kind: "occurrence",
        recurrence: None,
        master: Some((master_id, index)),
        properties: HashMap::new(),
        updates: 0,
        ..m.clone()
    })
}

/// Graph's `patternedRecurrence` for a series starting at `start`.
fn recurrence_json(r: &SimRecurrence, start: OffsetDateTime) -> Value {
    let days: Vec<String> = r.days.iter().map(|d| d.to_string().to_ascii_lowercase()).collect();
    let (kind, end, count) = match r.range {
        SimRange::EndDate(d) => ("endDate", d.to_string(), 0),
        SimRange::Numbered(n) => ("numbered", "0001-01-01".to_string(), n),
        SimRange::NoEnd => ("noEnd", "0001-01-01".to_string(), 0),
    };
    json!({
        "pattern": {
            "type": if r.days.is_empty() { "daily" } else { "weekly" },
            "interval": r.interval, "month": 0, "dayOfMonth": 0, "daysOfWeek": days, "firstDayOfWeek": "sunday", "index": "first",
        },
        "range": {
            "type": kind, "startDate": start.date().to_string(), "endDate": end,
            "recurrenceTimeZone": "UTC", "numberOfOccurrences": count,
        },
    })
}

/// A `patternedRecurrence` from a POST (daily and weekly patterns).
fn recurrence_of(v: &Value) -> Option<SimRecurrence> {
    let p = v.get("pattern")?;
    let days: Vec<time::Weekday> = p
        .get("daysOfWeek")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str())
        .filter_map(|d| {
            use time::Weekday::*;
            [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().find(|w| w.to_string().eq_ignore_ascii_case(d))
        })
        .collect();
    let weekly = match p.get("type").and_then(|t| t.as_str()) {
        Some("daily") => false,
        Some("weekly") => true,
        _ => return None,
    };
    let r = v.get("range")?;
    let range = match r.get("type").and_then(|t| t.as_str())? {
        "endDate" => SimRange::EndDate(
            time::Date::parse(r.get("endDate")?.as_str()?, time::macros::format_description!("[year]-[month]-[day]")).ok()?,
        ),
        "numbered" => SimRange::Numbered(r.get("numberOfOccurrences")?.as_u64()? as u32),
        _ => SimRange::NoEnd,
    };
    Some(SimRecurrence {
        interval: p.get("interval").and_then(|i| i.as_u64()).unwrap_or(1).max(1) as u32,
        days: if weekly { days } else { vec![] },
        range,
    })
}

impl GraphEvent {
    fn etag(&self) -> String {
        format!("W/\"{}\"", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.id, self.version)))
    }
}

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

/// A change-notification subscription as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSubscription {
    pub id: String,
    pub mailbox: String,
    pub change_types: Vec<String>,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: OffsetDateTime,
}

/// One POST the simulator made to a client's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub url: String,
    /// `validation`, `created`/`updated`/`deleted`, or the lifecycle event.
    pub kind: String,
    pub status: u16,
}

pub struct SimGraph {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimGraph {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn new_id() -> String {
    format!("AAMkAG{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()))
}

fn graph_time(t: OffsetDateTime) -> Value {
    let t = t.to_offset(time::UtcOffset::UTC);
    let s =
        format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.0000000", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
    json!({ "dateTime": s, "timeZone": "UTC" })
}

fn parse_time(v: &str) -> Option<OffsetDateTime> {
    let v = v.trim();
    OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{}Z", v.trim_end_matches('Z')), &time::format_description::well_known::Rfc3339).ok())
}

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
        let shared = Arc::new(Shared {
            cfg,
            base: format!("http://{addr}"),
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
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/users/{user}/calendarView/delta", get(delta))
            .route("/v1.0/users/{user}/events", post(create))
            .route("/v1.0/users/{user}/events/{id}", get(get_event).patch(patch_event).delete(delete_event))
            .route("/v1.0/subscriptions", post(create_subscription))
            .route("/v1.0/subscriptions/{id}", get(get_subscription).patch(renew_subscription).delete(delete_subscription))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Graph simulator stopped");
            }
        });
        Ok(Self { addr, shared, task })
    }

    /// `https://login.microsoftonline.com` stand-in.
    pub fn login_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `https://graph.microsoft.com/v1.0` stand-in.
    pub fn api_url(&self) -> String {
        format!("http://{}/v1.0", self.addr)
    }

    pub fn token_url(&self) -> String {
        format!("http://{}/{}/oauth2/v2.0/token", self.addr, self.shared.cfg.tenant)
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
        notify_change(s, &e, "updated");
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
        let subs: Vec<SimSubscription> = {
            let mut map = lock(&self.shared.subscriptions);
            let v = map.values().cloned().collect();
            if event == "subscriptionRemoved" {
                map.clear();
            }
            v
        };
        for sub in subs {
            let Some(url) = sub.lifecycle_url.clone() else { continue };
            let body = json!({ "value": [{
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": t3339(sub.expires),
                "tenantId": self.shared.cfg.tenant,
                "clientState": sub.client_state,
                "lifecycleEvent": event,
            }]});
            post_notification(&self.shared, url, event.to_string(), body);
        }
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
        occurrence_id(master_id, index)
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
        self.create(SimMeeting {
            organizer: organizer.into(),
            attendees: vec![],
            subject: subject.into(),
            location: location.into(),
            body_html: body_html.into(),
            start,
            end,
            recurrence: None,
        })
    }

    /// A meeting or series (then `start`/`end` are the first occurrence's) with copies in the
    /// attendees' calendars that are mailboxes here; returns the organiser's event id.
    pub fn create(&self, m: SimMeeting) -> String {
        insert(&self.0, &m, true)
    }
}

/// The organiser's event and the attendees' copies (created notifications for each).
fn insert(s: &Shared, m: &SimMeeting, html: bool) -> String {
    let uid = format!("040000008200E00074C5B7101A82E008{}", uuid::Uuid::new_v4().simple());
    let (start, end) = match &m.recurrence {
        Some(r) => r.expand(m.start, m.end, None, 1).first().map(|o| (o.1, o.2)).unwrap_or((m.start, m.end)),
        None => (m.start, m.end),
    };
    let organizer = m.organizer.to_ascii_lowercase();
    let mut mailboxes = vec![organizer.clone()];
    mailboxes.extend(
        m.attendees
            .iter()
            .map(|a| a.to_ascii_lowercase())
            .filter(|a| s.cfg.mailboxes.iter().any(|x| x.eq_ignore_ascii_case(a)) && *a != organizer),
    );
    let made: Vec<GraphEvent> = mailboxes
        .into_iter()
        .map(|mailbox| GraphEvent {
            id: new_id(),
            mailbox,
            subject: m.subject.clone(),
            location: m.location.clone(),
            body: m.body_html.clone(),
            body_html: html,
            organizer: m.organizer.to_ascii_lowercase(),
            start,
            end,
            properties: HashMap::new(),
            updates: 0,
            kind: if m.recurrence.is_some() { "seriesMaster" } else { "singleInstance" },
            recurrence: m.recurrence.clone(),
            master: None,
            uid: uid.clone(),
            version: 1,
            seq: s.seq.fetch_add(1, Ordering::Relaxed) + 1,
        })
        .collect();
    let id = made[0].id.clone();
    lock(&s.events).extend(made.iter().cloned());
    for e in &made {
        notify_change(s, e, "created");
    }
    id
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
}

async fn token(State(s): State<Arc<Shared>>, Path(tenant): Path<String>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    let aad = |status: StatusCode, error: &str, desc: &str| {
        (status, Json(json!({ "error": error, "error_description": desc, "error_codes": [], "timestamp": "", "trace_id": uuid::Uuid::new_v4().to_string() })))
            .into_response()
    };
    if !tenant.eq_ignore_ascii_case(&s.cfg.tenant) {
        return aad(StatusCode::BAD_REQUEST, "invalid_request", &format!("AADSTS90002: Tenant '{tenant}' not found."));
    }
    if f.grant_type.as_deref() != Some("client_credentials") {
        return aad(StatusCode::BAD_REQUEST, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.");
    }
    // The client authenticates in the form or with HTTP Basic (RFC 6749 §2.3.1), as Entra ID allows.
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|raw| raw.split_once(':').map(|(u, p)| (url_decode(u), url_decode(p))));
    let (id, secret) = match (basic, f.client_id, f.client_secret) {
        (Some((u, p)), _, _) => (u, p),
        (None, Some(u), Some(p)) => (u, p),
        _ => return aad(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000216: 'client_assertion' or 'client_secret' is required."),
    };
    if id != s.cfg.client_id {
        return aad(
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            &format!("AADSTS700016: Application with identifier '{id}' was not found."),
        );
    }
    if secret != s.cfg.client_secret {
        return aad(StatusCode::UNAUTHORIZED, "invalid_client", "AADSTS7000215: Invalid client secret provided.");
    }
    if !f.scope.as_deref().unwrap_or_default().split(' ').any(|x| x == "https://graph.microsoft.com/.default") {
        return aad(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "AADSTS1002012: The provided value for scope is not valid. Client credential flows must have a scope value with /.default.",
        );
    }
    let tok = format!("eyJ0eXAiOiJKV1Qi.{}", uuid::Uuid::new_v4().simple());
    lock(&s.tokens).insert(tok.clone(), Instant::now() + Duration::from_secs(s.cfg.token_seconds));
    Json(json!({ "token_type": "Bearer", "expires_in": s.cfg.token_seconds, "ext_expires_in": s.cfg.token_seconds, "access_token": tok }))
        .into_response()
}

fn url_decode(v: &str) -> String {
    percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned()
}

/// A request past authentication and faults, as every API request meets them first.
struct App;

impl axum::extract::FromRequestParts<Arc<Shared>> for App {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        gate_app(s, &parts.method, &parts.uri, &parts.headers).await.map(|()| App)
    }
}

/// … under `/v1.0/users/{user}/…`, and that mailbox exists and is allowed (Graph's order).
struct Mailbox(String);

impl axum::extract::FromRequestParts<Arc<Shared>> for Mailbox {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        gate_app(s, &parts.method, &parts.uri, &parts.headers).await?;
        let user = parts.uri.path().strip_prefix("/v1.0/users/").and_then(|r| r.split('/').next()).unwrap_or_default();
        check_mailbox(s, &url_decode(user)).map(Mailbox).map_err(|r| *r)
    }
}

/// The mailbox exists and the app's access policy allows it.
fn check_mailbox(s: &Shared, mailbox: &str) -> Result<String, Box<Response>> {
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

fn pq(uri: &axum::http::Uri) -> String {
    uri.path_and_query().map(|p| p.to_string()).unwrap_or_default()
}

/// What a delta link or next link carries (opaque to clients: base64 of this JSON).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct DeltaState {
    epoch: u64,
    start: i64,
    end: i64,
    /// Changes after this sequence number …
    since: u64,
    /// … up to this one (fixed for the round, so pages do not shift).
    upto: u64,
    /// The round's changes up to this sequence number were handed out (the page cursor:
    /// an event changed while the client pages moves past `upto` and comes next round).
    after: u64,
    /// … and of the entries with sequence number `after`, those up to this instance (a series'
    /// occurrences share their master's sequence number).
    #[serde(default)]
    after_n: u32,
}

fn encode_state(st: &DeltaState) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(st).unwrap_or_default())
}

fn decode_state(v: &str) -> Option<DeltaState> {
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?).ok()
}

async fn delta(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = q.get("$skiptoken").or_else(|| q.get("$deltatoken"));
    let st = match token {
        Some(t) => match decode_state(t) {
            Some(st) if st.epoch == s.delta_epoch.load(Ordering::Relaxed) => st,
            _ => {
                return error(
                    StatusCode::GONE,
                    "SyncStateNotFound",
                    "The sync state generation is not found. Start a new synchronisation without a token.",
                )
            }
        },
        None => {
            let (Some(start), Some(end)) =
                (q.get("startDateTime").and_then(|v| parse_time(v)), q.get("endDateTime").and_then(|v| parse_time(v)))
            else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
                );
            };
            DeltaState {
                epoch: s.delta_epoch.load(Ordering::Relaxed),
                start: start.unix_timestamp(),
                end: end.unix_timestamp(),
                since: 0,
                upto: s.seq.load(Ordering::Relaxed),
                after: 0,
                after_n: 0,
            }
        }
    };
    // A delta link starts a new round: everything changed since the last round, up to now.
    let st = if q.contains_key("$deltatoken") {
        DeltaState { since: st.upto, upto: s.seq.load(Ordering::Relaxed), after: st.upto, after_n: u32::MAX, ..st }
    } else {
        st
    };
    let asked = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .find_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or(s.cfg.page_max);
    let page_size = asked.clamp(1, s.cfg.page_max.max(1));
    let (start, end) = (
        OffsetDateTime::from_unix_timestamp(st.start).unwrap_or(OffsetDateTime::UNIX_EPOCH),
        OffsetDateTime::from_unix_timestamp(st.end).unwrap_or(OffsetDateTime::UNIX_EPOCH),
    );
    // The round's changes, oldest first: events changed in the window, then events removed. A
    // calendar view never shows a series master: its occurrences in the window instead (all of
    // them when the master changed; an exception when it changed).
    let due = |seq: u64, n: u32| seq > st.since && seq <= st.upto && (seq, n) > (st.after, st.after_n);
    let mut round: Vec<((u64, u32), Value)> = Vec::new();
    {
        let events = lock(&s.events);
        for e in events.iter().filter(|e| e.mailbox == mailbox && e.master.is_none()) {
            match &e.recurrence {
                None if e.end > start && e.start < end && due(e.seq, 0) => round.push(((e.seq, 0), delta_entry(e))),
                None => {}
                Some(r) => {
                    for (n, _, _) in r.expand(e.start, e.end, Some(end), usize::MAX) {
                        let Some(o) = lookup(&events, &occurrence_id(&e.id, n), &mailbox) else { continue };
                        let seq = o.seq.max(e.seq);
                        if o.end > start && o.start < end && due(seq, n) {
                            round.push(((seq, n), delta_entry(&o)));
                        }
                    }
                }
            }
        }
    }
    if st.since > 0 {
        round.extend(lock(&s.removed).iter().filter(|(m, _, seq)| *m == mailbox && due(*seq, 0)).map(|(_, id, seq)| {
            ((*seq, 0), json!({ "@odata.type": "#microsoft.graph.event", "id": id, "@removed": { "reason": "deleted" } }))
        }));
    }
    round.sort_by_key(|(key, _)| *key);
    let page: Vec<Value> = round.iter().take(page_size).map(|(_, v)| v.clone()).collect();
    let link = |kind: &str, st: &DeltaState| format!("{}/v1.0/users/{}/calendarView/delta?{kind}={}", s.base, mailbox, encode_state(st));
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#Collection(event)", s.base),
        "value": page,
    });
    if round.len() > page_size {
        let (after, after_n) = round[page_size - 1].0;
        body["@odata.nextLink"] = json!(link("$skiptoken", &DeltaState { after, after_n, ..st }));
    } else {
        body["@odata.deltaLink"] = json!(link("$deltatoken", &DeltaState { after: st.upto, after_n: u32::MAX, ..st }));
    }
    Json(body).into_response()
}

/// A delta entry: Graph returns only some properties of each event here.
fn delta_entry(e: &GraphEvent) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.event",
        "@odata.etag": e.etag(),
        "id": e.id,
        "subject": e.subject,
        "type": e.kind,
        "seriesMasterId": e.master.as_ref().map(|m| m.0.clone()),
        "start": graph_time(e.start),
        "end": graph_time(e.end),
    })
}

fn full_event(e: &GraphEvent, base: &str, expand_property: Option<&str>) -> Value {
    let mut v = json!({
        "@odata.context": format!("{base}/v1.0/$metadata#users('{}')/events/$entity", e.mailbox),
        "@odata.etag": e.etag(),
        "id": e.id,
        "iCalUId": e.uid,
        "subject": e.subject,
        "type": e.kind,
        "seriesMasterId": e.master.as_ref().map(|m| m.0.clone()),
        "recurrence": e.recurrence.as_ref().map(|r| recurrence_json(r, e.start)),
        "isOrganizer": e.organizer == e.mailbox,
        "isCancelled": false,
        "body": { "contentType": if e.body_html { "html" } else { "text" }, "content": e.body },
        "start": graph_time(e.start),
        "end": graph_time(e.end),
        "location": { "displayName": e.location, "locationType": "default" },
        "organizer": { "emailAddress": { "name": e.organizer, "address": e.organizer } },
    });
    if let Some(pid) = expand_property {
        let props: Vec<Value> = e
            .properties
            .iter()
            .filter(|(name, _)| property_id(name).eq_ignore_ascii_case(pid))
            .map(|(name, value)| json!({ "id": property_id(name), "value": value }))
            .collect();
        if !props.is_empty() {
            v["singleValueExtendedProperties"] = json!(props);
        }
    }
    v
}

fn property_id(name: &str) -> String {
    format!("String {PS_PUBLIC_STRINGS} Name {name}")
}

/// The property id in `$expand=singleValueExtendedProperties($filter=id eq '…')`.
fn expanded_property(q: &HashMap<String, String>) -> Option<String> {
    let e = q.get("$expand")?;
    let inner = e.strip_prefix("singleValueExtendedProperties(")?.strip_suffix(')')?;
    let f = inner.strip_prefix("$filter=")?;
    let id = f.trim().strip_prefix("id eq '")?.strip_suffix('\'')?;
    Some(id.to_string())
}

async fn get_event(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let events = lock(&s.events);
    match lookup(&events, &id, &mailbox) {
        Some(e) => Json(full_event(&e, &s.base, expanded_property(&q).as_deref())).into_response(),
        None => error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store."),
    }
}

async fn patch_event(
    State(s): State<Arc<Shared>>,
    Mailbox(mailbox): Mailbox,
    Path((_, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    let mut events = lock(&s.events);
    // Changing an occurrence makes it an exception of its series.
    if let Some(mut occ) = lookup(&events, &id, &mailbox).filter(|e| e.kind == "occurrence") {
        occ.kind = "exception";
        events.push(occ);
    }
    let Some(e) = events.iter_mut().find(|e| e.id == id && e.mailbox == mailbox) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.");
    };
    if s.edit_before_patch.swap(false, Ordering::Relaxed) {
        e.body.push_str("<p>Organiser's late edit</p>");
        e.version += 1;
        e.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    }
    if let Some(want) = headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok()) {
        if want != "*" && want != e.etag() {
            return error(
                StatusCode::PRECONDITION_FAILED,
                "ErrorIrresolvableConflict",
                "The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.",
            );
        }
    }
    if let Some(b) = patch.get("body") {
        let html = b.get("contentType").and_then(|c| c.as_str()).is_some_and(|c| c.eq_ignore_ascii_case("html"));
        e.body = b.get("content").and_then(|c| c.as_str()).unwrap_or_default().to_string();
        e.body_html = html;
    }
    if let Some(l) = patch.pointer("/location/displayName").and_then(|v| v.as_str()) {
        e.location = l.into();
    }
    if let Some(sub) = patch.get("subject").and_then(|v| v.as_str()) {
        e.subject = sub.into();
    }
    for p in patch.get("singleValueExtendedProperties").and_then(|v| v.as_array()).into_iter().flatten() {
        let pid = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let Some(name) = pid
            .strip_prefix("String ")
            .and_then(|r| r.strip_prefix(PS_PUBLIC_STRINGS).or_else(|| r.strip_prefix(&PS_PUBLIC_STRINGS.to_ascii_lowercase())))
            .and_then(|r| r.trim().strip_prefix("Name "))
        else {
            return error(StatusCode::BAD_REQUEST, "ErrorInvalidProperty", &format!("The extended property id '{pid}' is not valid."));
        };
        e.properties.insert(name.trim().to_string(), p.get("value").and_then(|v| v.as_str()).unwrap_or_default().to_string());
    }
    e.updates += 1;
    e.version += 1;
    e.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let e = e.clone();
    // The organiser's change reaches the attendees' copies (Graph sends them the update).
    let mut changed = vec![e.clone()];
    if e.organizer == e.mailbox && e.master.is_none() && patch.get("body").is_some() {
        for copy in events.iter_mut().filter(|c| c.uid == e.uid && c.mailbox != c.organizer) {
            copy.body = e.body.clone();
            copy.body_html = e.body_html;
            copy.version += 1;
            copy.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
            changed.push(copy.clone());
        }
    }
    drop(events);
    for c in &changed {
        notify_change(&s, c, "updated");
    }
    Json(full_event(&e, &s.base, None)).into_response()
}

async fn create(State(s): State<Arc<Shared>>, Mailbox(mailbox): Mailbox, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let (Some(start), Some(end)) = (
        v.pointer("/start/dateTime").and_then(|t| t.as_str()).and_then(parse_time),
        v.pointer("/end/dateTime").and_then(|t| t.as_str()).and_then(parse_time),
    ) else {
        return error(StatusCode::BAD_REQUEST, "ErrorInvalidRequest", "start and end (dateTime, timeZone UTC) are required.");
    };
    let html = v.pointer("/body/contentType").and_then(|c| c.as_str()).is_none_or(|c| c.eq_ignore_ascii_case("html"));
    let s2 = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    let m = SimMeeting {
        organizer: mailbox.clone(),
        attendees: v
            .get("attendees")
            .and_then(|a| a.as_array())
            .into_iter()
            .flatten()
            .filter_map(|a| a.pointer("/emailAddress/address").and_then(|x| x.as_str()).map(str::to_string))
            .collect(),
        subject: s2("/subject"),
        location: s2("/location/displayName"),
        body_html: s2("/body/content"),
        start,
        end,
        recurrence: v.get("recurrence").and_then(recurrence_of),
    };
    let id = insert(&s, &m, html);
    let events = lock(&s.events);
    let e = events.iter().find(|e| e.id == id).cloned();
    drop(events);
    match e {
        Some(e) => (StatusCode::CREATED, Json(full_event(&e, &s.base, None))).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "generalException", "The event vanished."),
    }
}

async fn delete_event(State(s): State<Arc<Shared>>, Mailbox(mailbox): Mailbox, Path((_, id)): Path<(String, String)>) -> Response {
    let mut events = lock(&s.events);
    let Some(pos) = events.iter().position(|e| e.id == id && e.mailbox == mailbox) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.");
    };
    let gone = events.remove(pos);
    drop(events);
    notify_change(&s, &gone, "deleted");
    lock(&s.removed).push((mailbox, id, s.seq.fetch_add(1, Ordering::Relaxed) + 1));
    StatusCode::NO_CONTENT.into_response()
}

fn t3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// Change notifications for `e` to every live subscription of its mailbox that wants `kind`.
fn notify_change(s: &Shared, e: &GraphEvent, kind: &str) {
    let now = OffsetDateTime::now_utc();
    let subs: Vec<SimSubscription> = lock(&s.subscriptions)
        .values()
        .filter(|x| x.mailbox == e.mailbox && x.expires > now && x.change_types.iter().any(|c| c == kind))
        .cloned()
        .collect();
    for sub in subs {
        let resource = format!("Users/{}/Events/{}", sub.mailbox, e.id);
        let body = json!({ "value": [{
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": t3339(sub.expires),
            "changeType": kind,
            "resource": resource,
            "resourceData": { "@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "@odata.etag": e.etag(), "id": e.id },
            "clientState": sub.client_state,
            "tenantId": s.cfg.tenant,
        }]});
        let times = if s.duplicate_notifications.load(Ordering::Relaxed) { 2 } else { 1 };
        for _ in 0..times {
            post_notification(s, sub.notification_url.clone(), kind.to_string(), body.clone());
        }
    }
}

/// POSTs a notification from a task of its own: answered 2xx within 3 s, or retried after 1, 2
/// and 4 s (Graph goes on for hours; the simulator gives up sooner).
fn post_notification(s: &Shared, url: String, kind: String, body: Value) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else { return };
    let (http, log) = (s.http.clone(), s.deliveries.clone());
    rt.spawn(async move {
        for wait in [1u64, 2, 4, 0] {
            let status = match http.post(&url).json(&body).timeout(Duration::from_secs(3)).send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            lock(&log).push(Delivery { url: url.clone(), kind: kind.clone(), status });
            if (200..300).contains(&status) || wait == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_secs(wait)).await;
        }
    });
}

/// Graph's validation: POST `url?validationToken=…` and want the token back, as text, with 200.
async fn validate(s: &Shared, url: &str) -> bool {
    let token = format!("Validation: Testing client application reachability for subscription Request-Id: {}", uuid::Uuid::new_v4());
    let Ok(mut target) = reqwest::Url::parse(url) else { return false };
    target.query_pairs_mut().append_pair("validationToken", &token);
    let res = s.http.post(target).header(header::CONTENT_TYPE, "text/plain; charset=utf-8").timeout(Duration::from_secs(10)).send().await;
    let (status, ok) = match res {
        Ok(r) => {
            let status = r.status().as_u16();
            let text = r.text().await.unwrap_or_default();
            (status, status == 200 && text == token)
        }
        Err(_) => (0, false),
    };
    lock(&s.deliveries).push(Delivery { url: url.to_string(), kind: "validation".into(), status });
    ok
}

/// Authentication and faults, as every request meets them (subscriptions are not under a user).
async fn gate_app(s: &Shared, method: &Method, uri: &axum::http::Uri, headers: &HeaderMap) -> Result<(), Response> {
    lock(&s.requests).push((method.to_string(), pq(uri)));
    s.faults.delay().await;
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let Some(bearer) = bearer else {
        return Err(error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty."));
    };
    let valid = lock(&s.tokens).get(bearer).is_some_and(|until| Instant::now() < *until);
    if !valid {
        return Err(error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."));
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

fn subscription_json(x: &SimSubscription, app: &str) -> Value {
    json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
        "id": x.id,
        "resource": format!("users/{}/events", x.mailbox),
        "applicationId": app,
        "changeType": x.change_types.join(","),
        "clientState": x.client_state,
        "notificationUrl": x.notification_url,
        "lifecycleNotificationUrl": x.lifecycle_url,
        "expirationDateTime": t3339(x.expires),
        "creatorId": uuid::Uuid::nil().to_string(),
        "latestSupportedTlsVersion": "v1_2",
    })
}

/// Outlook event subscriptions live at most 10,080 minutes.
const MAX_SUBSCRIPTION: time::Duration = time::Duration::minutes(10_080);

fn expiry(v: &Value) -> Result<OffsetDateTime, Box<Response>> {
    let t = v
        .get("expirationDateTime")
        .and_then(|t| t.as_str())
        .and_then(parse_time)
        .ok_or_else(|| Box::new(error(StatusCode::BAD_REQUEST, "InvalidRequest", "expirationDateTime is required (ISO 8601, UTC).")))?;
    let now = OffsetDateTime::now_utc();
    if t <= now || t > now + MAX_SUBSCRIPTION + time::Duration::minutes(1) {
        return Err(Box::new(error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Subscription expiration can only be 10080 minutes in the future and not in the past.",
        )));
    }
    Ok(t)
}

async fn create_subscription(State(s): State<Arc<Shared>>, _: App, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let (Some(change), Some(url), Some(resource)) = (text("changeType"), text("notificationUrl"), text("resource")) else {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "changeType, notificationUrl and resource are required.");
    };
    let expires = match expiry(&v) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let change_types: Vec<String> = change.split(',').map(|c| c.trim().to_string()).collect();
    if change_types.iter().any(|c| !["created", "updated", "deleted"].contains(&c.as_str())) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", &format!("changeType '{change}' is not valid."));
    }
    if text("clientState").is_some_and(|c| c.len() > 128) {
        return error(StatusCode::BAD_REQUEST, "InvalidRequest", "clientState may be at most 128 characters.");
    }
    let lower = resource.trim_start_matches('/').to_ascii_lowercase();
    let Some(mailbox) = lower.strip_prefix("users/").and_then(|r| r.strip_suffix("/events")).map(url_decode) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            &format!("The resource '{resource}' is not supported: users/{{id}}/events."),
        );
    };
    let mailbox = match check_mailbox(&s, &mailbox) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let lifecycle = text("lifecycleNotificationUrl");
    let mut urls = vec![url.clone()];
    urls.extend(lifecycle.clone().filter(|l| *l != url));
    for u in &urls {
        if !(u.starts_with("https://") || u.starts_with("http://")) || !validate(&s, u).await {
            return error(
                StatusCode::BAD_REQUEST,
                "ValidationError",
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
            );
        }
    }
    let sub = SimSubscription {
        id: uuid::Uuid::new_v4().to_string(),
        mailbox,
        change_types,
        notification_url: url,
        lifecycle_url: lifecycle,
        client_state: text("clientState"),
        expires,
    };
    lock(&s.subscriptions).insert(sub.id.clone(), sub.clone());
    (StatusCode::CREATED, Json(subscription_json(&sub, &s.cfg.client_id))).into_response()
}

async fn get_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>) -> Response {
    match lock(&s.subscriptions).get(&id) {
        Some(x) => Json(subscription_json(x, &s.cfg.client_id)).into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}

async fn renew_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>, body: axum::body::Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "BadRequest", "Unable to read JSON request payload.");
    };
    let expires = match expiry(&v) {
        Ok(t) => t,
        Err(r) => return *r,
    };
    let mut subs = lock(&s.subscriptions);
    match subs.get_mut(&id) {
        Some(x) => {
            x.expires = expires;
            Json(subscription_json(x, &s.cfg.client_id)).into_response()
        }
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}

async fn delete_subscription(State(s): State<Arc<Shared>>, _: App, Path(id): Path<String>) -> Response {
    match lock(&s.subscriptions).remove(&id) {
        Some(_) => StatusCode::NO_CONTENT.into_response(),
        None => error(StatusCode::NOT_FOUND, "ResourceNotFound", &format!("The object was not found: subscription {id}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_property_filter_is_read_from_expand() {
        let mut q = HashMap::new();
        q.insert(
            "$expand".to_string(),
            "singleValueExtendedProperties($filter=id eq 'String {00020329-0000-0000-C000-000000000046} Name X')".to_string(),
        );
        assert_eq!(expanded_property(&q).as_deref(), Some("String {00020329-0000-0000-C000-000000000046} Name X"));
        q.insert("$expand".to_string(), "attachments".to_string());
        assert_eq!(expanded_property(&q), None);
    }

    #[test]
    fn graph_times_are_utc_without_offset_and_parse_back() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        let v = graph_time(t);
        assert_eq!(v["timeZone"], "UTC");
        assert_eq!(parse_time(v["dateTime"].as_str().unwrap()), Some(t));
    }
}
