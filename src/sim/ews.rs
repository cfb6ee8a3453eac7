//! An Exchange Web Services simulator at `/EWS/Exchange.asmx` (reference/exchange.md §2): SOAP
//! 1.1 answered as Exchange 2016 does (`s:`/`m:`/`t:` namespaces, `ServerVersionInfo`,
//! `ResponseClass`/`ResponseCode`), Basic authentication, impersonation rights per account,
//! streaming subscriptions with `GetStreamingEvents` as a chunked stream of SOAP documents
//! (keep-alives, `Closed` at the `ConnectionTimeout`), SyncFolderItems from a SyncState,
//! GetItem (with the marker extended property), UpdateItem with ChangeKey conflicts, CreateItem.
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

use crate::calendar::ews::{attr, last, walk, Ev, MARKER_PROPERTY, NS_M, NS_SOAP, NS_T};
use crate::sync::lock;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub struct SimAccount {
    pub user: String,
    pub password: String,
    /// Mailboxes it may impersonate (ignored with `impersonate_all`).
    pub can_impersonate: Vec<String>,
    pub impersonate_all: bool,
}

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

/// A calendar item as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimItem {
    pub id: String,
    pub mailbox: String,
    pub change_key: String,
    pub subject: String,
    pub location: String,
    pub body: String,
    pub body_html: bool,
    pub organizer: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub marker: Option<String>,
    /// UpdateItem calls that changed it.
    pub updates: u64,
    /// Whether the last update went to the attendees (SendToAllAndSaveCopy).
    pub sent_to_all: bool,
    /// `Single`, `RecurringMaster`, `Occurrence` or `Exception` (CalendarItemType).
    pub item_type: &'static str,
    /// A master's recurrence; its `start`/`end` are its first occurrence's, as in Exchange.
    pub recurrence: Option<SimRecurrence>,
    /// An occurrence's or exception's master, and which instance (1 = the first) it is.
    pub master: Option<(String, u32)>,
    /// The meeting's UID, shared by the organiser's item and the attendees' copies.
    pub uid: String,
    /// The change sequence number (for SyncFolderItems).
    seq: u64,
}

impl SimItem {
    fn new(s: &Shared, mailbox: &str, organizer: &str, m: &SimMeeting, uid: &str) -> Self {
        let (start, end) = match &m.recurrence {
            // Exchange moves a master's Start to its first occurrence.
            Some(r) => r.expand(m.start, m.end, None, 1).first().map(|o| (o.1, o.2)).unwrap_or((m.start, m.end)),
            None => (m.start, m.end),
        };
        SimItem {
            id: new_id("AAMk"),
            mailbox: mailbox.to_ascii_lowercase(),
            change_key: new_id("DwAA"),
            subject: m.subject.clone(),
            location: m.location.clone(),
            body: m.body_html.clone(),
            body_html: true,
            organizer: organizer.to_ascii_lowercase(),
            start,
            end,
            marker: None,
            updates: 0,
            sent_to_all: false,
            item_type: if m.recurrence.is_some() { "RecurringMaster" } else { "Single" },
            recurrence: m.recurrence.clone(),
            master: None,
            uid: uid.to_string(),
            seq: s.seq.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }

    /// An attendee's copy (their mailbox, the organiser's meeting), not the organiser's item.
    pub fn is_attendee_copy(&self) -> bool {
        self.organizer != self.mailbox
    }
}

/// A meeting to create: one instance, or a series when `recurrence` is set.
#[derive(Debug, Clone)]
pub struct SimMeeting {
    pub organizer: String,
    /// Attendees with a mailbox here get a copy in their calendar (as once the meeting request
    /// is processed), and the organiser's updates sent to all reach those copies.
    pub attendees: Vec<String>,
    pub subject: String,
    pub location: String,
    pub body_html: String,
    /// The first occurrence's times (for a series).
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub recurrence: Option<SimRecurrence>,
}

/// How a series repeats, as EWS's `t:Recurrence`: a pattern (every `interval` days, or every
/// `interval` weeks on `days`) and a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimRecurrence {
    pub interval: u32,
    /// Empty: a daily pattern; else weekly on these days.
    pub days: Vec<time::Weekday>,
    pub range: SimRange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimRange {
    /// `EndDateRecurrence`: the last occurrence is on or before this date.
    EndDate(time::Date),
    /// `NumberedRecurrence`: this many occurrences.
    Numbered(u32),
    /// `NoEndRecurrence`.
    NoEnd,
}

/// How far a series without an end is expanded (a calendar view asks at most two years).
const EXPAND_DAYS: i64 = 3 * 366;

impl SimRecurrence {
    pub fn weekly(days: &[time::Weekday], range: SimRange) -> Self {
        Self { interval: 1, days: days.to_vec(), range }
    }

    /// The occurrences as (instance number from 1, start, end) from the series' `start`, up to
    /// `until` (or the range's end), at most `max`.
    pub fn expand(
        &self,
        start: OffsetDateTime,
        end: OffsetDateTime,
        until: Option<OffsetDateTime>,
        max: usize,
    ) -> Vec<(u32, OffsetDateTime, OffsetDateTime)> {
        let (first, length, interval) = (start.date(), end - start, i64::from(self.interval.max(1)));
        // Weeks are counted from the Sunday before the start (FirstDayOfWeek Sunday).
        let week0 = first - time::Duration::days(i64::from(first.weekday().number_days_from_sunday()));
        let mut out = Vec::new();
        for k in 0..EXPAND_DAYS {
            let day = first + time::Duration::days(k);
            let at = day.with_time(start.time()).assume_offset(start.offset());
            if until.is_some_and(|u| at > u) || matches!(self.range, SimRange::EndDate(d) if day > d) || out.len() >= max {
                break;
            }
            if matches!(self.range, SimRange::Numbered(n) if out.len() >= n as usize) {
                break;
            }
            let hit = if self.days.is_empty() {
                k % interval == 0
            } else {
                self.days.contains(&day.weekday()) && ((day - week0).whole_days() / 7) % interval == 0
            };
            if hit {
                out.push((out.len() as u32 + 1, at, at + length));
            }
        }
        out
    }

    /// The last occurrence (`None` for a series without an end).
    pub fn last(&self, start: OffsetDateTime, end: OffsetDateTime) -> Option<(u32, OffsetDateTime, OffsetDateTime)> {
        match self.range {
            SimRange::NoEnd => None,
            _ => self.expand(start, end, None, usize::MAX).pop(),
        }
    }

    fn xml(&self, start: OffsetDateTime) -> String {
        let pattern = if self.days.is_empty() {
            format!("<t:DailyRecurrence><t:Interval>{}</t:Interval></t:DailyRecurrence>", self.interval)
        } else {
            let days: Vec<String> = self.days.iter().map(|d| d.to_string()).collect();
            format!(
                "<t:WeeklyRecurrence><t:Interval>{}</t:Interval><t:DaysOfWeek>{}</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence>",
                self.interval,
                days.join(" ")
            )
        };
        let from = format!("<t:StartDate>{}Z</t:StartDate>", start.date());
        let range = match self.range {
            SimRange::EndDate(d) => format!("<t:EndDateRecurrence>{from}<t:EndDate>{d}Z</t:EndDate></t:EndDateRecurrence>"),
            SimRange::Numbered(n) => {
                format!("<t:NumberedRecurrence>{from}<t:NumberOfOccurrences>{n}</t:NumberOfOccurrences></t:NumberedRecurrence>")
            }
            SimRange::NoEnd => format!("<t:NoEndRecurrence>{from}</t:NoEndRecurrence>"),
        };
        format!("<t:Recurrence>{pattern}{range}</t:Recurrence>")
    }
}

/// An occurrence's id: opaque to clients, as Exchange's, but naming its master and instance.
fn occurrence_id(master: &str, index: u32) -> String {
    format!("AAMkOcc{}", base64::engine::general_purpose::STANDARD.encode(format!("{master}|{index}")))
}

fn parse_occurrence_id(id: &str) -> Option<(String, u32)> {
    let raw = base64::engine::general_purpose::STANDARD.decode(id.strip_prefix("AAMkOcc")?).ok()?;
    let (master, index) = String::from_utf8(raw).ok()?.rsplit_once('|').map(|(m, i)| (m.to_string(), i.to_string()))?;
    Some((master, index.parse().ok()?))
}

/// The item `id` names in `mailbox`: a stored one (single, master, exception, copy), or an
/// occurrence of a stored master as Exchange shows it (its own id and times, the master's
/// content and ChangeKey).
fn lookup(items: &[SimItem], id: &str, mailbox: &str) -> Option<SimItem> {
    if let Some(i) = items.iter().find(|i| i.id == id && i.mailbox.eq_ignore_ascii_case(mailbox)) {
        return Some(i.clone());
    }
    let (master_id, index) = parse_occurrence_id(id)?;
    let m = items.iter().find(|i| i.id == master_id && i.mailbox.eq_ignore_ascii_case(mailbox))?;
    let (_, start, end) = m.recurrence.as_ref()?.expand(m.start, m.end, None, index as usize).into_iter().find(|o| o.0 == index)?;
    Some(SimItem {
        id: id.to_string(),
        start,
        end,
        item_type: "Occurrence",
        recurrence: None,
        master: Some((master_id, index)),
        marker: None,
        updates: 0,
        ..m.clone()
    })
}

/// Faults to inject.
#[derive(Debug, Default)]
pub struct EwsFaults {
    /// Every n-th request answers ErrorServerBusy (0 = never).
    busy_every: AtomicU64,
    seen: AtomicU64,
    /// Open streams are cut without `Closed`.
    drop_streams: AtomicBool,
    /// The organiser edits the item just before the next UpdateItem lands (a ChangeKey race).
    edit_before_update: AtomicBool,
    /// At most this many open streaming connections (0 = no limit), as Exchange's throttling policy.
    stream_limit: AtomicU64,
    /// Basic is switched off: only NTLM (per connection) is accepted, as on many Exchange servers.
    ntlm_only: AtomicBool,
    /// NTLM Negotiate messages received (one per connection that signs in).
    ntlm_handshakes: AtomicU64,
    /// Operation → how many of its next requests answer ErrorServerBusy.
    busy_ops: Mutex<HashMap<String, u64>>,
}

impl EwsFaults {
    pub fn set_busy_every(&self, n: u64) {
        self.busy_every.store(n, Ordering::Relaxed);
    }
    /// The next `times` requests of operation `op` (GetItem, UpdateItem, …) answer
    /// ErrorServerBusy with a back-off of 300 ms.
    pub fn set_busy_for(&self, op: &str, times: u64) {
        lock(&self.busy_ops).insert(op.to_string(), times);
    }
    fn busy_now(&self, op: &str) -> bool {
        let mut ops = lock(&self.busy_ops);
        match ops.get_mut(op) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        }
    }
    /// Basic authentication off, NTLM only (`WWW-Authenticate: Negotiate` / `NTLM`).
    pub fn set_ntlm_only(&self, on: bool) {
        self.ntlm_only.store(on, Ordering::Relaxed);
    }
    /// NTLM handshakes begun so far (one per connection that signs in).
    pub fn ntlm_handshakes(&self) -> u64 {
        self.ntlm_handshakes.load(Ordering::Relaxed)
    }
    /// More than `n` open streams at once answer `ErrorExceededConnectionCount` (0 = no limit).
    pub fn set_stream_limit(&self, n: u64) {
        self.stream_limit.store(n, Ordering::Relaxed);
    }
    /// The next UpdateItem meets an organiser's edit made a moment before (its ChangeKey is stale).
    pub fn edit_before_next_update(&self) {
        self.edit_before_update.store(true, Ordering::Relaxed);
    }
}

struct Sub {
    mailbox: String,
    queue: std::collections::VecDeque<Event>,
}

/// Events a subscription keeps for a client that does not connect (then the oldest go).
const SUB_QUEUE_MAX: usize = 10_000;

#[derive(Debug, Clone)]
struct Event {
    mailbox: String,
    kind: &'static str,
    item_id: String,
    change_key: String,
}

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
    /// NTLM state per TCP connection (peer address): a challenge sent, or the account signed in.
    ntlm: Mutex<HashMap<SocketAddr, NtlmConn>>,
    /// SyncStates carry this, so one from another simulator run is refused as Exchange would.
    instance: String,
}

pub struct SimEws {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SimEws {
    fn drop(&mut self) {
        self.task.abort();
    }
}

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
            ntlm: Mutex::new(HashMap::new()),
            instance: uuid::Uuid::new_v4().simple().to_string()[..8].to_string(),
        });
        let app = Router::new().route("/EWS/Exchange.asmx", post(soap)).with_state(shared.clone());
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
                tracing::error!(error = %e, "EWS simulator stopped");
            }
        });
        Ok(Self { addr, shared, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}/EWS/Exchange.asmx", self.addr)
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
        self.shared.faults.drop_streams.store(true, Ordering::Relaxed);
        self.shared.epoch.fetch_add(1, Ordering::Relaxed);
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

    /// The id of a master's `index`-th occurrence (from 1), as a calendar view shows it.
    pub fn occurrence_id(&self, master_id: &str, index: u32) -> String {
        occurrence_id(master_id, index)
    }
}

/// Creates meetings in a running simulator from another task.
#[derive(Clone)]
pub struct EwsHandle(Arc<Shared>);

impl EwsHandle {
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

    /// A meeting or series created by its organiser (Created events in the organiser's and the
    /// attendees' calendars); returns the organiser's item id.
    pub fn create(&self, m: SimMeeting) -> String {
        create(&self.0, &m, true).0
    }

    /// The organiser changes one occurrence of a series (instance `index`, from 1): it becomes an
    /// exception with `body`, the master is modified with it. Modified events for both, as
    /// Exchange sends. Returns the exception's id.
    pub fn edit_occurrence(&self, master_id: &str, index: u32, body: &str) -> Option<String> {
        let s = &self.0;
        let mut items = lock(&s.items);
        let mailbox = items.iter().find(|i| i.id == master_id)?.mailbox.clone();
        let id = occurrence_id(master_id, index);
        let mut ex = lookup(&items, &id, &mailbox)?;
        ex.body = body.into();
        ex.item_type = "Exception";
        ex.change_key = new_id("DwAA");
        ex.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let mut events =
            vec![Event { mailbox: mailbox.clone(), kind: "ModifiedEvent", item_id: id.clone(), change_key: ex.change_key.clone() }];
        items.retain(|i| i.id != id);
        items.push(ex);
        if let Some(m) = items.iter_mut().find(|i| i.id == master_id) {
            m.change_key = new_id("DwAA");
            m.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
            events.push(Event { mailbox, kind: "ModifiedEvent", item_id: m.id.clone(), change_key: m.change_key.clone() });
        }
        drop(items);
        for ev in events {
            publish(s, ev);
        }
        Some(id)
    }

    /// See [`SimEws::edit_meeting`].
    pub fn edit_meeting(&self, id: &str, location: Option<&str>, body: Option<&str>, text_body: bool) -> Option<String> {
        let s = &self.0;
        let mut items = lock(&s.items);
        let it = items.iter_mut().find(|i| i.id == id)?;
        if let Some(l) = location {
            it.location = l.into();
        }
        if let Some(b) = body {
            it.body = b.into();
            it.body_html = !text_body;
        }
        it.change_key = new_id("DwAA");
        it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let ev = Event { mailbox: it.mailbox.clone(), kind: "ModifiedEvent", item_id: it.id.clone(), change_key: it.change_key.clone() };
        let ck = it.change_key.clone();
        drop(items);
        publish(s, ev);
        Some(ck)
    }
}

#[derive(Debug, Clone)]
enum NtlmConn {
    Challenged([u8; 8]),
    Authenticated(SimAccount),
}

/// Who is asking: Basic on every request (unless switched off), or NTLM bound to the connection
/// (Negotiate → 401 with a Challenge → Authenticate checked as NTLMv2 → the connection is
/// signed in for its later requests).
/// The 401: with the NTLM challenge, or offering the schemes.
fn refusal(s: &Shared, challenge: Option<String>) -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    let h = r.headers_mut();
    match challenge {
        Some(c) => {
            h.append(header::WWW_AUTHENTICATE, format!("NTLM {c}").parse().unwrap_or(header::HeaderValue::from_static("NTLM")));
        }
        None => {
            if !s.faults.ntlm_only.load(Ordering::Relaxed) {
                h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"ews.example.com\""));
            }
            h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Negotiate"));
            h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("NTLM"));
        }
    }
    r
}

/// `Err(Some(challenge))`: answer 401 with that NTLM challenge; `Err(None)`: a plain 401.
fn authenticate(s: &Shared, peer: SocketAddr, headers: &HeaderMap) -> Result<SimAccount, Option<String>> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = given.strip_prefix("NTLM ").or_else(|| given.strip_prefix("Negotiate "));
    let Some(token) = token else {
        if let Some(NtlmConn::Authenticated(a)) = lock(&s.ntlm).get(&peer) {
            return Ok(a.clone());
        }
        if s.faults.ntlm_only.load(Ordering::Relaxed) {
            return Err(None);
        }
        return check_basic(s, headers).ok_or(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(token.trim()).unwrap_or_default();
    match ntlmclient::Message::try_from(bytes.as_slice()) {
        Ok(ntlmclient::Message::Negotiate(_)) => {
            s.faults.ntlm_handshakes.fetch_add(1, Ordering::Relaxed);
            let challenge: [u8; 8] = rand::random();
            let msg = ntlmclient::Message::Challenge(ntlmclient::ChallengeMessage {
                target_name: "EXAMPLE".into(),
                flags: ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM | ntlmclient::Flags::REQUEST_TARGET,
                challenge,
                context: (0, 0),
                target_information: vec![
                    ntlmclient::TargetInfoEntry::from_string(ntlmclient::TargetInfoType::NtDomain, "EXAMPLE"),
                    ntlmclient::TargetInfoEntry::from_string(ntlmclient::TargetInfoType::NtServer, "EXCH01"),
                    ntlmclient::TargetInfoEntry { entry_type: ntlmclient::TargetInfoType::Terminator, data: vec![] },
                ],
                os_version: Default::default(),
            });
            lock(&s.ntlm).insert(peer, NtlmConn::Challenged(challenge));
            let c = msg.to_bytes().map(|b| base64::engine::general_purpose::STANDARD.encode(b)).unwrap_or_default();
            Err(Some(c))
        }
        Ok(ntlmclient::Message::Authenticate(a)) => {
            let Some(NtlmConn::Challenged(challenge)) = lock(&s.ntlm).get(&peer).cloned() else {
                // An Authenticate on a connection that was not challenged: start over.
                return Err(None);
            };
            let account = s.cfg.accounts.iter().find(|x| x.user.eq_ignore_ascii_case(&a.user_name)).cloned();
            let ok = account.as_ref().is_some_and(|acc| ntlm_v2_valid(&a, challenge, &acc.password));
            match (ok, account) {
                (true, Some(acc)) => {
                    lock(&s.ntlm).insert(peer, NtlmConn::Authenticated(acc.clone()));
                    Ok(acc)
                }
                _ => {
                    lock(&s.ntlm).remove(&peer);
                    Err(None)
                }
            }
        }
        _ => Err(None),
    }
}

/// The NTLMv2 response: HMAC-MD5 under NTOWFv2(password, user, domain) of the server challenge
/// and the client's blob must equal the NTProofStr in front of that blob.
fn ntlm_v2_valid(a: &ntlmclient::AuthenticateMessage, challenge: [u8; 8], password: &str) -> bool {
    use hmac::Mac;
    if a.ntlm_response.len() <= 16 {
        return false;
    }
    let creds = ntlmclient::Credentials { username: a.user_name.clone(), password: password.to_string(), domain: a.domain_name.clone() };
    let key = ntlmclient::ntlm_v2_password_func(&creds);
    let (proof, blob) = a.ntlm_response.split_at(16);
    let Ok(mut mac) = <hmac::Hmac<md5::Md5> as Mac>::new_from_slice(&key) else { return false };
    mac.update(&challenge);
    mac.update(blob);
    mac.verify_slice(proof).is_ok()
}

fn check_basic(s: &Shared, headers: &HeaderMap) -> Option<SimAccount> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    s.cfg.accounts.iter().find(|a| a.user.eq_ignore_ascii_case(u) && a.password == p).cloned()
}

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"1\" \
         MajorBuildNumber=\"2507\" MinorBuildNumber=\"6\" Version=\"V2017_07_11\" xmlns:h=\"{NS_T}\" xmlns=\"{NS_T}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/></s:Header>\
         <s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">{body}</s:Body></s:Envelope>"
    )
}

fn message(op: &str, class: &str, code: &str, text: &str, inner: &str) -> String {
    let mt = if code == "NoError" { String::new() } else { format!("<m:MessageText>{}</m:MessageText>", esc(text)) };
    envelope(&format!(
        "<m:{op}Response xmlns:m=\"{NS_M}\" xmlns:t=\"{NS_T}\"><m:ResponseMessages><m:{op}ResponseMessage ResponseClass=\"{class}\">{mt}\
         <m:ResponseCode>{code}</m:ResponseCode>{inner}</m:{op}ResponseMessage></m:ResponseMessages></m:{op}Response>"
    ))
}

fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn esc(s: &str) -> String {
    crate::calendar::ews::esc(s)
}

/// A SOAP fault as Exchange sends for whole-request errors (HTTP 500).
fn fault(code: &str, text: &str, back_off: Option<u64>) -> Response {
    let detail = back_off
        .map(|ms| format!("<t:MessageXml xmlns:t=\"{NS_T}\"><t:Value Name=\"BackOffMilliseconds\">{ms}</t:Value></t:MessageXml>"))
        .unwrap_or_default();
    xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Body><s:Fault>\
             <faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">a:{code}</faultcode><faultstring xml:lang=\"en-US\">{}</faultstring>\
             <detail><e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{code}</e:ResponseCode>\
             <e:Message xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{}</e:Message>{detail}</detail></s:Fault></s:Body></s:Envelope>",
            esc(text),
            esc(text)
        ),
    )
}

/// What a request says, read by local names.
#[derive(Debug, Default)]
struct Req {
    op: String,
    impersonate: Option<String>,
    sub_ids: Vec<String>,
    timeout_minutes: u64,
    sync_state: Option<String>,
    items: Vec<(String, Option<String>)>,
    body: Option<(String, bool)>,
    marker: Option<String>,
    conflict: String,
    send: String,
    subject: String,
    location: String,
    start: Option<String>,
    end: Option<String>,
    view: Option<View>,
    /// `<t:DistinguishedFolderId Id>` values.
    folders: Vec<String>,
    /// The folder's `<t:Mailbox><t:EmailAddress>` (delegate access, no impersonation).
    folder_mailbox: Option<String>,
    /// CreateItem: `t:RequiredAttendees`/`t:OptionalAttendees`, and a series' `t:Recurrence`.
    attendees: Vec<String>,
    recurrence: Option<SimRecurrence>,
}

/// FindItem's view.
#[derive(Debug, Clone)]
enum View {
    Calendar { start: Option<String>, end: Option<String>, max: Option<usize> },
    Indexed { offset: usize, max: Option<usize> },
}

fn read(xml: &str) -> Result<Req, String> {
    let mut r = Req { timeout_minutes: 30, ..Default::default() };
    let mut in_marker_prop = false;
    let mut body_html = true;
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if path.len() == 3 && path[1] == "Body" && r.op.is_empty() {
                r.op = n.to_string();
                r.conflict = attr(e, b"ConflictResolution").unwrap_or_else(|| "AutoResolve".into());
                r.send =
                    attr(e, b"SendMeetingInvitationsOrCancellations").or_else(|| attr(e, b"SendMeetingInvitations")).unwrap_or_default();
            }
            match n {
                "ItemId" => r.items.push((attr(e, b"Id").unwrap_or_default(), attr(e, b"ChangeKey"))),
                "Body" if path.len() > 3 => body_html = attr(e, b"BodyType").is_none_or(|t| t.eq_ignore_ascii_case("HTML")),
                "ExtendedFieldURI" => in_marker_prop = attr(e, b"PropertyName").as_deref() == Some(MARKER_PROPERTY),
                "CalendarView" => {
                    r.view = Some(View::Calendar {
                        start: attr(e, b"StartDate"),
                        end: attr(e, b"EndDate"),
                        max: attr(e, b"MaxEntriesReturned").and_then(|m| m.parse().ok()),
                    })
                }
                "IndexedPageItemView" => {
                    r.view = Some(View::Indexed {
                        offset: attr(e, b"Offset").and_then(|m| m.parse().ok()).unwrap_or(0),
                        max: attr(e, b"MaxEntriesReturned").and_then(|m| m.parse().ok()),
                    })
                }
                "DistinguishedFolderId" => r.folders.push(attr(e, b"Id").unwrap_or_default().to_ascii_lowercase()),
                "DailyRecurrence" | "WeeklyRecurrence" if path.iter().any(|p| p == "Recurrence") => {
                    r.recurrence = Some(SimRecurrence { interval: 1, days: vec![], range: SimRange::NoEnd })
                }
                _ => {}
            }
        }
        Ev::Text(path, t) if path.iter().any(|p| p == "Recurrence") => {
            let Some(rec) = r.recurrence.as_mut() else { return };
            match last(path) {
                "Interval" => rec.interval = t.trim().parse().unwrap_or(1),
                "DaysOfWeek" => rec.days = t.split_whitespace().filter_map(weekday).collect(),
                "EndDate" => {
                    let d = t
                        .trim()
                        .get(..10)
                        .and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok());
                    if let Some(d) = d {
                        rec.range = SimRange::EndDate(d);
                    }
                }
                "NumberOfOccurrences" => rec.range = SimRange::Numbered(t.trim().parse().unwrap_or(1)),
                _ => {}
            }
        }
        Ev::Text(path, t) => match last(path) {
            "PrimarySmtpAddress" | "SmtpAddress" if path.iter().any(|p| p == "ExchangeImpersonation") => {
                r.impersonate = Some(t.trim().to_ascii_lowercase())
            }
            "EmailAddress" if path.iter().any(|p| p == "DistinguishedFolderId") => r.folder_mailbox = Some(t.trim().to_ascii_lowercase()),
            "EmailAddress" if path.iter().any(|p| p == "RequiredAttendees" || p == "OptionalAttendees") => {
                r.attendees.push(t.trim().to_ascii_lowercase())
            }
            "SubscriptionId" => r.sub_ids.push(t.trim().to_string()),
            "ConnectionTimeout" => r.timeout_minutes = t.trim().parse().unwrap_or(30),
            "SyncState" => r.sync_state = Some(t.trim().to_string()),
            "Body" if path.len() > 3 => r.body = Some((t.to_string(), body_html)),
            "Value" if in_marker_prop => r.marker = Some(t.to_string()),
            "Subject" => r.subject = t.to_string(),
            "Location" => r.location = t.to_string(),
            "Start" => r.start = Some(t.trim().to_string()),
            "End" => r.end = Some(t.trim().to_string()),
            _ => {}
        },
    })?;
    Ok(r)
}

fn weekday(name: &str) -> Option<time::Weekday> {
    use time::Weekday::*;
    [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().find(|d| d.to_string().eq_ignore_ascii_case(name))
}

fn t3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn soap(
    State(s): State<Arc<Shared>>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let account = match authenticate(&s, peer, &headers) {
        Ok(a) => a,
        Err(challenge) => return refusal(&s, challenge),
    };
    let req = match read(&body) {
        Ok(r) if !r.op.is_empty() => r,
        Ok(_) => return fault("ErrorInvalidRequest", "The request is invalid.", None),
        Err(e) => return fault("ErrorSchemaValidation", &format!("The request failed schema validation: {e}"), None),
    };
    let mailbox = req.impersonate.clone().or_else(|| req.folder_mailbox.clone()).unwrap_or_default();
    lock(&s.requests).push((req.op.clone(), mailbox.clone()));
    let n = s.faults.seen.fetch_add(1, Ordering::Relaxed) + 1;
    let busy = s.faults.busy_every.load(Ordering::Relaxed);
    if (busy > 0 && n.is_multiple_of(busy)) || s.faults.busy_now(&req.op) {
        return fault("ErrorServerBusy", "The server cannot service this request right now. Try again later.", Some(300));
    }
    if !mailbox.is_empty() {
        if !s.cfg.mailboxes.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
            return fault("ErrorNonExistentMailbox", &format!("The SMTP address has no mailbox associated with it: {mailbox}"), None);
        }
        if !account.impersonate_all && !account.can_impersonate.iter().any(|m| m.eq_ignore_ascii_case(&mailbox)) {
            return fault("ErrorImpersonateUserDenied", "The account does not have permission to impersonate the requested user.", None);
        }
    }
    match req.op.as_str() {
        "Subscribe" => {
            let id = new_id("SUB");
            lock(&s.subs).insert(id.clone(), Sub { mailbox, queue: Default::default() });
            let mut res = xml_response(
                StatusCode::OK,
                message("Subscribe", "Success", "NoError", "", &format!("<m:SubscriptionId>{id}</m:SubscriptionId>")),
            );
            if let Ok(v) = "X-BackEndOverrideCookie=ews-sim-backend~1; path=/; HttpOnly".parse() {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        "GetStreamingEvents" => stream(s.clone(), req),
        "SyncFolderItems" => match req
            .sync_state
            .as_deref()
            .map(|st| st.split_once(':').filter(|(i, _)| *i == s.instance).map(|(_, n)| n.parse::<u64>().ok()))
        {
            Some(None) | Some(Some(None)) => xml_response(
                StatusCode::OK,
                message(
                    "SyncFolderItems",
                    "Error",
                    "ErrorInvalidSyncStateData",
                    "Synchronization state data is corrupt or otherwise invalid.",
                    "",
                ),
            ),
            Some(Some(Some(n))) => sync(&s, &mailbox, n),
            None => sync(&s, &mailbox, 0),
        },
        "GetItem" => get_item(&s, &mailbox, &req),
        "UpdateItem" => update_item(&s, &mailbox, &req),
        "CreateItem" => create_item(&s, &mailbox, &req),
        "FindItem" => find_item(&s, &mailbox, &req),
        "GetFolder" => get_folder(&s, &mailbox, &req),
        other => xml_response(
            StatusCode::OK,
            message(other, "Error", "ErrorInvalidOperationType", &format!("{other} is not served by this simulator"), ""),
        ),
    }
}

/// Exchange's answer when a service account without a mailbox names none.
fn no_mailbox(op: &str) -> Response {
    xml_response(
        StatusCode::OK,
        message(
            op,
            "Error",
            "ErrorMissingEmailAddress",
            "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folders.",
            "",
        ),
    )
}

/// FindItem in a mailbox's calendar: a CalendarView (items overlapping the range, at most
/// `MaxEntriesReturned`, `IncludesLastItemInRange` false when cut) or an IndexedPageItemView
/// (offset paging with `IndexedPagingOffset`); item summaries without bodies, as Exchange.
fn find_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("FindItem");
    }
    let items = lock(&s.items);
    // Without a CalendarView a series is its master; exceptions live inside it.
    let mut all: Vec<SimItem> = items.iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox) && i.master.is_none()).cloned().collect();
    all.sort_by_key(|i| (i.start, i.seq));
    let parse =
        |t: &Option<String>| t.as_deref().and_then(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok());
    let (page, total, includes_last, offset): (Vec<SimItem>, usize, bool, Option<usize>) = match &req.view {
        Some(View::Calendar { start, end, max }) => {
            let (Some(from), Some(to)) = (parse(start), parse(end)) else {
                return fault(
                    "ErrorSchemaValidation",
                    "The request failed schema validation: CalendarView needs StartDate and EndDate.",
                    None,
                );
            };
            if to - from > time::Duration::days(731) {
                return xml_response(
                    StatusCode::OK,
                    message(
                        "FindItem",
                        "Error",
                        "ErrorCalendarViewRangeTooBig",
                        "The calendar view range exceeds the maximum of two years.",
                        "",
                    ),
                );
            }
            // A calendar view expands each series into its occurrences (exceptions as changed).
            let mut hits: Vec<SimItem> = Vec::new();
            for i in all {
                match &i.recurrence {
                    Some(r) => hits.extend(
                        r.expand(i.start, i.end, Some(to), usize::MAX)
                            .into_iter()
                            .filter_map(|(n, _, _)| lookup(&items, &occurrence_id(&i.id, n), mailbox))
                            .filter(|o| o.end > from && o.start < to),
                    ),
                    None if i.end > from && i.start < to => hits.push(i),
                    None => {}
                }
            }
            hits.sort_by_key(|i| (i.start, i.seq));
            let n = hits.len();
            let cut = max.unwrap_or(1000).min(1000);
            (hits.into_iter().take(cut).collect(), n, n <= cut, None)
        }
        Some(View::Indexed { offset, max }) => {
            let n = all.len();
            let page: Vec<SimItem> = all.into_iter().skip(*offset).take(max.unwrap_or(1000).min(1000)).collect();
            let next = offset + page.len();
            (page, n, next >= n, Some(next))
        }
        None => {
            let n = all.len();
            (all.into_iter().take(1000).collect(), n, n <= 1000, None)
        }
    };
    let rows: String = page
        .iter()
        .map(|i| {
            format!(
                "<t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/><t:Subject>{}</t:Subject><t:Start>{}</t:Start><t:End>{}</t:End>\
                 <t:Location>{}</t:Location><t:CalendarItemType>{}</t:CalendarItemType><t:Organizer><t:Mailbox><t:Name>{}</t:Name>\
                 <t:EmailAddress>{}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer></t:CalendarItem>",
                i.id,
                i.change_key,
                esc(&i.subject),
                t3339(i.start),
                t3339(i.end),
                esc(&i.location),
                i.item_type,
                esc(&i.organizer),
                esc(&i.organizer)
            )
        })
        .collect();
    let paging = offset.map(|o| format!(" IndexedPagingOffset=\"{o}\"")).unwrap_or_default();
    xml_response(
        StatusCode::OK,
        message(
            "FindItem",
            "Success",
            "NoError",
            "",
            &format!("<m:RootFolder TotalItemsInView=\"{total}\" IncludesLastItemInRange=\"{includes_last}\"{paging}><t:Items>{rows}</t:Items></m:RootFolder>"),
        ),
    )
}

/// GetFolder of distinguished folders (calendar, inbox, root, msgfolderroot).
fn get_folder(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("GetFolder");
    }
    let count = lock(&s.items).iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox)).count();
    let id = |name: &str| base64::engine::general_purpose::STANDARD.encode(format!("{mailbox}/{name}"));
    let mut folders = String::new();
    for f in &req.folders {
        let (element, name, total) = match f.as_str() {
            "calendar" => ("CalendarFolder", "Calendar", count),
            "inbox" => ("Folder", "Inbox", 0),
            "root" | "msgfolderroot" => ("Folder", "Top of Information Store", 0),
            other => {
                return xml_response(
                    StatusCode::OK,
                    message(
                        "GetFolder",
                        "Error",
                        "ErrorFolderNotFound",
                        &format!("The specified folder could not be found in the store: {other}."),
                        "<m:Folders/>",
                    ),
                )
            }
        };
        folders.push_str(&format!(
            "<t:{element}><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:DisplayName>{name}</t:DisplayName><t:TotalCount>{total}</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount></t:{element}>",
            id(f)
        ));
    }
    if folders.is_empty() {
        return fault("ErrorSchemaValidation", "The request failed schema validation: FolderIds is required.", None);
    }
    xml_response(StatusCode::OK, message("GetFolder", "Success", "NoError", "", &format!("<m:Folders>{folders}</m:Folders>")))
}

fn sync(s: &Shared, mailbox: &str, since: u64) -> Response {
    let items = lock(&s.items);
    // A series syncs as its master: exceptions live inside it, occurrences are not items.
    let mut changed: Vec<&SimItem> =
        items.iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox) && i.seq > since && i.master.is_none()).collect();
    changed.sort_by_key(|i| i.seq);
    let page: Vec<&SimItem> = changed.iter().take(s.cfg.page_max).copied().collect();
    let last = page.last().map(|i| i.seq).unwrap_or(since);
    let includes_last = page.len() == changed.len();
    let changes: String = page
        .iter()
        .map(|i| {
            let kind = if i.seq > since && since == 0 { "Create" } else { "Update" };
            format!("<t:{kind}><t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/></t:CalendarItem></t:{kind}>", i.id, i.change_key)
        })
        .collect();
    xml_response(
        StatusCode::OK,
        message(
            "SyncFolderItems",
            "Success",
            "NoError",
            "",
            &format!("<m:SyncState>{}:{last}</m:SyncState><m:IncludesLastItemInRange>{includes_last}</m:IncludesLastItemInRange><m:Changes>{changes}</m:Changes>", s.instance),
        ),
    )
}

fn item_xml(i: &SimItem) -> String {
    let marker = i
        .marker
        .as_ref()
        .map(|m| {
            format!(
                "<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId=\"PublicStrings\" PropertyName=\"{MARKER_PROPERTY}\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>",
                esc(m)
            )
        })
        .unwrap_or_default();
    // A master: its pattern and range, and its first and last occurrences (none last without an end).
    let series = i
        .recurrence
        .as_ref()
        .map(|r| {
            let occ = |name: &str, o: Option<(u32, OffsetDateTime, OffsetDateTime)>| {
                o.map(|(n, s, e)| {
                    format!(
                        "<t:{name}><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/><t:Start>{}</t:Start><t:End>{}</t:End><t:OriginalStart>{}</t:OriginalStart></t:{name}>",
                        occurrence_id(&i.id, n),
                        i.change_key,
                        t3339(s),
                        t3339(e),
                        t3339(s)
                    )
                })
                .unwrap_or_default()
            };
            format!(
                "{}{}{}",
                r.xml(i.start),
                occ("FirstOccurrence", r.expand(i.start, i.end, None, 1).pop()),
                occ("LastOccurrence", r.last(i.start, i.end))
            )
        })
        .unwrap_or_default();
    format!(
        "<t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/><t:Subject>{}</t:Subject><t:Body BodyType=\"{}\">{}</t:Body>{marker}\
         <t:UID>{}</t:UID><t:Start>{}</t:Start><t:End>{}</t:End><t:Location>{}</t:Location><t:IsRecurring>{}</t:IsRecurring>\
         <t:CalendarItemType>{}</t:CalendarItemType><t:Organizer><t:Mailbox><t:Name>{}</t:Name><t:EmailAddress>{}</t:EmailAddress>\
         <t:RoutingType>SMTP</t:RoutingType></t:Mailbox></t:Organizer>{series}<t:IsOrganizer>{}</t:IsOrganizer></t:CalendarItem>",
        i.id,
        i.change_key,
        esc(&i.subject),
        if i.body_html { "HTML" } else { "Text" },
        esc(&i.body),
        i.uid,
        t3339(i.start),
        t3339(i.end),
        esc(&i.location),
        i.item_type != "Single",
        i.item_type,
        esc(&i.organizer),
        esc(&i.organizer),
        !i.is_attendee_copy(),
    )
}

fn get_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    let items = lock(&s.items);
    let Some((id, _)) = req.items.first() else { return fault("ErrorInvalidRequest", "No ItemId.", None) };
    match lookup(&items, id, mailbox) {
        Some(i) => {
            xml_response(StatusCode::OK, message("GetItem", "Success", "NoError", "", &format!("<m:Items>{}</m:Items>", item_xml(&i))))
        }
        None => xml_response(
            StatusCode::OK,
            message("GetItem", "Error", "ErrorItemNotFound", "The specified object was not found in the store.", "<m:Items/>"),
        ),
    }
}

fn update_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    let Some((id, ck)) = req.items.first().cloned() else { return fault("ErrorInvalidRequest", "No ItemId.", None) };
    let mut items = lock(&s.items);
    // Writing an occurrence makes it an exception of its series, stored beside the master.
    if let Some(mut occ) = lookup(&items, &id, mailbox).filter(|i| i.item_type == "Occurrence") {
        occ.item_type = "Exception";
        items.push(occ);
    }
    let Some(it) = items.iter_mut().find(|i| i.id == id && i.mailbox.eq_ignore_ascii_case(mailbox)) else {
        return xml_response(
            StatusCode::OK,
            message("UpdateItem", "Error", "ErrorItemNotFound", "The specified object was not found in the store.", "<m:Items/>"),
        );
    };
    if req.send.is_empty() {
        return xml_response(
            StatusCode::OK,
            message(
                "UpdateItem",
                "Error",
                "ErrorSendMeetingInvitationsOrCancellationsRequired",
                "SendMeetingInvitationsOrCancellations is required for calendar items.",
                "<m:Items/>",
            ),
        );
    }
    if s.faults.edit_before_update.swap(false, Ordering::Relaxed) {
        it.body = it.body.replace("</body>", "<p>Organiser's late edit</p></body>");
        if !it.body.contains("Organiser's late edit") {
            it.body.push_str("<p>Organiser's late edit</p>");
        }
        it.change_key = new_id("DwAA");
        it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    }
    let stale = ck.as_deref().is_some_and(|c| c != it.change_key);
    if stale && req.conflict != "AlwaysOverwrite" {
        return xml_response(
            StatusCode::OK,
            message(
                "UpdateItem",
                "Error",
                "ErrorIrresolvableConflict",
                "The change key passed in the request does not match the current change key for the item.",
                "<m:Items/>",
            ),
        );
    }
    if let Some((b, html)) = &req.body {
        it.body = b.clone();
        it.body_html = *html;
    }
    if let Some(m) = &req.marker {
        it.marker = Some(m.clone());
    }
    it.change_key = new_id("DwAA");
    it.updates += 1;
    it.sent_to_all = req.send.starts_with("SendToAll") || req.send.starts_with("SendOnlyToAll");
    it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    let mut events =
        vec![Event { mailbox: it.mailbox.clone(), kind: "ModifiedEvent", item_id: it.id.clone(), change_key: it.change_key.clone() }];
    let inner = format!("<m:Items><t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/></t:CalendarItem></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>", it.id, it.change_key);
    // The organiser's update sent to all reaches the attendees' copies (as once they process the
    // meeting update): their body changes and their calendars report it.
    let sent = (it.sent_to_all && !it.is_attendee_copy() && it.master.is_none()).then(|| (it.uid.clone(), it.body.clone(), it.body_html));
    if let Some((uid, body, html)) = sent {
        for copy in items.iter_mut().filter(|c| c.uid == uid && c.is_attendee_copy()) {
            copy.body = body.clone();
            copy.body_html = html;
            copy.change_key = new_id("DwAA");
            copy.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
            events.push(Event {
                mailbox: copy.mailbox.clone(),
                kind: "ModifiedEvent",
                item_id: copy.id.clone(),
                change_key: copy.change_key.clone(),
            });
        }
    }
    drop(items);
    for ev in events {
        publish(s, ev);
    }
    xml_response(StatusCode::OK, message("UpdateItem", "Success", "NoError", "", &inner))
}

/// Creates the organiser's item and the attendees' copies; returns the organiser's id and ChangeKey.
fn create(s: &Shared, m: &SimMeeting, html: bool) -> (String, String) {
    let uid = uuid::Uuid::new_v4().simple().to_string();
    let mut made = vec![SimItem::new(s, &m.organizer, &m.organizer, m, &uid)];
    for a in
        m.attendees.iter().filter(|a| s.cfg.mailboxes.iter().any(|x| x.eq_ignore_ascii_case(a)) && !a.eq_ignore_ascii_case(&m.organizer))
    {
        made.push(SimItem::new(s, a, &m.organizer, m, &uid));
    }
    for i in &mut made {
        i.body_html = html;
    }
    let first = (made[0].id.clone(), made[0].change_key.clone());
    let events: Vec<Event> = made
        .iter()
        .map(|i| Event { mailbox: i.mailbox.clone(), kind: "CreatedEvent", item_id: i.id.clone(), change_key: i.change_key.clone() })
        .collect();
    lock(&s.items).extend(made);
    for ev in events {
        publish(s, ev);
    }
    first
}

fn create_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("CreateItem");
    }
    let parse =
        |t: &Option<String>| t.as_deref().and_then(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok());
    let start = parse(&req.start).unwrap_or_else(OffsetDateTime::now_utc);
    let end = parse(&req.end).unwrap_or(start + time::Duration::hours(1));
    let (body, html) = req.body.clone().unwrap_or_default();
    let m = SimMeeting {
        organizer: mailbox.to_string(),
        attendees: req.attendees.clone(),
        subject: req.subject.clone(),
        location: req.location.clone(),
        body_html: body,
        start,
        end,
        recurrence: req.recurrence.clone(),
    };
    let (id, ck) = create(s, &m, html);
    let inner = format!("<m:Items><t:CalendarItem><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/></t:CalendarItem></m:Items>");
    xml_response(StatusCode::OK, message("CreateItem", "Success", "NoError", "", &inner))
}

/// A streaming response: an OK document, notifications as they happen, keep-alives, `Closed`
/// at the timeout (or an error document when a subscription is unknown).
fn stream(s: Arc<Shared>, req: Req) -> Response {
    let unknown: Vec<String> = {
        let subs = lock(&s.subs);
        req.sub_ids.iter().filter(|id| !subs.contains_key(*id)).cloned().collect()
    };
    if !unknown.is_empty() {
        let ids: String = unknown.iter().map(|i| format!("<t:SubscriptionId>{i}</t:SubscriptionId>")).collect();
        return xml_response(
            StatusCode::OK,
            message(
                "GetStreamingEvents",
                "Error",
                "ErrorSubscriptionNotFound",
                "The specified subscription was not found.",
                &format!("<m:ErrorSubscriptionIds>{ids}</m:ErrorSubscriptionIds>"),
            ),
        );
    }
    let limit = s.faults.stream_limit.load(Ordering::Relaxed);
    if limit > 0 && s.open_streams.load(Ordering::Relaxed) >= limit {
        return xml_response(
            StatusCode::OK,
            message(
                "GetStreamingEvents",
                "Error",
                "ErrorExceededConnectionCount",
                "You have exceeded the available concurrent connections for your account. Try again once your other requests have completed.",
                "",
            ),
        );
    }
    if req.sub_ids.len() > 200 {
        return xml_response(
            StatusCode::OK,
            message("GetStreamingEvents", "Error", "ErrorInvalidSubscriptionRequest", "At most 200 subscriptions per connection.", ""),
        );
    }
    let wanted: Vec<String> = req.sub_ids.clone();
    let mut rx = s.events.subscribe();
    let epoch = s.epoch.load(Ordering::Relaxed);
    let until = tokio::time::Instant::now() + Duration::from_secs(req.timeout_minutes.clamp(1, 30) * 60);
    let keepalive = Duration::from_secs(s.cfg.keepalive_seconds.max(1));
    let (tx, body_rx) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(64);
    let shared = s.clone();
    tokio::spawn(async move {
        shared.open_streams.fetch_add(1, Ordering::Relaxed);
        let ok = |notes: &str, status: &str| {
            message("GetStreamingEvents", "Success", "NoError", "", &format!("{notes}<m:ConnectionStatus>{status}</m:ConnectionStatus>"))
        };
        let _ = tx.send(Ok(ok("", "OK"))).await;
        let mut last_sent = tokio::time::Instant::now();
        loop {
            if last_sent.elapsed() >= keepalive {
                // A keep-alive: a document without notifications.
                if tx.send(Ok(ok("", "OK"))).await.is_err() {
                    break;
                }
                last_sent = tokio::time::Instant::now();
            }
            if shared.epoch.load(Ordering::Relaxed) != epoch {
                if shared.faults.drop_streams.swap(false, Ordering::Relaxed) {
                    // Cut without Closed.
                    let _ = tx.send(Err(std::io::Error::other("connection reset"))).await;
                    break;
                }
                let gone: String = wanted.iter().map(|i| format!("<t:SubscriptionId>{i}</t:SubscriptionId>")).collect();
                let _ = tx
                    .send(Ok(message(
                        "GetStreamingEvents",
                        "Error",
                        "ErrorSubscriptionNotFound",
                        "The specified subscription was not found.",
                        &format!("<m:ErrorSubscriptionIds>{gone}</m:ErrorSubscriptionIds>"),
                    )))
                    .await;
                break;
            }
            let due: Vec<(String, Event)> = {
                let mut subs = lock(&shared.subs);
                let mut due = Vec::new();
                for id in &wanted {
                    if let Some(sub) = subs.get_mut(id) {
                        due.extend(sub.queue.drain(..).map(|ev| (id.clone(), ev)));
                    }
                }
                due
            };
            let mut gone = false;
            for (sub, ev) in due {
                let note = format!(
                    "<m:Notifications><m:Notification><t:SubscriptionId>{sub}</t:SubscriptionId><t:PreviousWatermark>AQ==</t:PreviousWatermark><t:MoreEvents>false</t:MoreEvents>\
                     <t:{k}><t:Watermark>AQ==</t:Watermark><t:TimeStamp>{ts}</t:TimeStamp><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/><t:ParentFolderId Id=\"calendar\" ChangeKey=\"AQ==\"/></t:{k}>\
                     </m:Notification></m:Notifications>",
                    k = ev.kind,
                    ts = t3339(OffsetDateTime::now_utc()),
                    id = ev.item_id,
                    ck = ev.change_key
                );
                if tx.send(Ok(ok(&note, "OK"))).await.is_err() {
                    gone = true;
                    break;
                }
                last_sent = tokio::time::Instant::now();
            }
            if gone {
                break;
            }
            let wait = tokio::time::sleep(keepalive.min(Duration::from_millis(200)));
            tokio::select! {
                _ = tokio::time::sleep_until(until) => {
                    let _ = tx.send(Ok(ok("", "Closed"))).await;
                    break;
                }
                ev = rx.recv() => if let Err(broadcast::error::RecvError::Closed) = ev { break },
                _ = wait => {}
            }
        }
        shared.open_streams.fetch_sub(1, Ordering::Relaxed);
    });
    let body = Body::from_stream(tokio_stream_from(body_rx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Queues `ev` on every subscription of its mailbox and wakes the open streams.
fn publish(s: &Shared, ev: Event) {
    {
        let mut subs = lock(&s.subs);
        for sub in subs.values_mut().filter(|sub| sub.mailbox.eq_ignore_ascii_case(&ev.mailbox)) {
            if sub.queue.len() >= SUB_QUEUE_MAX {
                sub.queue.pop_front();
            }
            sub.queue.push_back(ev.clone());
        }
    }
    let _ = s.events.send(());
}

fn tokio_stream_from(
    rx: tokio::sync::mpsc::Receiver<Result<String, std::io::Error>>,
) -> impl futures::Stream<Item = Result<String, std::io::Error>> {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}
