//! A Webex REST API + OAuth simulator: the integration's authorisation code flow (with PKCE),
//! `access_token` with `authorization_code` and `refresh_token` grants, and the calls the
//! incident-rooms sample makes (../shared/reference/webex.md §2, §3): `people/me`, `people`
//! (paged through `Link: rel="next"`, the whole org only for an admin), `rooms` (only the
//! caller's), `rooms/{id}`, `rooms/{id}/meetingInfo`, `memberships` (list, create, update,
//! delete) and `messages`.
//! Ids are Webex-shaped (base64 of `ciscospark://us/<KIND>/<uuid>`); every response carries a
//! `trackingid` header and errors use Webex's body (`message`, `errors[].description`,
//! `trackingId`). Scopes are enforced per endpoint (`spark:all` covers every `spark:` scope, not
//! `spark-admin:` ones; the whole-org people list needs `spark-admin:people_read`), and moderated
//! spaces (any moderator) let only their moderators add or remove people or change moderators.
//! Faults on request for the API routes: latency, 429 with `Retry-After`, 503, and a change
//! carried out whose answer is lost (the connection cut, [`crate::sim::lost`]).
//! `/sim/…` (no auth, no faults) mints tokens and shows what was sent, so tests and people can see
//! what a responder would have received.
//! Rules the reference does not state are marked [I] where they are implemented.

mod api;
mod ids;
mod inspect;
mod oauth;
mod org;
mod paging;
mod world;

pub use org::{SimOrg, SimPerson, SimRoom};
pub use world::{SimMembership, SimMessage, SimRequest};

use crate::sim::faults::Fault;
use crate::sim::lost::Cut;
use crate::sync::lock;
use axum::extract::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use paging::paged;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use world::{Membership, Room, World};

#[derive(Debug, Clone)]
pub struct WebexSimConfig {
    /// The one OAuth integration the simulator knows.
    pub client_id: String,
    pub client_secret: String,
    /// Redirect URIs registered for the integration; an exact match is required. Empty = any
    /// `http(s)` URI is accepted [I: a convenience for tests and demo mode].
    pub redirect_uris: Vec<String>,
    /// About 14 days at Webex (reference §2, [I]).
    pub access_lifetime: Duration,
    /// About 90 days at Webex (reference §2, [I]).
    pub refresh_lifetime: Duration,
    pub org: SimOrg,
}

impl WebexSimConfig {
    /// Client `switchboard-sim-client` / `switchboard-sim-secret`, any redirect URI, 14 and 90
    /// day lifetimes, `SimOrg::demo(50)`.
    pub fn demo() -> Self {
        WebexSimConfig {
            client_id: "switchboard-sim-client".into(),
            client_secret: "switchboard-sim-secret".into(),
            redirect_uris: Vec::new(),
            access_lifetime: Duration::from_secs(14 * 86_400),
            refresh_lifetime: Duration::from_secs(90 * 86_400),
            org: SimOrg::demo(50),
        }
    }
}

impl Default for WebexSimConfig {
    fn default() -> Self {
        Self::demo()
    }
}

/// Faults to inject on the `/v1` API routes (not OAuth, not `/sim`), changeable while running.
pub type WebexFaults = crate::sim::faults::HttpFaults;

struct Shared {
    cfg: WebexSimConfig,
    addr: SocketAddr,
    faults: WebexFaults,
    world: Mutex<World>,
}

/// A running simulator; stops when dropped.
pub struct SimWebex {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimWebex {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The caller behind a valid bearer token, for the API handlers.
#[derive(Clone)]
struct Caller {
    person: SimPerson,
    scope: String,
}

impl Caller {
    fn is_admin(&self) -> bool {
        !self.person.roles.is_empty()
    }
    /// The token carries `scope` (`spark:all` stands for every `spark:` scope).
    fn may(&self, scope: &str) -> bool {
        let granted: Vec<&str> = self.scope.split_whitespace().collect();
        granted.contains(&scope) || (scope.starts_with("spark:") && granted.contains(&"spark:all"))
    }
}

/// The scope an API route needs (Webex's API reference names one per endpoint).
fn needed_scope(method: &axum::http::Method, path: &str) -> &'static str {
    let reads = method == axum::http::Method::GET;
    match path.split('/').nth(2).unwrap_or("") {
        "people" => "spark:people_read",
        "rooms" => "spark:rooms_read",
        "memberships" if reads => "spark:memberships_read",
        "memberships" => "spark:memberships_write",
        "messages" if reads => "spark:messages_read",
        "messages" => "spark:messages_write",
        _ => "spark:all",
    }
}

/// A 403 for a token without the scope a request needs [I: the message].
fn missing_scope(scope: &str) -> Response {
    error(StatusCode::FORBIDDEN, &format!("The access token does not carry the scope this request needs: {scope}."))
}

/// Put on a response so the request log can name the caller.
#[derive(Clone)]
struct CallerEmail(String);

tokio::task_local! {
    static TRACKING_ID: String;
}

impl SimWebex {
    pub async fn start(addr: SocketAddr, cfg: WebexSimConfig) -> std::io::Result<SimWebex> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let created = org::DEMO_CREATED.to_string();
        let rooms = cfg
            .org
            .rooms
            .iter()
            .map(|r| Room {
                id: r.id.clone(),
                title: r.title.clone(),
                room_type: r.room_type.clone(),
                created: created.clone(),
                last_activity: created.clone(),
                creator_id: r.members.first().map(|m| m.0.clone()).unwrap_or_default(),
            })
            .collect();
        let memberships = cfg
            .org
            .rooms
            .iter()
            .flat_map(|r| {
                r.members.iter().map(|(p, moderator)| Membership {
                    id: ids::membership(p, &r.id),
                    room_id: r.id.clone(),
                    person_id: p.clone(),
                    is_moderator: *moderator,
                    created: created.clone(),
                })
            })
            .collect();
        let world = World {
            people: cfg.org.people.clone(),
            rooms,
            memberships,
            messages: Vec::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            access_lifetime: cfg.access_lifetime,
            refresh_lifetime: cfg.refresh_lifetime,
            requests: Vec::new(),
        };
        let shared = Arc::new(Shared { cfg, addr, faults: WebexFaults::default(), world: Mutex::new(world) });
        let api = Router::new()
            .route("/v1/people/me", get(api::me))
            .route("/v1/people", get(api::people))
            .route("/v1/people/{id}", get(api::person))
            .route("/v1/rooms", get(api::rooms))
            .route("/v1/rooms/{id}", get(api::room))
            .route("/v1/rooms/{id}/meetingInfo", get(api::meeting_info))
            .route("/v1/memberships", get(api::memberships).post(api::create_membership))
            .route("/v1/memberships/{id}", delete(api::delete_membership).put(api::update_membership).get(api::get_membership))
            .route("/v1/messages", post(api::create_message))
            .route_layer(axum::middleware::from_fn_with_state(shared.clone(), gate));
        let app = Router::new()
            .merge(api)
            .route("/v1/authorize", get(oauth::authorize_page).post(oauth::authorize_decision))
            .route("/v1/access_token", post(oauth::access_token))
            .route("/sim/token", get(inspect::sim_token))
            .route("/sim/messages", get(inspect::sim_messages))
            .route("/sim/requests", get(inspect::sim_requests))
            .route("/sim/memberships", get(inspect::sim_memberships))
            .fallback(|| async { error(StatusCode::NOT_FOUND, "The requested resource could not be found.") })
            .method_not_allowed_fallback(|| async { error(StatusCode::METHOD_NOT_ALLOWED, "The request method is not supported.") })
            .layer(axum::middleware::from_fn_with_state(shared.clone(), track))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(e) = crate::sim::lost::serve(listener, app).await {
                tracing::error!(error = %e, "Webex simulator stopped");
            }
        });
        Ok(SimWebex { addr, shared, task })
    }

    /// The base URL (`http://127.0.0.1:port`); the API is under `/v1`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn faults(&self) -> &WebexFaults {
        &self.shared.faults
    }

    /// The integration this simulator accepts (as registered at developer.webex.com).
    pub fn client_id(&self) -> &str {
        &self.shared.cfg.client_id
    }
    pub fn client_secret(&self) -> &str {
        &self.shared.cfg.client_secret
    }

    /// Every message `POST /v1/messages` accepted, oldest first.
    pub fn messages(&self) -> Vec<SimMessage> {
        lock(&self.shared.world).messages.clone()
    }

    /// The room's current memberships.
    pub fn memberships(&self, room_id: &str) -> Vec<SimMembership> {
        let w = lock(&self.shared.world);
        w.memberships.iter().filter(|m| m.room_id == room_id).map(|m| w.sim_membership(m)).collect()
    }

    /// An access token for that person (like a personal token from the developer portal):
    /// the current access lifetime, no refresh token, `spark:all` (and the admin read scopes for
    /// an org admin).
    pub fn mint_token(&self, email: &str) -> Option<String> {
        let mut w = lock(&self.shared.world);
        let id = w.person_by_email(email)?.id.clone();
        let scope = w.personal_scope(&id);
        Some(w.issue_access(&id, None, &scope).0)
    }

    /// [`SimWebex::mint_token`] with exactly these scopes (space-separated).
    pub fn mint_token_with_scope(&self, email: &str, scope: &str) -> Option<String> {
        let mut w = lock(&self.shared.world);
        let id = w.person_by_email(email)?.id.clone();
        Some(w.issue_access(&id, None, scope).0)
    }

    /// Every refresh token issued so far becomes invalid (`invalid_grant`); access tokens
    /// already issued keep working until they expire.
    pub fn revoke_refresh_tokens(&self) {
        lock(&self.shared.world).refresh.values_mut().for_each(|r| r.revoked = true);
    }

    /// Lifetimes for tokens issued from now on.
    pub fn set_lifetimes(&self, access: Duration, refresh: Duration) {
        let mut w = lock(&self.shared.world);
        w.access_lifetime = access;
        w.refresh_lifetime = refresh;
    }

    /// Every request answered, oldest first (`/sim/…` excluded).
    pub fn requests(&self) -> Vec<SimRequest> {
        lock(&self.shared.world).requests.clone()
    }

    /// Test setup: make the person a member of the room (or change their moderator flag).
    pub fn add_membership(&self, room_id: &str, person_id: &str, moderator: bool) {
        let mut w = lock(&self.shared.world);
        if let Some(m) = w.memberships.iter_mut().find(|m| m.room_id == room_id && m.person_id == person_id) {
            m.is_moderator = moderator;
            return;
        }
        w.memberships.push(Membership {
            id: ids::membership(person_id, room_id),
            room_id: room_id.into(),
            person_id: person_id.into(),
            is_moderator: moderator,
            created: now_rfc3339(),
        });
    }

    /// Test setup: the person's admin roles from now on (as if an admin changed them in Control
    /// Hub; names like `id_full_admin`, empty: none); `false` if nobody has that email.
    pub fn set_roles(&self, email: &str, roles: &[&str]) -> bool {
        let mut w = lock(&self.shared.world);
        match w.people.iter_mut().find(|p| p.email.eq_ignore_ascii_case(email)) {
            Some(p) => {
                p.roles = roles.iter().map(|r| r.to_string()).collect();
                true
            }
            None => false,
        }
    }

    /// Test setup: the person leaves the room (as if they left in the Webex app); `false` if
    /// they were not in it.
    pub fn remove_membership(&self, room_id: &str, person_id: &str) -> bool {
        let mut w = lock(&self.shared.world);
        let before = w.memberships.len();
        w.memberships.retain(|m| !(m.room_id == room_id && m.person_id == person_id));
        w.memberships.len() != before
    }
}

/// RFC 3339 with milliseconds and `Z`, as Webex writes `created`.
fn now_rfc3339() -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    time::OffsetDateTime::now_utc().format(&f).unwrap_or_default()
}

fn tracking_id() -> String {
    TRACKING_ID.try_with(|t| t.clone()).unwrap_or_default()
}

/// Webex's error body: `{"message", "errors": [{"description"}], "trackingId"}`.
fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "message": message, "errors": [{ "description": message }], "trackingId": tracking_id() });
    (status, Json(body)).into_response()
}

/// Every request: a tracking id (header and error bodies), and the request log.
async fn track(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let id = format!("ROUTER_{}", uuid::Uuid::new_v4().to_string().to_uppercase());
    let method = req.method().to_string();
    let path = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_else(|| req.uri().path().to_string());
    let mut resp = TRACKING_ID.scope(id.clone(), next.run(req)).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("trackingid", v);
    }
    if !path.starts_with("/sim/") {
        let person_email = resp.extensions().get::<CallerEmail>().map(|c| c.0.clone());
        lock(&s.world).requests.push(SimRequest { method, path, status: resp.status().as_u16(), person_email });
    }
    resp
}

/// The API routes: latency, then the bearer token and its scope, then throttling and failures
/// (counted per authenticated request [I]); a change carried out may then lose its answer.
async fn gate(State(s): State<Arc<Shared>>, ConnectInfo(cut): ConnectInfo<Cut>, mut req: Request, next: Next) -> Response {
    s.faults.delay().await;
    let Some((person, scope)) = bearer_person(&s, req.headers()) else {
        return error(StatusCode::UNAUTHORIZED, "The request requires a valid access token set in the Authorization request header.");
    };
    let email = CallerEmail(person.email.clone());
    let caller = Caller { person, scope };
    let method = req.method().clone();
    let needed = needed_scope(&method, req.uri().path());
    if !caller.may(needed) {
        let mut r = missing_scope(needed);
        r.extensions_mut().insert(email);
        return r;
    }
    let mut resp = match s.faults.next() {
        Some(Fault::Throttle(secs)) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests. Please retry after the time in the Retry-After header.");
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Some(Fault::Fail) => error(StatusCode::SERVICE_UNAVAILABLE, "The service is temporarily unavailable. Please try again later."),
        None => {
            req.extensions_mut().insert(caller);
            let resp = next.run(req).await;
            if resp.status().is_success() && method != axum::http::Method::GET && s.faults.lose_answer() {
                cut.pull();
            }
            resp
        }
    };
    resp.extensions_mut().insert(email);
    resp
}

fn bearer_person(s: &Shared, headers: &HeaderMap) -> Option<(SimPerson, String)> {
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = auth.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let w = lock(&s.world);
    let t = w.access.get(token.trim())?;
    if Instant::now() >= t.expires {
        return None;
    }
    w.person(&t.person_id).cloned().map(|p| (p, t.scope.clone()))
}
