//! The calendar's own words: a meeting as the rules and the service see it, whichever Exchange
//! API it came from, and the error every adapter reports in. The adapters under
//! [`exchange`](super::exchange) translate their wire formats into these types.

use std::time::Duration;
use time::OffsetDateTime;

/// The name of the extended property that marks an item Switchboard wrote (with the block's
/// hash): a named string property, the same for EWS and Graph.
pub const MARKER_PROPERTY: &str = "SwitchboardCmsJoin";

/// What the provider says a meeting looks like now: EWS's ChangeKey, Graph's etag. A write
/// carries it back, and is refused (`Conflict`) when the meeting changed meanwhile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeMarker(pub String);

impl ChangeMarker {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Who organises a meeting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organizer {
    pub name: String,
    /// Lower case.
    pub mailbox: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BodyKind {
    #[default]
    Html,
    Text,
}

/// The body of a meeting as Exchange gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    pub kind: BodyKind,
    pub content: String,
}

/// Where a meeting sits in a series.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MeetingKind {
    #[default]
    Single,
    /// One occurrence of a series, as the series defines it.
    Occurrence,
    /// One occurrence moved or edited on its own.
    Exception,
    /// The series itself (EWS `RecurringMaster`, Graph `seriesMaster`).
    Series,
}

impl MeetingKind {
    /// An occurrence or exception: handled on the series, not on its own.
    pub fn in_series(self) -> bool {
        matches!(self, MeetingKind::Occurrence | MeetingKind::Exception)
    }
}

/// How long a series runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeriesRange {
    /// Until a date (in the series' time zone; `None` when it could not be read).
    EndDate(Option<time::Date>),
    /// A number of occurrences.
    Numbered,
    NoEnd,
    /// The provider did not say.
    #[default]
    Unknown,
}

/// A series' extent: a series' own start and end are its *first* occurrence's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Series {
    pub range: SeriesRange,
    /// The end of its last occurrence, when the provider gives it (EWS `LastOccurrence`).
    pub last_occurrence_end: Option<OffsetDateTime>,
}

/// One calendar item of one mailbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Meeting {
    /// The provider's id of the item.
    pub id: String,
    pub change_marker: ChangeMarker,
    pub subject: String,
    pub organizer: Organizer,
    /// Whether the mailbox is the organiser's, when the provider says.
    pub is_organizer: Option<bool>,
    pub location: String,
    pub body: Body,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub kind: MeetingKind,
    /// For a series: how long it runs.
    pub series: Series,
    /// The marker property Switchboard wrote (the hash of its block), if any.
    pub marker: Option<String>,
}

/// Why Exchange (either API) did not do what was asked. The services decide on these, never
/// on a provider's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("the service account was refused (401)")]
    Unauthorized,
    /// The account may not act as this mailbox (EWS impersonation, Graph access policy).
    #[error("no impersonation right for {0}")]
    NoAccess(String),
    #[error("Exchange is busy; back off {retry_after:?}")]
    Throttled { retry_after: Duration },
    /// Busy without saying for how long (`ErrorServerBusy` without `BackOffMilliseconds`, an
    /// HTTP 503 from a front end): try again after a growing pause.
    #[error("Exchange is busy (it gave no back-off)")]
    Busy,
    /// The item changed since it was read (stale ChangeKey or etag).
    #[error("the item changed meanwhile (ChangeKey conflict)")]
    Conflict,
    #[error("Exchange answered {code}: {message}")]
    NotFound { code: String, message: String },
    #[error("the subscription is gone (expired, or Exchange restarted)")]
    SubscriptionGone,
    /// The stored sync position (EWS SyncState, Graph delta link) is no longer known: start over.
    #[error("Exchange answered {code}: {message}")]
    SyncStateLost { code: String, message: String },
    /// The app could not sign in (Graph client credentials).
    #[error("Exchange answered token: {0}")]
    SignIn(String),
    #[error("Exchange answered NotServed: no Exchange API is configured for {0}'s domain (calendar.ews_domains / calendar.graph_domains)")]
    NotServed(String),
    /// Any other refusal, with the provider's code for the log.
    #[error("Exchange answered {code}: {message}")]
    Refused { code: String, message: String },
    #[error("cannot reach Exchange: {0}")]
    Unavailable(String),
    /// No connection, or no whole answer, within the configured timeouts (`calendar.http`).
    #[error("Exchange did not answer in time: {0} (calendar.http)")]
    TimedOut(String),
    /// The answer passed `calendar.http.max_answer_bytes`; it was not read further.
    #[error("Exchange's answer is larger than {limit} bytes (calendar.http.max_answer_bytes)")]
    TooLarge { limit: usize },
    /// Graph handed back a link to another origin than `calendar.graph_api_url`: not followed,
    /// so the app's token never goes there.
    #[error("Graph sent {0}")]
    ForeignLink(#[from] crate::outbound::ForeignLink),
    #[error("unexpected answer from Exchange: {0}")]
    Protocol(String),
}

impl From<crate::outbound::HttpError> for ProviderError {
    fn from(e: crate::outbound::HttpError) -> Self {
        use crate::outbound::HttpError;
        match e {
            HttpError::ConnectTimedOut(_) | HttpError::TimedOut(_) => ProviderError::TimedOut(e.to_string()),
            HttpError::TooLarge { limit } => ProviderError::TooLarge { limit },
            HttpError::Network(m) => ProviderError::Unavailable(m),
        }
    }
}

/// The longest back-off a provider may ask for: a `Retry-After` or `BackOffMilliseconds`
/// beyond it is read as this (a huge value would otherwise overflow the next wake-up time).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl ProviderError {
    /// Busy: back off `retry_after`, at most [`MAX_RETRY_AFTER`].
    pub fn throttled(retry_after: Duration) -> Self {
        ProviderError::Throttled { retry_after: retry_after.min(MAX_RETRY_AFTER) }
    }

    /// Worth trying again later (the same request may well succeed): busy or unreachable.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Throttled { .. } | ProviderError::Busy | ProviderError::Unavailable(_) | ProviderError::TimedOut(_))
    }
}

/// A CMS user as the calendar needs them: their mailbox and their personal space's join details.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, sqlx::FromRow)]
pub struct CalendarUser {
    pub jid: String,
    pub cms_id: String,
    pub name: String,
    pub mailbox: String,
    pub space_id: Option<String>,
    pub space_name: Option<String>,
    pub uri: Option<String>,
    pub secondary_uri: Option<String>,
    pub call_id: Option<String>,
    pub passcode: Option<String>,
    pub secret: Option<String>,
    pub web_link: Option<String>,
}

/// What one user sync run found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncReport {
    pub users: usize,
    pub added: usize,
    pub changed: usize,
    pub gone: usize,
    pub no_space: usize,
    pub diff: Vec<crate::model::calendar::DiffLine>,
}

impl SyncReport {
    /// One sentence for the operator who asked for the sync.
    pub fn summary(&self) -> String {
        format!(
            "{} users: {} added, {} changed, {} gone, {} without a personal space.",
            self.users, self.added, self.changed, self.gone, self.no_space
        )
    }
}

/// When a meeting is over. A series is handled on its master, whose start and end are its
/// *first* occurrence's: a weekly series that began last month still runs, so its end is the
/// last occurrence's, else the range's end date (the date is in the series' time zone: the
/// whole day, west of UTC too, plus one meeting's length). `None` (never over) for a series
/// without an end, and for a numbered one whose last occurrence is not given — better to write
/// join details into an old series than to miss a running one.
pub fn over_at(m: &Meeting) -> Option<OffsetDateTime> {
    if m.kind != MeetingKind::Series {
        return m.end;
    }
    if m.series.range == SeriesRange::NoEnd {
        return None;
    }
    if let Some(t) = m.series.last_occurrence_end {
        return Some(t);
    }
    let SeriesRange::EndDate(Some(date)) = m.series.range else { return None };
    let length = match (m.start, m.end) {
        (Some(s), Some(e)) if e > s => e - s,
        _ => time::Duration::ZERO,
    };
    Some(date.midnight().assume_utc() + time::Duration::hours(24 + 14) + length)
}

/// RFC 3339 (`2026-11-25T10:00:00Z`), as EWS writes times.
pub fn parse_rfc3339(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
}

/// The date of an xs:date (`2027-03-01`, `2027-03-01Z`, `2027-03-01-08:00`): its first ten characters.
pub fn parse_date(s: &str) -> Option<time::Date> {
    let d = s.trim().get(..10)?;
    time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(range: SeriesRange, last: Option<&str>) -> Meeting {
        Meeting {
            kind: MeetingKind::Series,
            start: parse_rfc3339("2020-01-06T09:00:00Z"),
            end: parse_rfc3339("2020-01-06T09:30:00Z"),
            series: Series { range, last_occurrence_end: last.and_then(parse_rfc3339) },
            ..Meeting::default()
        }
    }

    #[test]
    fn a_series_is_over_when_its_last_occurrence_is_not_when_its_first_is() {
        let t = parse_rfc3339;
        let single = Meeting { end: t("2020-01-06T09:30:00Z"), ..Meeting::default() };
        assert_eq!(over_at(&single), t("2020-01-06T09:30:00Z"));
        assert_eq!(over_at(&series(SeriesRange::NoEnd, None)), None, "no end: never over");
        let last = series(SeriesRange::EndDate(parse_date("2099-06-29Z")), Some("2099-06-29T09:30:00Z"));
        assert_eq!(over_at(&last), t("2099-06-29T09:30:00Z"), "the last occurrence's end");
        // Without LastOccurrence: the end date's whole day (west of UTC too) plus a meeting's length.
        assert_eq!(over_at(&series(SeriesRange::EndDate(parse_date("2099-06-29-08:00")), None)), t("2099-06-30T14:30:00Z"));
        assert_eq!(over_at(&series(SeriesRange::Numbered, None)), None, "cannot tell: not over");
        let ended = series(SeriesRange::EndDate(parse_date("2019-12-30Z")), Some("2019-12-30T09:30:00Z"));
        assert_eq!(over_at(&ended), t("2019-12-30T09:30:00Z"));
    }
}
