//! One meeting, processed: read it from Exchange, decide with the rules, write the body with
//! the meeting's change marker (a conflict — the organiser edited meanwhile — reads again and
//! retries, so their edit is kept), and log what was done (or would be, in dry-run).

use super::exchange::Exchange;
use super::model::{over_at, ProviderError};
use super::rules::{self, Action, Change, MeetingFacts};
use super::store::{CalendarStore, LogLine};
use super::templates::{JoinTemplates, JoinVars};
use super::users::UserSync;
use crate::model::calendar::{CalendarLogEntry, LogAction};
use crate::model::AuditAction;
use crate::store::{AuditLog, AuditRecord, AuditResult, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

pub use super::store::TEMPLATES_KEY;

/// Also the join-details keys of the server's `[calendar]` config section (defined once, here).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CalendarConfig {
    /// The word in the Location that asks for join details (case-insensitive).
    pub keyword: String,
    /// Take the block out again when the keyword is removed.
    pub remove_when_keyword_gone: bool,
    /// Log what would be written instead of writing.
    pub dry_run: bool,
    /// Appended to bare space URIs (`ann.space` → `ann.space@<domain>`).
    pub sip_domain: String,
    pub dial_in: Vec<String>,
    pub language: String,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        Self {
            keyword: "@cms".into(),
            remove_when_keyword_gone: true,
            dry_run: false,
            sip_domain: String::new(),
            dial_in: vec![],
            language: "en".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CalendarError {
    #[error("Exchange: {0}")]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Template(String),
    #[error("{0}")]
    NotFound(String),
}

/// What happened to one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    Written(Change),
    WouldWrite(Change),
    Left(&'static str),
}

pub struct CalendarService {
    store: CalendarStore,
    audit: AuditLog,
    pub users: Arc<UserSync>,
    exchange: Exchange,
    cfg: CalendarConfig,
    /// Switchable at run time from `/calendar` (starts as configured).
    dry_run: std::sync::atomic::AtomicBool,
}

/// Waits asked for by a busy Exchange (`ErrorServerBusy`'s BackOffMilliseconds, Graph's
/// Retry-After) are honoured this many times for one request, each at most [`MAX_BACK_OFF`];
/// a busy answer that names no wait (`ErrorServerBusy` alone, a front end's 503) is waited out
/// from [`FIRST_PAUSE`], doubling. After that the meeting fails as "busy" (and the catch-up
/// comes back to it).
const BUSY_RETRIES: u32 = 3;
const MAX_BACK_OFF: std::time::Duration = std::time::Duration::from_secs(30);
const FIRST_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// `call`, again after the back-off Exchange asks for while it answers busy (bounded).
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let mut tries = 0;
    loop {
        let wait = match call().await {
            Err(ProviderError::Throttled { retry_after }) if tries < BUSY_RETRIES && retry_after <= MAX_BACK_OFF => retry_after,
            Err(ProviderError::Busy) if tries < BUSY_RETRIES => FIRST_PAUSE * 2u32.pow(tries),
            other => return other,
        };
        tries += 1;
        tracing::debug!(wait_ms = wait.as_millis() as u64, "Exchange is busy; backing off");
        tokio::time::sleep(wait).await;
    }
}

fn logged(change: Change) -> LogAction {
    match change {
        Change::Inserted => LogAction::Inserted,
        Change::Replaced => LogAction::Replaced,
        Change::Removed => LogAction::Removed,
    }
}

impl CalendarService {
    /// `exchange`: an [`EwsClient`](super::exchange::ews::EwsClient), a
    /// [`GraphClient`](super::exchange::graph::GraphClient), or both with their domains.
    pub fn new(store: Store, users: Arc<UserSync>, exchange: impl Into<Exchange>, cfg: CalendarConfig) -> Self {
        let dry_run = std::sync::atomic::AtomicBool::new(cfg.dry_run);
        let audit = AuditLog::new(store.clone());
        Self { store: CalendarStore::new(store), audit, users, exchange: exchange.into(), cfg, dry_run }
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, std::sync::atomic::Ordering::Relaxed)
    }

    /// Dry run on or off, as an operator asked from `/calendar`: switched, and audited.
    pub async fn switch_dry_run(&self, on: bool, by: &str) {
        self.set_dry_run(on);
        let rec = AuditRecord::new(by, AuditAction::CalendarDryRun, AuditResult::Ok);
        self.audit.record(rec.detail(if on { "on" } else { "off" })).await;
    }

    /// Which API serves which mailbox.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    pub fn keyword(&self) -> &str {
        &self.cfg.keyword
    }

    /// Stores one language's template after checking it renders; returns the preview.
    pub async fn save_template(&self, language: &str, html: &str, by: &str) -> Result<String, CalendarError> {
        let language = language.trim().to_ascii_lowercase();
        if language.is_empty() || language.len() > 10 || !language.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(CalendarError::Template(format!("'{language}' is not a language code (e.g. en, da, fr_CA)")));
        }
        let mut t = self.templates().await?;
        t.0.insert(language.clone(), html.to_string());
        let preview =
            t.clone().render_off_runtime(language.clone(), JoinVars::sample()).await.map_err(|e| CalendarError::Template(e.to_string()))?;
        self.store.save_templates(&t, by).await?;
        self.audit.record(AuditRecord::new(by, AuditAction::CalendarTemplates, AuditResult::Ok).target(&language)).await;
        Ok(preview)
    }

    /// Processes again the meeting of a log entry (the page's Retry on a failure).
    pub async fn retry(&self, log_id: i64) -> Result<Processed, CalendarError> {
        let target = self.store.log_target(log_id).await?;
        let (mailbox, item_id) = target.ok_or_else(|| CalendarError::NotFound("No such entry in the calendar log.".into()))?;
        self.process(&mailbox, &item_id, None).await
    }

    /// The newest log entries, newest first.
    pub async fn log_entries(&self, limit: i64) -> Result<Vec<CalendarLogEntry>, StoreError> {
        self.store.log_entries(limit).await
    }

    pub async fn templates(&self) -> Result<JoinTemplates, StoreError> {
        self.store.templates().await
    }

    /// Processes one calendar item of `mailbox`. `event_at`: when Exchange reported it (for the
    /// event → invite latency in the log).
    pub async fn process(&self, mailbox: &str, item_id: &str, event_at: Option<OffsetDateTime>) -> Result<Processed, CalendarError> {
        let r = self.process_inner(mailbox, item_id, event_at).await;
        if let Err(e) = &r {
            // Reading failed (writing failures are logged with the subject where they happen).
            let conflict = matches!(e, CalendarError::Provider(ProviderError::Conflict));
            if !conflict && !self.store.failed_lately(item_id, time::Duration::seconds(5)).await.unwrap_or(false) {
                self.log(mailbox, item_id, "", LogAction::Failed, &e.to_string(), None).await?;
            }
        }
        r
    }

    /// The join details for the mailbox's user, rendered (`None`: not a synced user with a space).
    async fn rendered_for(&self, user: Option<&super::model::CalendarUser>) -> Result<Option<String>, CalendarError> {
        let Some(vars) = user.and_then(|u| JoinVars::of(u, &self.cfg.sip_domain, &self.cfg.dial_in)) else { return Ok(None) };
        let templates = self.templates().await?;
        let html = templates.render_off_runtime(self.cfg.language.clone(), vars).await;
        Ok(Some(html.map_err(|e| CalendarError::Template(e.to_string()))?))
    }

    async fn process_inner(&self, mailbox: &str, item_id: &str, event_at: Option<OffsetDateTime>) -> Result<Processed, CalendarError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let meeting = patiently(|| self.exchange.meeting(mailbox, item_id)).await?;
            let organizer = meeting.organizer.mailbox.eq_ignore_ascii_case(mailbox) || meeting.is_organizer == Some(true);
            let facts = MeetingFacts {
                location: meeting.location.clone(),
                body: meeting.body.clone(),
                end: over_at(&meeting),
                is_occurrence: meeting.kind.in_series(),
                attendee_copy: !organizer,
                marker: meeting.marker.clone(),
            };
            let user = self.users.by_mailbox(mailbox).await?;
            let rendered = self.rendered_for(user.as_ref()).await?;
            let action =
                rules::decide(&facts, &self.cfg.keyword, rendered.as_deref(), self.cfg.remove_when_keyword_gone, OffsetDateTime::now_utc());
            let subject = meeting.subject.as_str();
            let (body, what) = match action {
                // Our own write coming back (or an edit elsewhere in the meeting): nothing to
                // say in the log, which lists what was done and what was refused.
                Action::Leave(rules::UP_TO_DATE) => return Ok(Processed::Left(rules::UP_TO_DATE)),
                Action::Leave(why) => {
                    let why = if user.is_none() && rules::has_keyword(&meeting.location, &self.cfg.keyword) && organizer {
                        "the organiser is not a synced CMS user"
                    } else {
                        why
                    };
                    self.log(mailbox, item_id, subject, LogAction::LeftAlone, why, None).await?;
                    return Ok(Processed::Left(why));
                }
                Action::Write { body, what } => (body, what),
            };
            let verb = logged(what);
            if self.dry_run() {
                let detail = format!("would have {verb} the join details");
                self.log(mailbox, item_id, subject, LogAction::DryRun, &detail, None).await?;
                return Ok(Processed::WouldWrite(what));
            }
            // The marker says the item was handled, and with which details ("removed" when taken out).
            let marker = rendered.as_deref().filter(|_| what != Change::Removed).map(rules::marker).unwrap_or_else(|| "removed".into());
            match patiently(|| self.exchange.update_body(mailbox, item_id, &meeting.change_marker, &body, &marker)).await {
                Ok(_) => {
                    let latency = event_at.map(|t| (OffsetDateTime::now_utc() - t).whole_milliseconds() as i64);
                    self.log(mailbox, item_id, subject, verb, "join details written; attendees get the update", latency).await?;
                    return Ok(Processed::Written(what));
                }
                Err(ProviderError::Conflict) if attempts < 4 => {
                    tracing::info!(%mailbox, "meeting changed while writing; reading it again");
                    continue;
                }
                Err(e) => {
                    self.log(mailbox, item_id, subject, LogAction::Failed, &e.to_string(), None).await?;
                    return Err(e.into());
                }
            }
        }
    }

    async fn log(
        &self,
        mailbox: &str,
        item_id: &str,
        subject: &str,
        action: LogAction,
        detail: &str,
        latency_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        self.store.log(LogLine { mailbox, item_id, subject, action, detail, latency_ms }).await
    }
}
