//! An Exchange Web Services simulator at `/EWS/Exchange.asmx` (../shared/reference/exchange.md
//! §2): SOAP 1.1 answered as Exchange 2016 does (`s:`/`m:`/`t:` namespaces, `ServerVersionInfo`,
//! `ResponseClass`/`ResponseCode`), Basic authentication, impersonation rights per account,
//! streaming subscriptions with `GetStreamingEvents` as a chunked stream of SOAP documents
//! (keep-alives, `Closed` at the `ConnectionTimeout`), SyncFolderItems from a SyncState,
//! GetItem (with the marker extended property), UpdateItem with ChangeKey conflicts, CreateItem.
//! ConvertId and DeleteItem (Moved/Deleted events); GetItem and FindItem in the requested shape.
//! Requests are read by local name, so any prefix style works. Awkward parts on request:
//! `ErrorServerBusy` with `BackOffMilliseconds`, streams dropped mid-way, subscriptions expired,
//! a limit of concurrent streaming connections (`ErrorExceededConnectionCount`). For other
//! clients (EWS Managed API, exchangelib, …) also FindItem (CalendarView with
//! `MaxEntriesReturned`, IndexedPageItemView paging) and GetFolder of distinguished folders;
//! the mailbox is the impersonated one or, without impersonation, the folder's `<t:Mailbox>`.
//! Series as Exchange keeps them: a `RecurringMaster` (Start/End its first occurrence's, with
//! `t:Recurrence`, `t:FirstOccurrence`, `t:LastOccurrence`), occurrences with ids of their own
//! in calendar views and GetItem, an occurrence written or edited becoming an `Exception`;
//! attendees' copies in their calendars, which the organiser's updates sent to all reach.
//!
//! This module holds the server, its state and the router; the operations live beside it, one
//! file per group; `/sim/requests` shows every HTTP request received. Nothing here comes from the EWS client: the simulator has its own reader,
//! writer and constants (`xml.rs`).

mod auth;
mod convert;
mod faults;
mod find;
mod items;
mod model;
mod moves;
mod ntlm;
mod organiser;
mod recurrence;
mod reply;
mod request;
mod shape;
mod streaming;
mod subscriptions;
mod sync;
mod xml;

pub use faults::EwsFaults;
pub use model::{SimItem, SimMeeting};
pub use organiser::EwsHandle;
pub use recurrence::{SimRange, SimRecurrence};

use crate::sim::request_log::RequestLog;
use crate::sync::lock;
use auth::NtlmConn;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use reply::fault;
use request::{read, Req};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use subscriptions::Sub;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

/// A service account that signs in (Basic or NTLM) and the mailboxes it may impersonate.
#[derive(Debug, Clone)]
pub struct SimAccount {
    pub user: String,
    pub password: String,
    /// Mailboxes it may impersonate (ignored with `impersonate_all`).
    pub can_impersonate: Vec<String>,
    pub impersonate_all: bool,
}

/// Who may sign in, which mailboxes exist, and the simulator's page and keep-alive pace.
#[derive(Debug, Clone)]
pub struct EwsSimConfig {
    pub accounts: Vec<SimAccount>,
    pub mailboxes: Vec<String>,
    /// SyncFolderItems answers at most this many changes a page.
    pub page_max: usize,
    /// Seconds between keep-alive documents on a stream.
    pub keepalive_seconds: u64,
}

impl EwsSimConfig {
    /// `svc-switchboard` / `svc-pass` may impersonate everyone; `limited` / `limited-pass` only
    /// the first mailbox. Mailboxes `user1@example.com` …
    pub fn demo(mailboxes: usize) -> Self {
        let mailboxes: Vec<String> = (1..=mailboxes.max(1)).map(|i| format!("user{i}@example.com")).collect();
        Self {
            accounts: vec![
                SimAccount { user: "svc-switchboard".into(), password: "svc-pass".into(), can_impersonate: vec![], impersonate_all: true },
                SimAccount {
                    user: "limited".into(),
                    password: "limited-pass".into(),
                    can_impersonate: vec![mailboxes[0].clone()],
                    impersonate_all: false,
                },
            ],
            mailboxes,
            page_max: 50,
            keepalive_seconds: 5,
        }
    }
}

/// The simulator's state, shared by every request and every open stream.
struct Shared {
    cfg: EwsSimConfig,
    items: Mutex<Vec<SimItem>>,
    /// subscription id → its mailbox and the events not yet delivered. Exchange keeps a
    /// subscription's events until a stream takes them: what happens between Subscribe and
    /// GetStreamingEvents (or between two connections) is delivered on the next connection.
    subs: Mutex<HashMap<String, Sub>>,
    seq: AtomicU64,
    /// Wakes open streams when an event was queued.
    events: broadcast::Sender<()>,
    faults: EwsFaults,
    epoch: AtomicU64,
    requests: Mutex<Vec<(String, String)>>,
    open_streams: AtomicU64,
    /// Open streams by the account whose budget they use (impersonated mailbox or service account).
    streams_by_account: Mutex<HashMap<String, u64>>,
    /// NTLM state per TCP connection (peer address): a challenge sent, or the account signed in.
    ntlm: Mutex<HashMap<SocketAddr, NtlmConn>>,
    /// SyncStates carry this, so one from another simulator run is refused as Exchange would.
    instance: String,
}

/// A running EWS simulator; stops when dropped.
pub struct SimEws {
    addr: SocketAddr,
    shared: Arc<Shared>,
    /// Every HTTP request received, as `/sim/requests` shows it.
    log: RequestLog,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimEws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An opaque id as Exchange's look (base64 behind a kind prefix).
fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes()))
}

impl SimEws {
    pub async fn start(addr: SocketAddr, cfg: EwsSimConfig) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            cfg,
            items: Mutex::new(Vec::new()),
            subs: Mutex::new(HashMap::new()),
            seq: AtomicU64::new(0),
            events: broadcast::channel(16).0,
            faults: EwsFaults::default(),
            epoch: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            open_streams: AtomicU64::new(0),
            streams_by_account: Mutex::new(HashMap::new()),
            ntlm: Mutex::new(HashMap::new()),
            instance: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        });
        let log = RequestLog::default();
        let app = Router::new()
            .route("/EWS/Exchange.asmx", post(soap))
            .merge(log.routes())
            .layer(axum::middleware::from_fn_with_state(log.clone(), crate::sim::request_log::record))
            .with_state(shared.clone());
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
                tracing::error!(error = %e, "EWS simulator stopped");
            }
        });
        Ok(Self { addr, shared, log, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/EWS/Exchange.asmx", self.addr)
    }

    /// `http://<addr>`: where `/sim/requests` is.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every HTTP request received (method, path, query, body, status), as `/sim/requests` shows it.
    pub fn request_log(&self) -> &RequestLog {
        &self.log
    }

    pub fn faults(&self) -> &EwsFaults {
        &self.shared.faults
    }

    /// Every subscription is forgotten (as after an Exchange restart): streams answer
    /// `ErrorSubscriptionNotFound`.
    pub fn expire_subscriptions(&self) {
        lock(&self.shared.subs).clear();
        self.shared.epoch.fetch_add(1, Ordering::Relaxed);
    }

    /// Open streams are cut mid-way (no `Closed`), once.
    pub fn drop_streams(&self) {
        self.handle().drop_streams()
    }

    pub fn open_streams(&self) -> u64 {
        self.shared.open_streams.load(Ordering::Relaxed)
    }

    /// (operation, impersonated mailbox) of every request.
    pub fn requests(&self) -> Vec<(String, String)> {
        lock(&self.shared.requests).clone()
    }

    /// A handle that can create meetings from another task (demo scenarios).
    pub fn handle(&self) -> EwsHandle {
        EwsHandle(self.shared.clone())
    }

    /// A meeting created in `organizer`'s calendar as Outlook would (Created event).
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

    /// The organiser edits the meeting (new ChangeKey, Modified event). `body` replaces the
    /// body; `text_body` makes it plain text.
    pub fn edit_meeting(&self, id: &str, location: Option<&str>, body: Option<&str>, text_body: bool) -> Option<String> {
        self.handle().edit_meeting(id, location, body, text_body)
    }

    pub fn item(&self, id: &str) -> Option<SimItem> {
        lock(&self.shared.items).iter().find(|i| i.id == id).cloned()
    }

    /// See [`EwsHandle::create`].
    pub fn create(&self, m: SimMeeting) -> String {
        self.handle().create(m)
    }

    /// See [`EwsHandle::edit_occurrence`].
    pub fn edit_occurrence(&self, master_id: &str, index: u32, body: &str) -> Option<String> {
        self.handle().edit_occurrence(master_id, index, body)
    }

    /// The stored items of a mailbox's calendar (singles, masters, exceptions, attendees' copies).
    pub fn items_of(&self, mailbox: &str) -> Vec<SimItem> {
        lock(&self.shared.items).iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox)).cloned().collect()
    }

    /// The organiser deletes the meeting in Outlook: moved to Deleted Items under a new id (a
    /// `MovedEvent`), or with `hard` gone for good (a `DeletedEvent`). Returns its new id (or
    /// the old one when gone).
    pub fn delete_meeting(&self, id: &str, hard: bool) -> Option<String> {
        let mailbox = self.item(id)?.mailbox;
        let ev = moves::delete(&self.shared, &mailbox, id, hard)?;
        let new_id = ev.item_id.clone();
        subscriptions::publish(&self.shared, ev);
        Some(new_id)
    }

    /// A deleted meeting restored from Deleted Items to the calendar (a `MovedEvent`); its new id.
    pub fn restore_meeting(&self, id: &str) -> Option<String> {
        moves::restore(&self.shared, id)
    }

    /// The id of a master's `index`-th occurrence (from 1), as a calendar view shows it.
    pub fn occurrence_id(&self, master_id: &str, index: u32) -> String {
        model::occurrence_id(master_id, index)
    }
}

/// One SOAP request: who is asking, what they ask, the faults it meets, whose mailbox, then the
/// operation.
async fn soap(
    State(s): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let account = match auth::authenticate(&s, peer, &headers) {
        Ok(a) => a,
        Err(challenge) => return auth::refusal(&s, challenge),
    };
    let req = match read(&body) {
        Ok(r) if !r.op.is_empty() => r,
        Ok(_) => return fault("ErrorInvalidRequest", "The request is invalid.", None),
        Err(e) => return fault("ErrorSchemaValidation", &format!("The request failed schema validation: {e}"), None),
    };
    let mailbox = req.impersonate.clone().or_else(|| req.folder_mailbox.clone()).unwrap_or_default();
    lock(&s.requests).push((req.op.clone(), mailbox.clone()));
    if let Some(refused) = faulty(&s, &req.op) {
        return refused;
    }
    if let Err(refused) = check_mailbox(&s, &account, &mailbox) {
        return *refused;
    }
    // Impersonating a mailbox uses that mailbox's budget; otherwise the account's own.
    let budget = if mailbox.is_empty() { account.user.to_ascii_lowercase() } else { mailbox.clone() };
    dispatch(&s, &mailbox, &budget, req)
}

/// A fault this request meets: a front end's 503 page, or ErrorServerBusy (with or without
/// its back-off).
fn faulty(s: &Shared, op: &str) -> Option<Response> {
    if s.faults.unavailable(op) {
        let page =
            "<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>";
        return Some(
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, [(axum::http::header::CONTENT_TYPE, "text/html")], page).into_response(),
        );
    }
    if s.faults.busy(op) {
        let back_off = (!s.faults.busy_without_back_off.load(Ordering::Relaxed)).then_some(300);
        return Some(fault("ErrorServerBusy", "The server cannot service this request right now. Try again later.", back_off));
    }
    None
}

/// The mailbox (when one is named) exists and the account may impersonate it.
fn check_mailbox(s: &Shared, account: &SimAccount, mailbox: &str) -> Result<(), Box<Response>> {
    if mailbox.is_empty() {
        return Ok(());
    }
    if !s.cfg.mailboxes.iter().any(|m| m.eq_ignore_ascii_case(mailbox)) {
        return Err(Box::new(fault(
            "ErrorNonExistentMailbox",
            &format!("The SMTP address has no mailbox associated with it: {mailbox}"),
            None,
        )));
    }
    if !account.impersonate_all && !account.can_impersonate.iter().any(|m| m.eq_ignore_ascii_case(mailbox)) {
        return Err(Box::new(fault(
            "ErrorImpersonateUserDenied",
            "The account does not have permission to impersonate the requested user.",
            None,
        )));
    }
    Ok(())
}

/// The operation, by the local name of the body's first element. One the simulator does not
/// serve is answered as Exchange answers a body element it has no operation for: a SOAP fault
/// (HTTP 500) `ErrorInvalidRequest`.
fn dispatch(s: &Arc<Shared>, mailbox: &str, budget: &str, req: Req) -> Response {
    match req.op.as_str() {
        "Subscribe" => subscriptions::subscribe(s, mailbox, &req.event_types),
        "GetStreamingEvents" => streaming::stream(s.clone(), req, budget.to_string()),
        "ConvertId" => convert::convert_id(&req),
        "DeleteItem" => moves::delete_item(s, mailbox, &req),
        "SyncFolderItems" => sync::sync_folder_items(s, mailbox, &req),
        "GetItem" => items::get_item(s, mailbox, &req),
        "UpdateItem" => items::update_item(s, mailbox, &req),
        "CreateItem" => items::create_item(s, mailbox, &req),
        "FindItem" => find::find_item(s, mailbox, &req),
        "GetFolder" => find::get_folder(s, mailbox, &req),
        _ => fault("ErrorInvalidRequest", "The request is invalid.", None),
    }
}
