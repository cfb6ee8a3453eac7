//! One Graph event read into a [`Meeting`] (its marker property expanded, its times asked for
//! in UTC but read in whatever zone they come in) and its body written back with `If-Match` its
//! etag (412 = changed meanwhile).

use super::client::{segment, GraphClient};
use super::zones;
use crate::calendar::model::{
    parse_date, Body, BodyKind, ChangeMarker, Meeting, MeetingKind, Organizer, ProviderError, Series, SeriesRange, MARKER_PROPERTY,
};
use reqwest::header::IF_MATCH;

/// The extended property id Graph uses for the marker (a named string property).
pub fn marker_property_id() -> String {
    format!("String {{00020329-0000-0000-C000-000000000046}} Name {MARKER_PROPERTY}")
}

/// An event's JSON in the calendar's model; a time in a zone not known here is a protocol
/// error for this event (the meeting's hours cannot be told).
pub fn meeting_of(v: &serde_json::Value) -> Result<Meeting, ProviderError> {
    let s = |p: &str| v.pointer(p).and_then(|x| x.as_str()).unwrap_or_default().to_string();
    let marker = v
        .get("singleValueExtendedProperties")
        .and_then(|a| a.as_array())
        .and_then(|a| {
            a.iter().find(|p| p.get("id").and_then(|i| i.as_str()).is_some_and(|i| i.eq_ignore_ascii_case(&marker_property_id())))
        })
        .and_then(|p| p.get("value").and_then(|x| x.as_str()))
        .map(String::from);
    let (start, end) = (zones::instant(v.get("start"))?, zones::instant(v.get("end"))?);
    Ok(Meeting {
        id: s("/id"),
        change_marker: ChangeMarker(s("/@odata.etag")),
        subject: s("/subject"),
        organizer: Organizer {
            name: s("/organizer/emailAddress/name"),
            mailbox: s("/organizer/emailAddress/address").to_ascii_lowercase(),
        },
        is_organizer: v.get("isOrganizer").and_then(|b| b.as_bool()),
        location: s("/location/displayName"),
        body: Body {
            kind: if s("/body/contentType").eq_ignore_ascii_case("html") { BodyKind::Html } else { BodyKind::Text },
            content: s("/body/content"),
        },
        start,
        end,
        kind: match s("/type").as_str() {
            "occurrence" => MeetingKind::Occurrence,
            "exception" => MeetingKind::Exception,
            "seriesMaster" => MeetingKind::Series,
            _ => MeetingKind::Single,
        },
        // A seriesMaster's start/end are its first occurrence's; its range says how long it runs.
        series: Series {
            range: match v.pointer("/recurrence/range/type").and_then(|t| t.as_str()) {
                Some("endDate") => SeriesRange::EndDate(parse_date(&s("/recurrence/range/endDate"))),
                Some("numbered") => SeriesRange::Numbered,
                Some("noEnd") => SeriesRange::NoEnd,
                _ => SeriesRange::Unknown,
            },
            last_occurrence_end: None,
        },
        marker,
    })
}

impl GraphClient {
    fn event_url(&self, mailbox: &str, id: &str) -> String {
        format!("{}/users/{}/events/{}", self.api, segment(mailbox), segment(id))
    }

    /// One event, as the rules need it (the marker property expanded).
    pub async fn meeting(&self, mailbox: &str, id: &str) -> Result<Meeting, ProviderError> {
        let url =
            format!("{}?$expand=singleValueExtendedProperties($filter=id eq '{}')", self.event_url(mailbox, id), marker_property_id());
        let res = self.send(self.http.get(url)).await?;
        let v: serde_json::Value = self.json(res).await?;
        meeting_of(&v)
    }

    /// Writes the body and marker if the event is still as read (`If-Match` its etag).
    pub async fn update_body(
        &self,
        mailbox: &str,
        id: &str,
        etag: &ChangeMarker,
        html: &str,
        marker: &str,
    ) -> Result<ChangeMarker, ProviderError> {
        let body = serde_json::json!({
            "body": {"contentType": "HTML", "content": html},
            "singleValueExtendedProperties": [{"id": marker_property_id(), "value": marker}],
        });
        let mut req = self.http.patch(self.event_url(mailbox, id)).json(&body);
        if !etag.as_str().is_empty() {
            req = req.header(IF_MATCH, etag.as_str());
        }
        let res = self.send(req).await?;
        // Written: an answer we cannot read still leaves the write done (the etag is then unknown).
        let v: serde_json::Value = self.json(res).await.unwrap_or_default();
        Ok(ChangeMarker(v.get("@odata.etag").and_then(|e| e.as_str()).unwrap_or_default().to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::model::parse_rfc3339;

    #[test]
    fn graph_times_without_an_offset_are_read_in_their_zone_and_a_series_range_as_a_date() {
        let v = serde_json::json!({
            "id": "E1", "@odata.etag": "W/\"1\"", "type": "seriesMaster", "subject": "Weekly",
            "start": {"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-01-05T09:30:00", "timeZone": "UTC"},
            "organizer": {"emailAddress": {"name": "Ann", "address": "Ann@Example.com"}},
            "body": {"contentType": "text", "content": "hi"},
            "recurrence": {"range": {"type": "endDate", "endDate": "2027-06-28"}},
        });
        let m = meeting_of(&v).unwrap();
        assert_eq!(
            (m.kind, m.body.kind, m.organizer.mailbox.as_str(), m.change_marker.as_str()),
            (MeetingKind::Series, BodyKind::Text, "ann@example.com", "W/\"1\"")
        );
        assert_eq!((m.start, m.end), (parse_rfc3339("2026-01-05T09:00:00Z"), parse_rfc3339("2026-01-05T09:30:00Z")));
        assert_eq!(m.series.range, SeriesRange::EndDate(parse_date("2027-06-28")));
    }

    #[test]
    fn an_event_whose_times_arrive_in_pacific_standard_time_is_read_at_the_right_instant() {
        let v = serde_json::json!({
            "id": "E2", "type": "singleInstance",
            "start": {"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2026-01-05T09:30:00.0000000", "timeZone": "Pacific Standard Time"},
        });
        let m = meeting_of(&v).unwrap();
        assert_eq!((m.start, m.end), (parse_rfc3339("2026-01-05T17:00:00Z"), parse_rfc3339("2026-01-05T17:30:00Z")));
    }

    #[test]
    fn an_event_whose_time_zone_is_unknown_is_refused_as_a_protocol_error() {
        let v = serde_json::json!({
            "id": "E3", "start": {"dateTime": "2026-01-05T09:00:00.0000000", "timeZone": "Customized Time Zone"},
        });
        assert!(matches!(meeting_of(&v), Err(ProviderError::Protocol(_))));
    }
}
