//! One meeting, processed: read it from Exchange, decide with the rules, write the body with
//! the item's ChangeKey (a conflict — the organiser edited meanwhile — reads again and retries,
//! so their edit is kept), and log what was done (or would be, in dry-run).

use super::ews::Item;
use super::ews_client::EwsError;
use super::exchange::Exchange;
use super::rules::{self, Action, Body, Change, MeetingFacts};
use super::templates::{JoinTemplates, JoinVars};
use super::users::UserSync;
use crate::store::{now_text, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

pub const TEMPLATES_KEY: &str = "calendar.templates";

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
    Ews(#[from] EwsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Template(String),
    #[error("{0}")]
    NotFound(String),
}

impl From<sqlx::Error> for CalendarError {
    fn from(e: sqlx::Error) -> Self {
        CalendarError::Store(e.into())
    }
}

/// What happened to one meeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Processed {
    Written(Change),
    WouldWrite(Change),
    Left(&'static str),
}

pub struct CalendarService {
    store: Store,
    pub users: Arc<UserSync>,
    exchange: Exchange,
    cfg: CalendarConfig,
    /// Switchable at run time from `/calendar` (starts as configured).
    dry_run: std::sync::atomic::AtomicBool,
}

/// EWS times are RFC 3339 (`2026-11-25T10:00:00Z`).
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// When a meeting is over. A series is handled on its master, whose Start/End are its *first*
/// occurrence's: a weekly series that began last month still runs, so its end is the last
/// occurrence's (EWS `LastOccurrence`), else the range's end date (the date is in the
/// series' time zone: the whole day, west of UTC too, plus one meeting's length). `None`
/// (never over) for a series without an end, and for a numbered one whose last occurrence is
/// not given — better to write join details into an old series than to miss a running one.
pub fn over_at(item: &Item) -> Option<OffsetDateTime> {
    if item.item_type != "RecurringMaster" {
        return parse_time(&item.end);
    }
    if item.recurrence_range == "NoEndRecurrence" {
        return None;
    }
    if let Some(t) = parse_time(&item.last_occurrence_end) {
        return Some(t);
    }
    if item.recurrence_range != "EndDateRecurrence" {
        return None;
    }
    let date = item.recurrence_end_date.get(..10)?;
    let date = time::Date::parse(date, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    let length = match (parse_time(&item.start), parse_time(&item.end)) {
        (Some(s), Some(e)) if e > s => e - s,
        _ => time::Duration::ZERO,
    };
    Some(date.midnight().assume_utc() + time::Duration::hours(24 + 14) + length)
}

/// Waits asked for by a busy Exchange (`ErrorServerBusy`'s BackOffMilliseconds, Graph's
/// Retry-After) are honoured this many times for one request, each at most [`MAX_BACK_OFF`];
/// after that the meeting fails as "busy" (and the catch-up comes back to it).
const BUSY_RETRIES: u32 = 3;
const MAX_BACK_OFF: std::time::Duration = std::time::Duration::from_secs(30);

/// `call`, again after the back-off Exchange asks for while it answers busy (bounded).
async fn patiently<T, F, Fut>(mut call: F) -> Result<T, EwsError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, EwsError>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Err(EwsError::Busy(wait)) if tries < BUSY_RETRIES && wait <= MAX_BACK_OFF => {
                tries += 1;
                tracing::debug!(wait_ms = wait.as_millis() as u64, "Exchange is busy; backing off as asked");
                tokio::time::sleep(wait).await;
            }
            other => return other,
        }
    }
}

impl CalendarService {
    /// `exchange`: an [`EwsClient`](super::ews_client::EwsClient), a
    /// [`GraphClient`](super::graph::GraphClient), or both with their domains.
    pub fn new(store: Store, users: Arc<UserSync>, exchange: impl Into<Exchange>, cfg: CalendarConfig) -> Self {
        let dry_run = std::sync::atomic::AtomicBool::new(cfg.dry_run);
        Self { store, users, exchange: exchange.into(), cfg, dry_run }
    }

    pub fn dry_run(&self) -> bool {
        self.dry_run.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_dry_run(&self, on: bool) {
        self.dry_run.store(on, std::sync::atomic::Ordering::Relaxed)
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
        let preview = t.render(&language, &JoinVars::sample()).map_err(|e| CalendarError::Template(e.to_string()))?;
        self.store.put_setting(TEMPLATES_KEY, &t, by).await?;
        Ok(preview)
    }

    /// Processes again the meeting of a log entry (the page's Retry on a failure).
    pub async fn retry(&self, log_id: i64) -> Result<Processed, CalendarError> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT mailbox, item_id FROM calendar_log WHERE id = ?").bind(log_id).fetch_optional(self.store.pool()).await?;
        let (mailbox, item_id) = row.ok_or_else(|| CalendarError::NotFound("No such entry in the calendar log.".into()))?;
        self.process(&mailbox, &item_id, None).await
    }

    /// The newest log entries, newest first.
    pub async fn log_entries(&self, limit: i64) -> Result<Vec<crate::model::calendar::CalendarLogEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, mailbox, item_id, subject, action, detail, latency_ms FROM calendar_log ORDER BY id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(self.store.pool())
        .await?)
    }

    pub async fn templates(&self) -> Result<JoinTemplates, StoreError> {
        Ok(self.store.setting::<JoinTemplates>(TEMPLATES_KEY).await?.unwrap_or_default())
    }

    /// Processes one calendar item of `mailbox`. `event_at`: when Exchange reported it (for the
    /// event → invite latency in the log).
    pub async fn process(&self, mailbox: &str, item_id: &str, event_at: Option<OffsetDateTime>) -> Result<Processed, CalendarError> {
        let r = self.process_inner(mailbox, item_id, event_at).await;
        if let Err(e) = &r {
            // Reading failed (writing failures are logged with the subject where they happen).
            if !matches!(e, CalendarError::Ews(EwsError::Conflict)) && !self.logged_failure(item_id).await {
                self.log(mailbox, item_id, "", "failed", &e.to_string(), None).await?;
            }
        }
        r
    }

    async fn logged_failure(&self, item_id: &str) -> bool {
        sqlx::query_scalar::<_, i64>("SELECT id FROM calendar_log WHERE item_id = ? AND action = 'failed' AND at >= ? LIMIT 1")
            .bind(item_id)
            .bind(crate::store::time_text(OffsetDateTime::now_utc() - time::Duration::seconds(5)))
            .fetch_optional(self.store.pool())
            .await
            .ok()
            .flatten()
            .is_some()
    }

    async fn process_inner(&self, mailbox: &str, item_id: &str, event_at: Option<OffsetDateTime>) -> Result<Processed, CalendarError> {
        let templates = self.templates().await?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let item = patiently(|| self.exchange.item(mailbox, item_id)).await?;
            let organizer = item.organizer.eq_ignore_ascii_case(mailbox) || item.is_organizer == Some(true);
            let facts = MeetingFacts {
                location: item.location.clone(),
                body: Body { html: item.body_html, content: item.body.clone() },
                end: over_at(&item),
                is_occurrence: matches!(item.item_type.as_str(), "Occurrence" | "Exception"),
                attendee_copy: !organizer,
            };
            let user = self.users.by_mailbox(mailbox).await?;
            let rendered = match user.as_ref().and_then(|u| JoinVars::of(u, &self.cfg.sip_domain, &self.cfg.dial_in)) {
                Some(vars) => Some(templates.render(&self.cfg.language, &vars).map_err(|e| CalendarError::Template(e.to_string()))?),
                None => None,
            };
            let action =
                rules::decide(&facts, &self.cfg.keyword, rendered.as_deref(), self.cfg.remove_when_keyword_gone, OffsetDateTime::now_utc());
            let (body, what) = match action {
                Action::Leave(rules::UP_TO_DATE) => {
                    // Our own write coming back (or an edit elsewhere in the meeting): nothing to
                    // say in the log, which lists what was done and what was refused.
                    return Ok(Processed::Left(rules::UP_TO_DATE));
                }
                Action::Leave(why) => {
                    let why = if user.is_none() && rules::has_keyword(&item.location, &self.cfg.keyword) && organizer {
                        "the organiser is not a synced CMS user"
                    } else {
                        why
                    };
                    self.log(mailbox, item_id, &item.subject, "left alone", why, None).await?;
                    return Ok(Processed::Left(why));
                }
                Action::Write { body, what } => (body, what),
            };
            let verb = match what {
                Change::Inserted => "inserted",
                Change::Replaced => "replaced",
                Change::Removed => "removed",
            };
            if self.dry_run() {
                self.log(mailbox, item_id, &item.subject, "dry run", &format!("would have {verb} the join details"), None).await?;
                return Ok(Processed::WouldWrite(what));
            }
            // The marker says the item was handled, and with which details ("removed" when taken out).
            let marker = rendered.as_deref().filter(|_| what != Change::Removed).map(rules::marker).unwrap_or_else(|| "removed".into());
            match patiently(|| self.exchange.update_body(mailbox, item_id, &item.change_key, &body, &marker)).await {
                Ok(_) => {
                    let latency = event_at.map(|t| (OffsetDateTime::now_utc() - t).whole_milliseconds() as i64);
                    self.log(mailbox, item_id, &item.subject, verb, "join details written; attendees get the update", latency).await?;
                    return Ok(Processed::Written(what));
                }
                Err(EwsError::Conflict) if attempts < 4 => {
                    tracing::info!(%mailbox, "meeting changed while writing; reading it again");
                    continue;
                }
                Err(e) => {
                    self.log(mailbox, item_id, &item.subject, "failed", &e.to_string(), None).await?;
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
        action: &str,
        detail: &str,
        latency_ms: Option<i64>,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO calendar_log (at, mailbox, item_id, subject, action, detail, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(now_text())
            .bind(mailbox)
            .bind(item_id)
            .bind(subject)
            .bind(action)
            .bind(detail)
            .bind(latency_ms)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn master(range: &str, end_date: &str, last: &str) -> Item {
        Item {
            item_type: "RecurringMaster".into(),
            start: "2020-01-06T09:00:00Z".into(),
            end: "2020-01-06T09:30:00Z".into(),
            recurrence_range: range.into(),
            recurrence_end_date: end_date.into(),
            last_occurrence_end: last.into(),
            ..Item::default()
        }
    }

    #[test]
    fn a_series_is_over_when_its_last_occurrence_is_not_when_its_first_is() {
        let t = |s: &str| parse_time(s);
        let single = Item { item_type: "Single".into(), end: "2020-01-06T09:30:00Z".into(), ..Item::default() };
        assert_eq!(over_at(&single), t("2020-01-06T09:30:00Z"));
        assert_eq!(over_at(&master("NoEndRecurrence", "", "")), None, "no end: never over");
        let last = master("EndDateRecurrence", "2099-06-29Z", "2099-06-29T09:30:00Z");
        assert_eq!(over_at(&last), t("2099-06-29T09:30:00Z"), "the last occurrence's end");
        // Without LastOccurrence: the end date's whole day (west of UTC too) plus a meeting's length.
        assert_eq!(over_at(&master("EndDateRecurrence", "2099-06-29-08:00", "")), t("2099-06-30T14:30:00Z"));
        assert_eq!(over_at(&master("NumberedRecurrence", "", "")), None, "cannot tell: not over");
        assert_eq!(over_at(&master("EndDateRecurrence", "2019-12-30Z", "2019-12-30T09:30:00Z")), t("2019-12-30T09:30:00Z"));
    }
}
