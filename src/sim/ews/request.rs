//! What a request says, read by local names: the operation and its attributes, impersonation,
//! item ids and ChangeKeys, body, marker, views, folders, attendees and a series' recurrence.

use super::recurrence::{SimRange, SimRecurrence};
use super::xml::{attr, last, walk, Ev, MARKER_PROPERTY};

/// What a request says, read by local names.
#[derive(Debug, Default)]
pub(super) struct Req {
    pub(super) op: String,
    pub(super) impersonate: Option<String>,
    pub(super) sub_ids: Vec<String>,
    /// Subscribe: the `t:EventType`s asked for.
    pub(super) event_types: Vec<String>,
    pub(super) timeout_minutes: u64,
    pub(super) sync_state: Option<String>,
    pub(super) items: Vec<(String, Option<String>)>,
    pub(super) body: Option<(String, bool)>,
    pub(super) marker: Option<String>,
    pub(super) conflict: String,
    pub(super) send: String,
    pub(super) subject: String,
    pub(super) location: String,
    pub(super) start: Option<String>,
    pub(super) end: Option<String>,
    pub(super) view: Option<View>,
    /// `<t:DistinguishedFolderId Id>` values.
    pub(super) folders: Vec<String>,
    /// The folder's `<t:Mailbox><t:EmailAddress>` (delegate access, no impersonation).
    pub(super) folder_mailbox: Option<String>,
    /// CreateItem/UpdateItem: `t:RequiredAttendees` and `t:OptionalAttendees`, and a series'
    /// `t:Recurrence`.
    pub(super) attendees: Vec<String>,
    pub(super) optional: Vec<String>,
    pub(super) recurrence: Option<SimRecurrence>,
    /// GetItem/FindItem: the `m:ItemShape` asked for.
    pub(super) shape: Shape,
    /// UpdateItem: the fields a `t:SetItemField` writes and a `t:DeleteItemField` clears.
    pub(super) set_fields: Vec<String>,
    pub(super) deleted_fields: Vec<String>,
    /// ConvertId: `DestinationFormat` and each `t:AlternateId` (Format, Id, Mailbox).
    pub(super) destination_format: String,
    pub(super) alternate_ids: Vec<(String, String, String)>,
    /// DeleteItem: `DeleteType` and `SendMeetingCancellations`.
    pub(super) delete_type: String,
    pub(super) cancellations: String,
}

/// An `m:ItemShape`: `IdOnly`, `Default` or `AllProperties`, the `t:FieldURI`s added, and
/// whether the marker's `t:ExtendedFieldURI` is asked for.
#[derive(Debug, Default, Clone)]
pub(super) struct Shape {
    pub(super) base: String,
    pub(super) fields: Vec<String>,
    pub(super) marker: bool,
}

impl Shape {
    /// Whether `field` (`item:Subject`, `calendar:Start`, …) is in the answer: in the base
    /// shape's set (`default` and `all` say which fields those hold), or asked for.
    pub(super) fn has(&self, field: &str, default: bool, all: bool) -> bool {
        let by_base = match self.base.as_str() {
            "IdOnly" => false,
            "AllProperties" => all,
            _ => default,
        };
        by_base || self.fields.iter().any(|f| f.eq_ignore_ascii_case(field))
    }
}

/// FindItem's view.
#[derive(Debug, Clone)]
pub(super) enum View {
    Calendar { start: Option<String>, end: Option<String>, max: Option<usize> },
    Indexed { offset: usize, max: Option<usize> },
}

pub(super) fn read(xml: &str) -> Result<Req, String> {
    let mut reading = Reading { r: Req { timeout_minutes: 30, ..Default::default() }, in_marker_prop: false, body_html: true };
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => reading.start(path, e),
        Ev::Text(path, t) if path.iter().any(|p| p == "Recurrence") => reading.recurrence_text(path, t),
        Ev::Text(path, t) => reading.text(path, t),
    })?;
    Ok(reading.r)
}

/// A request being read: what it says so far, and where in it the reader stands.
struct Reading {
    r: Req,
    in_marker_prop: bool,
    body_html: bool,
}

impl Reading {
    fn start(&mut self, path: &[String], e: &quick_xml::events::BytesStart) {
        let n = last(path);
        if path.len() == 3 && path[1] == "Body" && self.r.op.is_empty() {
            self.r.op = n.to_string();
            self.r.destination_format = attr(e, b"DestinationFormat").unwrap_or_default();
            self.r.delete_type = attr(e, b"DeleteType").unwrap_or_default();
            self.r.cancellations = attr(e, b"SendMeetingCancellations").unwrap_or_default();
            self.r.conflict = attr(e, b"ConflictResolution").unwrap_or_else(|| "AutoResolve".into());
            self.r.send =
                attr(e, b"SendMeetingInvitationsOrCancellations").or_else(|| attr(e, b"SendMeetingInvitations")).unwrap_or_default();
        }
        match n {
            "ItemId" => self.r.items.push((attr(e, b"Id").unwrap_or_default(), attr(e, b"ChangeKey"))),
            "Body" if path.len() > 3 => self.body_html = attr(e, b"BodyType").is_none_or(|t| t.eq_ignore_ascii_case("HTML")),
            "ExtendedFieldURI" => {
                self.in_marker_prop = attr(e, b"PropertyName").as_deref() == Some(MARKER_PROPERTY);
                self.r.shape.marker |= self.in_marker_prop && path.iter().any(|p| p == "AdditionalProperties");
            }
            "FieldURI" => {
                let field = attr(e, b"FieldURI").unwrap_or_default();
                match path.get(path.len().wrapping_sub(2)).map(String::as_str) {
                    Some("AdditionalProperties") => self.r.shape.fields.push(field),
                    Some("SetItemField") => self.r.set_fields.push(field),
                    Some("DeleteItemField") => self.r.deleted_fields.push(field),
                    _ => {}
                }
            }
            "AlternateId" => self.r.alternate_ids.push((
                attr(e, b"Format").unwrap_or_default(),
                attr(e, b"Id").unwrap_or_default(),
                attr(e, b"Mailbox").unwrap_or_default(),
            )),
            "CalendarView" => {
                self.r.view = Some(View::Calendar {
                    start: attr(e, b"StartDate"),
                    end: attr(e, b"EndDate"),
                    max: attr(e, b"MaxEntriesReturned").and_then(|m| m.parse().ok()),
                })
            }
            "IndexedPageItemView" => {
                self.r.view = Some(View::Indexed {
                    offset: attr(e, b"Offset").and_then(|m| m.parse().ok()).unwrap_or(0),
                    max: attr(e, b"MaxEntriesReturned").and_then(|m| m.parse().ok()),
                })
            }
            "DistinguishedFolderId" => self.r.folders.push(attr(e, b"Id").unwrap_or_default().to_ascii_lowercase()),
            "DailyRecurrence" | "WeeklyRecurrence" if path.iter().any(|p| p == "Recurrence") => {
                self.r.recurrence = Some(SimRecurrence { interval: 1, days: vec![], range: SimRange::NoEnd })
            }
            _ => {}
        }
    }

    fn recurrence_text(&mut self, path: &[String], t: &str) {
        let Some(rec) = self.r.recurrence.as_mut() else { return };
        match last(path) {
            "Interval" => rec.interval = t.trim().parse().unwrap_or(1),
            "DaysOfWeek" => rec.days = t.split_whitespace().filter_map(weekday).collect(),
            "EndDate" => {
                let d =
                    t.trim().get(..10).and_then(|d| time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")).ok());
                if let Some(d) = d {
                    rec.range = SimRange::EndDate(d);
                }
            }
            "NumberOfOccurrences" => rec.range = SimRange::Numbered(t.trim().parse().unwrap_or(1)),
            _ => {}
        }
    }

    fn text(&mut self, path: &[String], t: &str) {
        match last(path) {
            "PrimarySmtpAddress" | "SmtpAddress" if path.iter().any(|p| p == "ExchangeImpersonation") => {
                self.r.impersonate = Some(t.trim().to_ascii_lowercase())
            }
            "EmailAddress" if path.iter().any(|p| p == "DistinguishedFolderId") => {
                self.r.folder_mailbox = Some(t.trim().to_ascii_lowercase())
            }
            "EmailAddress" if path.iter().any(|p| p == "RequiredAttendees") => self.r.attendees.push(t.trim().to_ascii_lowercase()),
            "EmailAddress" if path.iter().any(|p| p == "OptionalAttendees") => self.r.optional.push(t.trim().to_ascii_lowercase()),
            "BaseShape" => self.r.shape.base = t.trim().to_string(),
            "SubscriptionId" => self.r.sub_ids.push(t.trim().to_string()),
            "EventType" => self.r.event_types.push(t.trim().to_string()),
            "ConnectionTimeout" => self.r.timeout_minutes = t.trim().parse().unwrap_or(30),
            "SyncState" => self.r.sync_state = Some(t.trim().to_string()),
            "Body" if path.len() > 3 => self.r.body = Some((t.to_string(), self.body_html)),
            "Value" if self.in_marker_prop => self.r.marker = Some(t.to_string()),
            "Subject" => self.r.subject = t.to_string(),
            "Location" => self.r.location = t.to_string(),
            "Start" => self.r.start = Some(t.trim().to_string()),
            "End" => self.r.end = Some(t.trim().to_string()),
            _ => {}
        }
    }
}

fn weekday(name: &str) -> Option<time::Weekday> {
    use time::Weekday::*;
    [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().find(|d| d.to_string().eq_ignore_ascii_case(name))
}
