//! What the simulator keeps: calendar items (singles, series masters, exceptions, attendees'
//! copies), the meetings tests create, and occurrences as Exchange shows them (ids of their own,
//! the master's content).

use super::recurrence::SimRecurrence;
use super::{new_id, Shared};
use base64::Engine;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

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
    /// `t:RequiredAttendees` and `t:OptionalAttendees` (addresses, lower case).
    pub required_attendees: Vec<String>,
    pub optional_attendees: Vec<String>,
    /// `t:DateTimeCreated`.
    pub created: OffsetDateTime,
    /// The distinguished folder it is in: `calendar`, or `deleteditems` once deleted in Outlook.
    pub folder: &'static str,
    /// Its id in the calendar before it was moved out.
    pub moved_from: Option<String>,
    /// The change sequence number (for SyncFolderItems).
    pub(super) seq: u64,
}

impl SimItem {
    pub(super) fn new(s: &Shared, mailbox: &str, organizer: &str, m: &SimMeeting, uid: &str) -> Self {
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
            required_attendees: m.attendees.iter().map(|a| a.to_ascii_lowercase()).collect(),
            optional_attendees: vec![],
            created: OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc()),
            folder: "calendar",
            moved_from: None,
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

impl SimMeeting {
    /// One meeting, no attendees here, no recurrence: what most tests and the demo create.
    pub fn single(organizer: &str, subject: &str, location: &str, body_html: &str, start: OffsetDateTime, end: OffsetDateTime) -> Self {
        SimMeeting {
            organizer: organizer.into(),
            attendees: vec![],
            subject: subject.into(),
            location: location.into(),
            body_html: body_html.into(),
            start,
            end,
            recurrence: None,
        }
    }
}

/// A distinguished folder's id in a mailbox, as GetFolder and notifications name it.
pub(super) fn folder_id(mailbox: &str, folder: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{}/{folder}", mailbox.to_ascii_lowercase()))
}

/// An occurrence's id: opaque to clients, as Exchange's, but naming its master and instance.
pub(super) fn occurrence_id(master: &str, index: u32) -> String {
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
pub(super) fn lookup(items: &[SimItem], id: &str, mailbox: &str) -> Option<SimItem> {
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
