//! One Call Bridge: its HTTP client (TLS options, timeout), Basic credentials, a bound on
//! concurrent requests, retries for idempotent requests, paging, and its last known health.

use super::error::CmsError;
use super::model;
use super::xml::{failure_reason, parse_collection, parse_object, Page};
use backon::{ExponentialBuilder, Retryable};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant};

/// Everything but unreserved characters is encoded, so an id can never add a path segment,
/// a query or a fragment (`../coSpaces/x` stays inside its own segment).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One path segment from an object id. Ids of only dots are refused: URL parsers resolve `.`
/// and `..` (even percent-encoded) as relative steps.
pub fn segment(id: &str) -> Result<String, CmsError> {
    if id.is_empty() || id.chars().all(|c| c == '.') {
        return Err(CmsError::BadId(id.chars().take(64).collect()));
    }
    Ok(percent_encoding::utf8_percent_encode(id, SEGMENT).to_string())
}
use tokio::sync::Semaphore;

/// How the node's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsMode {
    /// The operating system's trusted roots (and the bundled web roots).
    SystemRoots,
    /// Trust this PEM file (a company CA or the node's self-signed certificate).
    CustomCa(PathBuf),
    /// No verification at all. Only for labs; logged loudly at every start.
    Insecure,
}

#[derive(Clone)]
pub struct NodeConfig {
    pub name: String,
    /// `https://host:port` — `/api/v1` is added.
    pub base_url: String,
    pub username: String,
    pub password: String,
    pub tls: TlsMode,
    pub timeout: Duration,
    /// Requests in flight to this node at once.
    pub max_concurrency: usize,
    /// Extra attempts for idempotent requests after a transient failure.
    pub retries: usize,
    /// Rows asked for per page (CMS may send fewer).
    pub page_size: usize,
    /// Answers longer than this are refused (`CmsError::TooLarge`).
    pub max_answer_bytes: usize,
    /// `list_all` plans for at most this many rows, whatever `total` a node claims.
    pub max_listed_rows: usize,
}

impl std::fmt::Debug for NodeConfig {
    // Hand-written so the password can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("tls", &self.tls)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl NodeConfig {
    pub fn new(name: &str, base_url: &str, username: &str, password: &str) -> Self {
        Self {
            name: name.to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            username: username.to_string(),
            password: password.to_string(),
            tls: TlsMode::SystemRoots,
            timeout: Duration::from_secs(10),
            max_concurrency: 32,
            retries: 3,
            page_size: 20,
            max_answer_bytes: MAX_ANSWER_BYTES,
            max_listed_rows: MAX_LISTED_ROWS,
        }
    }
}

/// The largest API answer read from a node (a page of 20 rows is a few kB; one object less).
/// A node that sends more is refused rather than filling memory.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// The most rows `list_all` plans for, whatever `total` a node claims (CMS's own limits on
/// spaces and users are in the hundreds of thousands); a larger claim is cut here and logged.
pub const MAX_LISTED_ROWS: usize = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Unknown,
    Up,
    Down,
}

#[derive(Debug, Clone)]
pub struct NodeHealth {
    pub state: NodeState,
    pub detail: String,
    pub checked: Option<Instant>,
    pub version: Option<String>,
}

pub struct CmsNode {
    cfg: NodeConfig,
    api: String,
    http: reqwest::Client,
    permits: Semaphore,
    health: RwLock<NodeHealth>,
}

/// A raw answer: status, the `Location` header (for POST), the body.
struct Answer {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl std::fmt::Debug for CmsNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CmsNode").field("name", &self.cfg.name).field("api", &self.api).finish()
    }
}

impl CmsNode {
    pub fn new(cfg: NodeConfig) -> Result<Self, CmsError> {
        let cfg_err = |reason: String| CmsError::Config { node: cfg.name.clone(), reason };
        let mut builder = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(cfg.max_concurrency)
            .tcp_keepalive(Duration::from_secs(30));
        match &cfg.tls {
            TlsMode::SystemRoots => {}
            TlsMode::CustomCa(path) => {
                let pem = std::fs::read(path).map_err(|e| cfg_err(format!("cannot read CA file {}: {e}", path.display())))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .map_err(|e| cfg_err(format!("CA file {} is not a PEM certificate: {e}", path.display())))?;
                if certs.is_empty() {
                    return Err(cfg_err(format!("CA file {} holds no PEM certificate", path.display())));
                }
                for cert in certs {
                    builder = builder.add_root_certificate(cert);
                }
            }
            TlsMode::Insecure => {
                tracing::warn!(
                    node = %cfg.name,
                    "TLS CERTIFICATE CHECKS ARE OFF for CMS node {}: anyone on the path can read the API credentials. \
                     Use a CA file instead.",
                    cfg.name
                );
                builder = builder.danger_accept_invalid_certs(true);
            }
        }
        let http = builder.build().map_err(|e| cfg_err(e.to_string()))?;
        Ok(Self {
            api: format!("{}/api/v1", cfg.base_url),
            permits: Semaphore::new(cfg.max_concurrency.max(1)),
            health: RwLock::new(NodeHealth { state: NodeState::Unknown, detail: "not checked yet".into(), checked: None, version: None }),
            http,
            cfg,
        })
    }

    pub fn name(&self) -> &str {
        &self.cfg.name
    }

    pub fn base_url(&self) -> &str {
        &self.cfg.base_url
    }

    pub fn health(&self) -> NodeHealth {
        crate::sync::read(&self.health).clone()
    }

    fn set_health(&self, state: NodeState, detail: String, version: Option<String>) {
        let mut h = crate::sync::write(&self.health);
        *h = NodeHealth { state, detail, checked: Some(Instant::now()), version: version.or(h.version.take()) };
    }

    /// Marks the node down after a failure that is the node's fault.
    pub(crate) fn note_failure(&self, err: &CmsError) {
        if err.is_node_failure() {
            self.set_health(NodeState::Down, err.to_string(), None);
        }
    }

    /// `GET /system/status`, recording the outcome as this node's health.
    pub async fn check_health(&self) -> Result<model::SystemStatus, CmsError> {
        let started = Instant::now();
        match self.get::<model::SystemStatus>("/system/status", &[]).await {
            Ok(s) => {
                let ms = started.elapsed().as_millis();
                let version = s.software_version.clone();
                let detail = match &version {
                    Some(v) => format!("CMS {v}, answered in {ms} ms"),
                    None => format!("answered in {ms} ms"),
                };
                self.set_health(NodeState::Up, detail, version);
                Ok(s)
            }
            Err(e) => {
                self.set_health(NodeState::Down, e.to_string(), None);
                Err(e)
            }
        }
    }

    async fn send_once(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
    ) -> Result<Answer, CmsError> {
        let _permit = self.permits.acquire().await.map_err(|_| self.unreachable("shutting down"))?;
        let url = format!("{}{}", self.api, path);
        let mut req = self.http.request(method, &url).basic_auth(&self.cfg.username, Some(&self.cfg.password));
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(form) = form {
            req = req.form(form);
        }
        let res = req.send().await.map_err(|e| self.transport_error(e))?;
        let status = res.status();
        let location = res.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = self.read_body(res).await?;
        Ok(Answer { status, location, body })
    }

    /// The answer's body, refused once it passes `max_answer_bytes` (by its Content-Length,
    /// or while it arrives when there is none).
    async fn read_body(&self, mut res: reqwest::Response) -> Result<String, CmsError> {
        let limit = self.cfg.max_answer_bytes;
        let too_large = || CmsError::TooLarge { node: self.cfg.name.clone(), limit };
        if res.content_length().is_some_and(|n| n > limit as u64) {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    fn transport_error(&self, e: reqwest::Error) -> CmsError {
        if e.is_timeout() {
            CmsError::Timeout { node: self.cfg.name.clone(), seconds: self.cfg.timeout.as_secs_f64() }
        } else {
            // reqwest's Display hides the cause (refused, reset, TLS); walk the chain for it.
            let mut reason = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                reason = s.to_string();
                src = s.source();
            }
            self.unreachable(&reason)
        }
    }

    fn unreachable(&self, reason: &str) -> CmsError {
        CmsError::Unreachable { node: self.cfg.name.clone(), reason: reason.to_string() }
    }

    /// Sends a request; idempotent methods are retried with backoff on transient failures.
    async fn send(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        form: Option<&[(&str, String)]>,
        what: &str,
    ) -> Result<Answer, CmsError> {
        let idempotent = method != Method::POST;
        let attempt = || async {
            let ans = self.send_once(method.clone(), path, query, form).await?;
            self.check_status(ans, what)
        };
        let result = if idempotent && self.cfg.retries > 0 {
            attempt
                .retry(
                    ExponentialBuilder::default()
                        .with_min_delay(Duration::from_millis(50))
                        .with_max_delay(Duration::from_secs(2))
                        .with_max_times(self.cfg.retries)
                        .with_jitter(),
                )
                .when(CmsError::is_transient)
                .notify(|err, wait| tracing::debug!(node = %self.cfg.name, %path, error = %err, ?wait, "retrying CMS request"))
                .await
        } else {
            attempt().await
        };
        if let Err(e) = &result {
            self.note_failure(e);
        }
        result
    }

    fn check_status(&self, ans: Answer, what: &str) -> Result<Answer, CmsError> {
        let node = self.cfg.name.clone();
        match ans.status {
            s if s.is_success() => Ok(ans),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(CmsError::Unauthorized { node }),
            StatusCode::NOT_FOUND => Err(CmsError::NotFound { node, what: what.to_string() }),
            s => Err(CmsError::Refused {
                node,
                status: s.as_u16(),
                detail: failure_reason(&ans.body).unwrap_or_else(|| s.canonical_reason().unwrap_or("error").to_string()),
            }),
        }
    }

    fn malformed(&self, what: &str, reason: String) -> CmsError {
        CmsError::Malformed { node: self.cfg.name.clone(), what: what.to_string(), reason }
    }

    /// GET one object.
    pub async fn get<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<T, CmsError> {
        let ans = self.send(Method::GET, path, query, None, path).await?;
        parse_object(&ans.body).map_err(|r| self.malformed(path, r))
    }

    /// GET one page of a collection.
    pub async fn page<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)], offset: usize) -> Result<Page<T>, CmsError> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("offset", offset.to_string()));
        q.push(("limit", self.cfg.page_size.to_string()));
        let ans = self.send(Method::GET, path, &q, None, path).await?;
        parse_collection(&ans.body).map_err(|r| self.malformed(path, r))
    }

    /// Every row of a collection. CMS may return fewer rows than asked, so this follows
    /// `offset` by what actually came back until `total` is reached. After the first page the
    /// rest are fetched concurrently at the page size the node really uses.
    pub async fn list_all<T: DeserializeOwned + Send>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, CmsError> {
        let first = self.page::<T>(path, query, 0).await?;
        let total = usize::try_from(first.total).unwrap_or(usize::MAX);
        let limit = self.cfg.max_listed_rows;
        if total > limit {
            tracing::warn!(node = %self.cfg.name, %path, claimed = first.total, limit, "CMS claims more rows than Switchboard lists; listing only the first ones");
        }
        let total = total.min(limit);
        let step = first.items.len();
        let mut items = first.items;
        if step == 0 || items.len() >= total {
            return Ok(items);
        }
        let offsets: Vec<usize> = (step..total).step_by(step).collect();
        let pages: Vec<(usize, Page<T>)> = stream::iter(offsets)
            .map(|off| async move { self.page::<T>(path, query, off).await.map(|p| (off, p)) })
            .buffered(self.cfg.max_concurrency.max(1))
            .try_collect()
            .await?;
        for (_, p) in pages {
            items.extend(p.items);
        }
        // The collection may have changed between pages, or pages may have been short:
        // walk on sequentially from wherever we are until `total` is covered.
        let mut guard = 0;
        while items.len() < total && guard < 10_000 {
            guard += 1;
            let p = self.page::<T>(path, query, items.len()).await?;
            if p.items.is_empty() {
                break;
            }
            items.extend(p.items);
        }
        items.truncate(limit);
        Ok(items)
    }

    /// The same, one page after another: the baseline the benchmark compares against.
    pub async fn list_all_sequential<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, CmsError> {
        let mut items = Vec::new();
        loop {
            let p = self.page::<T>(path, query, items.len()).await?;
            let n = p.items.len();
            items.extend(p.items);
            if n == 0 || items.len() as u64 >= p.total.min(self.cfg.max_listed_rows as u64) {
                return Ok(items);
            }
        }
    }

    pub async fn put_form(&self, path: &str, form: &[(&str, String)]) -> Result<(), CmsError> {
        self.send(Method::PUT, path, &[], Some(form), path).await.map(|_| ())
    }

    /// POST a form; returns the new object's id from the `Location` header when CMS sends one.
    pub async fn post_form(&self, path: &str, form: &[(&str, String)]) -> Result<Option<String>, CmsError> {
        let ans = self.send(Method::POST, path, &[], Some(form), path).await?;
        Ok(ans.location.and_then(|l| l.trim_end_matches('/').rsplit('/').next().map(str::to_string)))
    }

    pub async fn delete(&self, path: &str) -> Result<(), CmsError> {
        self.send(Method::DELETE, path, &[], None, path).await.map(|_| ())
    }

    // Typed calls used across Switchboard.

    pub async fn calls(&self) -> Result<Vec<model::CallSummary>, CmsError> {
        self.list_all("/calls", &[]).await
    }

    pub async fn call(&self, id: &str) -> Result<model::CallDetail, CmsError> {
        self.get(&format!("/calls/{}", segment(id)?), &[]).await
    }

    pub async fn call_legs_of(&self, call_id: &str) -> Result<Vec<model::CallLegSummary>, CmsError> {
        self.list_all(&format!("/calls/{}/callLegs", segment(call_id)?), &[]).await
    }

    pub async fn call_leg(&self, id: &str) -> Result<model::CallLeg, CmsError> {
        self.get(&format!("/callLegs/{}", segment(id)?), &[]).await
    }

    /// Every leg of a call with its details (lobby state), fetched concurrently.
    pub async fn call_legs_detailed(&self, call_id: &str) -> Result<Vec<model::CallLeg>, CmsError> {
        let legs = self.call_legs_of(call_id).await?;
        stream::iter(legs).map(|l| async move { self.call_leg(&l.id).await }).buffered(self.cfg.max_concurrency.max(1)).try_collect().await
    }

    pub async fn participants_of(&self, call_id: &str) -> Result<Vec<model::Participant>, CmsError> {
        self.list_all(&format!("/calls/{}/participants", segment(call_id)?), &[]).await
    }

    /// The call legs of one participant (`GET /participants/<id>/callLegs`).
    pub async fn participant_legs(&self, participant_id: &str) -> Result<Vec<model::CallLegSummary>, CmsError> {
        self.list_all(&format!("/participants/{}/callLegs", segment(participant_id)?), &[]).await
    }

    /// Which participant each leg of a call belongs to (leg id -> participant id). CDRs name legs,
    /// admitting needs participants; matching by id, never by display name.
    pub async fn participant_by_leg(&self, call_id: &str) -> Result<std::collections::HashMap<String, String>, CmsError> {
        let participants = self.participants_of(call_id).await?;
        let pairs: Vec<(String, Vec<model::CallLegSummary>)> = stream::iter(participants)
            .map(|p| async move { self.participant_legs(&p.id).await.map(|legs| (p.id, legs)) })
            .buffer_unordered(self.cfg.max_concurrency.max(1))
            .try_collect()
            .await?;
        Ok(pairs.into_iter().flat_map(|(p, legs)| legs.into_iter().map(move |l| (l.id, p.clone()))).collect())
    }

    pub async fn set_call_message(&self, call_id: &str, text: &str, position: &str, duration: &str) -> Result<(), CmsError> {
        self.put_form(
            &format!("/calls/{}", segment(call_id)?),
            &[("messageText", text.to_string()), ("messagePosition", position.to_string()), ("messageDuration", duration.to_string())],
        )
        .await
    }

    /// Lets a lobby participant in (`deactivated=false`).
    pub async fn admit_participant(&self, participant_id: &str) -> Result<(), CmsError> {
        self.put_form(&format!("/participants/{}", segment(participant_id)?), &[("deactivated", "false".to_string())]).await
    }

    pub async fn co_spaces(&self, filter: Option<&str>) -> Result<Vec<model::CoSpace>, CmsError> {
        let q: Vec<(&str, String)> = filter.map(|f| vec![("filter", f.to_string())]).unwrap_or_default();
        self.list_all("/coSpaces", &q).await
    }

    pub async fn co_space(&self, id: &str) -> Result<model::CoSpace, CmsError> {
        self.get(&format!("/coSpaces/{}", segment(id)?), &[]).await
    }

    pub async fn users(&self) -> Result<Vec<model::User>, CmsError> {
        self.list_all("/users", &[]).await
    }

    pub async fn user(&self, id: &str) -> Result<model::User, CmsError> {
        self.get(&format!("/users/{}", segment(id)?), &[]).await
    }

    pub async fn user_co_spaces(&self, user_id: &str) -> Result<Vec<model::UserCoSpace>, CmsError> {
        self.list_all(&format!("/users/{}/usercoSpaces", segment(user_id)?), &[]).await
    }

    pub async fn cdr_receivers(&self) -> Result<Vec<model::CdrReceiver>, CmsError> {
        self.list_all("/system/cdrReceivers", &[]).await
    }

    pub async fn call_branding_profiles(&self) -> Result<Vec<model::BrandingProfile>, CmsError> {
        self.list_all("/callBrandingProfiles", &[]).await
    }

    pub async fn ivr_branding_profiles(&self) -> Result<Vec<model::BrandingProfile>, CmsError> {
        self.list_all("/ivrBrandingProfiles", &[]).await
    }

    pub async fn web_bridge_profiles(&self) -> Result<Vec<model::WebBridgeProfile>, CmsError> {
        self.list_all("/webBridgeProfiles", &[]).await
    }

    /// Adds `url` as a CDR receiver unless this node already has it. Returns whether it added.
    pub async fn ensure_cdr_receiver(&self, url: &str) -> Result<bool, CmsError> {
        let existing = self.cdr_receivers().await?;
        if existing.iter().any(|r| r.target() == Some(url)) {
            return Ok(false);
        }
        self.post_form("/system/cdrReceivers", &[("url", url.to_string())]).await?;
        Ok(true)
    }
}
