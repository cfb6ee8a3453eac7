//! What the simulator keeps: events (singles, series masters, exceptions, attendees' copies),
//! occurrences as Graph shows them (ids of their own, the master's content), a series'
//! `patternedRecurrence` both ways, and the window times of a calendar view (the event times,
//! in their zones, are in `zones`).

use crate::sim::ews::{SimRange, SimRecurrence};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use time::OffsetDateTime;

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
    /// The zones the times were given in (`originalStartTimeZone`, `originalEndTimeZone`); the
    /// times themselves are kept as instants.
    pub start_zone: String,
    pub end_zone: String,
    /// The marker extended property (named string in PS_PUBLIC_STRINGS) by name → value.
    pub properties: HashMap<String, String>,
    /// PATCH calls that changed it.
    pub updates: u64,
    /// `singleInstance`, `seriesMaster`, `occurrence` or `exception` (the event's `type`).
    pub kind: &'static str,
    /// A master's recurrence; its `start`/`end` are its first occurrence's, as in Graph.
    pub recurrence: Option<SimRecurrence>,
    /// An occurrence's or exception's `seriesMasterId`, and which instance (1 = the first) it is.
    pub master: Option<(String, u32)>,
    /// `iCalUId`: shared by the organiser's event and the attendees' copies.
    pub uid: String,
    pub(super) version: u64,
    /// The change sequence number (for delta).
    pub(super) seq: u64,
}

/// An occurrence's id: opaque to clients, but naming its master and instance.
pub(super) fn occurrence_id(master: &str, index: u32) -> String {
    format!("AAMkAGOcc{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{master}|{index}")))
}

fn parse_occurrence_id(id: &str) -> Option<(String, u32)> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(id.strip_prefix("AAMkAGOcc")?).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (master, index) = raw.rsplit_once('|')?;
    Some((master.to_string(), index.parse().ok()?))
}

/// The event `id` names in `mailbox`: a stored one, or an occurrence of a stored master as
/// Graph shows it (its own id, times and etag; the master's content).
pub(super) fn lookup(events: &[GraphEvent], id: &str, mailbox: &str) -> Option<GraphEvent> {
    if let Some(e) = events.iter().find(|e| e.id == id && e.mailbox == mailbox) {
        return Some(e.clone());
    }
    let (master_id, index) = parse_occurrence_id(id)?;
    let m = events.iter().find(|e| e.id == master_id && e.mailbox == mailbox)?;
    let (_, start, end) = m.recurrence.as_ref()?.expand(m.start, m.end, None, index as usize).into_iter().find(|o| o.0 == index)?;
    Some(GraphEvent {
        id: id.to_string(),
        start,
        end,
        kind: "occurrence",
        recurrence: None,
        master: Some((master_id, index)),
        properties: HashMap::new(),
        updates: 0,
        ..m.clone()
    })
}

/// Graph's `patternedRecurrence` for a series starting at `start`.
pub(super) fn recurrence_json(r: &SimRecurrence, start: OffsetDateTime) -> Value {
    let days: Vec<String> = r.days.iter().map(|d| d.to_string().to_ascii_lowercase()).collect();
    let (kind, end, count) = match r.range {
        SimRange::EndDate(d) => ("endDate", d.to_string(), 0),
        SimRange::Numbered(n) => ("numbered", "0001-01-01".to_string(), n),
        SimRange::NoEnd => ("noEnd", "0001-01-01".to_string(), 0),
    };
    json!({
        "pattern": {
            "type": if r.days.is_empty() { "daily" } else { "weekly" },
            "interval": r.interval, "month": 0, "dayOfMonth": 0, "daysOfWeek": days, "firstDayOfWeek": "sunday", "index": "first",
        },
        "range": {
            "type": kind, "startDate": start.date().to_string(), "endDate": end,
            "recurrenceTimeZone": "UTC", "numberOfOccurrences": count,
        },
    })
}

/// A `patternedRecurrence` from a POST (daily and weekly patterns).
pub(super) fn recurrence_of(v: &Value) -> Option<SimRecurrence> {
    let p = v.get("pattern")?;
    let days: Vec<time::Weekday> = p
        .get("daysOfWeek")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str())
        .filter_map(|d| {
            use time::Weekday::*;
            [Monday, Tuesday, Wednesday, Thursday, Friday, Saturday, Sunday].into_iter().find(|w| w.to_string().eq_ignore_ascii_case(d))
        })
        .collect();
    let weekly = match p.get("type").and_then(|t| t.as_str()) {
        Some("daily") => false,
        Some("weekly") => true,
        _ => return None,
    };
    let r = v.get("range")?;
    let range = match r.get("type").and_then(|t| t.as_str())? {
        "endDate" => SimRange::EndDate(
            time::Date::parse(r.get("endDate")?.as_str()?, time::macros::format_description!("[year]-[month]-[day]")).ok()?,
        ),
        "numbered" => SimRange::Numbered(r.get("numberOfOccurrences")?.as_u64()? as u32),
        _ => SimRange::NoEnd,
    };
    Some(SimRecurrence {
        interval: p.get("interval").and_then(|i| i.as_u64()).unwrap_or(1).max(1) as u32,
        days: if weekly { days } else { vec![] },
        range,
    })
}

impl GraphEvent {
    pub(super) fn etag(&self) -> String {
        format!("W/\"{}\"", base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.id, self.version)))
    }
}

pub(super) fn parse_time(v: &str) -> Option<OffsetDateTime> {
    let v = v.trim();
    OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339)
        .ok()
        .or_else(|| OffsetDateTime::parse(&format!("{}Z", v.trim_end_matches('Z')), &time::format_description::well_known::Rfc3339).ok())
}

pub(super) fn t3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

/// A change-notification subscription as the simulator keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSubscription {
    pub id: String,
    pub mailbox: String,
    pub change_types: Vec<String>,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: OffsetDateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_times_with_or_without_an_offset_are_read_as_instants() {
        let t = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
        assert_eq!(parse_time(&t3339(t)), Some(t));
        assert_eq!(parse_time("2026-11-18T11:06:40"), Some(t));
    }
}
