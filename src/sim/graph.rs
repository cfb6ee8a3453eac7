//! A Microsoft Graph simulator for Exchange Online calendars (reference/exchange.md §3): the
//! identity platform's token endpoint (`/{tenant}/oauth2/v2.0/token`, client credentials, the
//! secret in the form or in Basic authentication, scope `https://graph.microsoft.com/.default`),
//! and under `/v1.0/users/{user}`: `calendarView/delta` (a window on the first call, pages no
//! longer than `Prefer: odata.maxpagesize` nor the simulator's own limit, absolute
//! `@odata.nextLink`/`@odata.deltaLink`, removed events as `@removed`), `events/{id}` GET with
//! `$expand=singleValueExtendedProperties($filter=id eq '…')`, PATCH with `If-Match` (412 when
//! the event changed), POST to `events`, DELETE. Errors are Graph's `{"error":{"code","message"}}`.
//! Awkward parts on request: tokens that expire early (401 `InvalidAuthenticationToken`), delta
//! tokens forgotten (410 `SyncStateNotFound`), 429 with `Retry-After` / 503 ([`HttpFaults`]),
//! mailboxes outside the app's access policy (403 `ErrorAccessDenied`), latency.

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
    version: u64,
    /// The change sequence number (for delta).
    seq: u64,
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
        });
        let app = Router::new()
            .route("/{tenant}/oauth2/v2.0/token", post(token))
            .route("/v1.0/users/{user}/calendarView/delta", get(delta))
            .route("/v1.0/users/{user}/events", post(create))
            .route("/v1.0/users/{user}/events/{id}", get(get_event).patch(patch_event).delete(delete_event))
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
        insert(&self.shared, organizer, subject, location, body_html, true, start, end)
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
        true
    }

    /// A handle that can create meetings from another task (demo scenarios).
    pub fn handle(&self) -> GraphHandle {
        GraphHandle(self.shared.clone())
    }

    pub fn event(&self, id: &str) -> Option<GraphEvent> {
        lock(&self.shared.events).iter().find(|e| e.id == id).cloned()
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
        insert(&self.0, organizer, subject, location, body_html, true, start, end)
    }
}

#[allow(clippy::too_many_arguments)]
fn insert(
    s: &Shared,
    organizer: &str,
    subject: &str,
    location: &str,
    body: &str,
    html: bool,
    start: OffsetDateTime,
    end: OffsetDateTime,
) -> String {
    let e = GraphEvent {
        id: new_id(),
        mailbox: organizer.to_ascii_lowercase(),
        subject: subject.into(),
        location: location.into(),
        body: body.into(),
        body_html: html,
        organizer: organizer.to_ascii_lowercase(),
        start,
        end,
        properties: HashMap::new(),
        updates: 0,
        version: 1,
        seq: s.seq.fetch_add(1, Ordering::Relaxed) + 1,
    };
    let id = e.id.clone();
    lock(&s.events).push(e);
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

/// Authentication, faults and mailbox checks every API request meets, in Graph's order.
async fn gate(s: &Shared, method: &Method, path_and_query: String, headers: &HeaderMap, user: &str) -> Result<String, Response> {
    lock(&s.requests).push((method.to_string(), path_and_query));
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
            return Err(r);
        }
        Some(Fault::Fail) => {
            return Err(error(StatusCode::SERVICE_UNAVAILABLE, "ServiceNotAvailable", "The service is temporarily unavailable."))
        }
        None => {}
    }
    let mailbox = url_decode(user).to_ascii_lowercase();
    if !s.cfg.mailboxes.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
        return Err(error(StatusCode::NOT_FOUND, "ErrorInvalidUser", &format!("The requested user '{mailbox}' is invalid.")));
    }
    if !s.cfg.allowed.is_empty() && !s.cfg.allowed.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "ErrorAccessDenied",
            "Access to OData is disabled: the application access policy does not allow this mailbox.",
        ));
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
}

fn encode_state(st: &DeltaState) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(st).unwrap_or_default())
}

fn decode_state(v: &str) -> Option<DeltaState> {
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(v).ok()?).ok()
}

async fn delta(
    State(s): State<Arc<Shared>>,
    Path(user): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mailbox = match gate(&s, &method, pq(&uri), &headers, &user).await {
        Ok(m) => m,
        Err(r) => return r,
    };
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
            }
        }
    };
    // A delta link starts a new round: everything changed since the last round, up to now.
    let st = if q.contains_key("$deltatoken") {
        DeltaState { since: st.upto, upto: s.seq.load(Ordering::Relaxed), after: st.upto, ..st }
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
    // The round's changes, oldest first: events changed in the window, then events removed.
    let mut round: Vec<(u64, Value)> = lock(&s.events)
        .iter()
        .filter(|e| e.mailbox == mailbox && e.seq > st.after.max(st.since) && e.seq <= st.upto && e.end > start && e.start < end)
        .map(|e| (e.seq, delta_entry(e)))
        .collect();
    if st.since > 0 {
        round.extend(
            lock(&s.removed).iter().filter(|(m, _, seq)| *m == mailbox && *seq > st.after.max(st.since) && *seq <= st.upto).map(
                |(_, id, seq)| (*seq, json!({ "@odata.type": "#microsoft.graph.event", "id": id, "@removed": { "reason": "deleted" } })),
            ),
        );
    }
    round.sort_by_key(|(seq, _)| *seq);
    let page: Vec<Value> = round.iter().take(page_size).map(|(_, v)| v.clone()).collect();
    let link = |kind: &str, st: &DeltaState| format!("{}/v1.0/users/{}/calendarView/delta?{kind}={}", s.base, user, encode_state(st));
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#Collection(event)", s.base),
        "value": page,
    });
    if round.len() > page_size {
        let after = round[page_size - 1].0;
        body["@odata.nextLink"] = json!(link("$skiptoken", &DeltaState { after, ..st }));
    } else {
        body["@odata.deltaLink"] = json!(link("$deltatoken", &DeltaState { after: st.upto, ..st }));
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
        "type": "singleInstance",
        "start": graph_time(e.start),
        "end": graph_time(e.end),
    })
}

fn full_event(e: &GraphEvent, base: &str, expand_property: Option<&str>) -> Value {
    let mut v = json!({
        "@odata.context": format!("{base}/v1.0/$metadata#users('{}')/events/$entity", e.mailbox),
        "@odata.etag": e.etag(),
        "id": e.id,
        "subject": e.subject,
        "type": "singleInstance",
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
    Path((user, id)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mailbox = match gate(&s, &method, pq(&uri), &headers, &user).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let events = lock(&s.events);
    match events.iter().find(|e| e.id == id && e.mailbox == mailbox) {
        Some(e) => Json(full_event(e, &s.base, expanded_property(&q).as_deref())).into_response(),
        None => error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store."),
    }
}

async fn patch_event(
    State(s): State<Arc<Shared>>,
    Path((user, id)): Path<(String, String)>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mailbox = match gate(&s, &method, pq(&uri), &headers, &user).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
        );
    };
    let mut events = lock(&s.events);
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
    Json(full_event(e, &s.base, None)).into_response()
}

async fn create(
    State(s): State<Arc<Shared>>,
    Path(user): Path<String>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let mailbox = match gate(&s, &method, pq(&uri), &headers, &user).await {
        Ok(m) => m,
        Err(r) => return r,
    };
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
    let id = insert(&s, &mailbox, &s2("/subject"), &s2("/location/displayName"), &s2("/body/content"), html, start, end);
    let events = lock(&s.events);
    let e = events.iter().find(|e| e.id == id).cloned();
    drop(events);
    match e {
        Some(e) => (StatusCode::CREATED, Json(full_event(&e, &s.base, None))).into_response(),
        None => error(StatusCode::INTERNAL_SERVER_ERROR, "generalException", "The event vanished."),
    }
}

async fn delete_event(
    State(s): State<Arc<Shared>>,
    Path((user, id)): Path<(String, String)>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let mailbox = match gate(&s, &method, pq(&uri), &headers, &user).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    let mut events = lock(&s.events);
    let Some(pos) = events.iter().position(|e| e.id == id && e.mailbox == mailbox) else {
        return error(StatusCode::NOT_FOUND, "ErrorItemNotFound", "The specified object was not found in the store.");
    };
    events.remove(pos);
    drop(events);
    lock(&s.removed).push((mailbox, id, s.seq.fetch_add(1, Ordering::Relaxed) + 1));
    StatusCode::NO_CONTENT.into_response()
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
