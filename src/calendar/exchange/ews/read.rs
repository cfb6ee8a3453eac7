//! EWS's answers read with quick-xml (../shared/reference/exchange.md §2): each response
//! message's outcome (and what it means as a [`ProviderError`]), a GetItem's calendar item as a
//! [`Meeting`], a SyncFolderItems page, a Subscribe's id, an UpdateItem's new ChangeKey.

use super::soap::MARKER_PROPERTY;
use super::xml::{attr, last, under, walk, Ev};
use crate::calendar::model::{parse_date, parse_rfc3339, Body, BodyKind, ChangeMarker, Meeting, MeetingKind, ProviderError, SeriesRange};
use std::time::Duration;

/// The outcome of one response message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `Success`, `Warning` or `Error`.
    pub class: String,
    pub code: String,
    pub message: String,
    /// `ErrorServerBusy`: how long Exchange asks us to wait.
    pub back_off_ms: Option<u64>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.code == "NoError" || (self.class == "Success" && self.code.is_empty())
    }

    /// `ErrorServerBusy`'s wait (a second when it gives none).
    pub fn back_off(&self) -> Duration {
        Duration::from_millis(self.back_off_ms.unwrap_or(1000))
    }

    /// What a refusal means, for a request acting as `mailbox`.
    pub fn error(&self, mailbox: &str) -> ProviderError {
        let (code, message) = (self.code.clone(), self.message.clone());
        match self.code.as_str() {
            "ErrorServerBusy" => ProviderError::throttled(self.back_off()),
            "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorNonExistentMailbox" => {
                ProviderError::NoAccess(mailbox.to_string())
            }
            "ErrorIrresolvableConflict" | "ErrorChangeKeyRequiredForWriteOperations" => ProviderError::Conflict,
            "ErrorSubscriptionNotFound" | "ErrorInvalidSubscription" => ProviderError::SubscriptionGone,
            "ErrorInvalidSyncStateData" => ProviderError::SyncStateLost { code, message },
            "ErrorItemNotFound" => ProviderError::NotFound { code, message },
            _ => ProviderError::Refused { code, message },
        }
    }
}

/// One change a SyncFolderItems page lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemChange {
    /// Created or updated.
    Changed(String),
    Removed(String),
}

/// What SyncFolderItems answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPage {
    pub sync_state: String,
    pub includes_last: bool,
    pub changes: Vec<ItemChange>,
}

/// The first response message's outcome (or a SOAP fault's).
pub fn outcome(xml: &str) -> Result<Outcome, String> {
    let mut o = Outcome::default();
    let mut value_name = String::new();
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if n.ends_with("ResponseMessage") && o.class.is_empty() {
                o.class = attr(e, b"ResponseClass").unwrap_or_default();
            }
            if n == "Value" {
                value_name = attr(e, b"Name").unwrap_or_default();
            }
        }
        Ev::Text(path, text) => match last(path) {
            "ResponseCode" if o.code.is_empty() => o.code = text.trim().to_string(),
            "MessageText" if o.message.is_empty() => o.message = text.trim().to_string(),
            "faultstring" if o.message.is_empty() => o.message = text.trim().to_string(),
            "Value" if value_name == "BackOffMilliseconds" => o.back_off_ms = text.trim().parse().ok(),
            _ => {}
        },
    })?;
    if o.class.is_empty() && !o.code.is_empty() {
        o.class = "Error".into();
    }
    Ok(o)
}

pub fn subscription_id(xml: &str) -> Result<Option<String>, String> {
    let mut id = None;
    walk(xml, |ev| {
        if let Ev::Text(path, t) = ev {
            if last(path) == "SubscriptionId" && id.is_none() {
                id = Some(t.trim().to_string());
            }
        }
    })?;
    Ok(id)
}

pub fn sync_page(xml: &str) -> Result<SyncPage, String> {
    let mut p = SyncPage::default();
    let mut change = String::new();
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if matches!(n, "Create" | "Update" | "Delete") && under(path, "Changes") {
                change = n.to_string();
            }
            if n == "ItemId" && !change.is_empty() {
                if let Some(id) = attr(e, b"Id") {
                    p.changes.push(if change == "Delete" { ItemChange::Removed(id) } else { ItemChange::Changed(id) });
                }
            }
        }
        Ev::Text(path, t) => match last(path) {
            "SyncState" => p.sync_state = t.trim().to_string(),
            "IncludesLastItemInRange" => p.includes_last = t.trim().eq_ignore_ascii_case("true"),
            _ => {}
        },
    })?;
    Ok(p)
}

fn kind_of(item_type: &str) -> MeetingKind {
    match item_type {
        "RecurringMaster" => MeetingKind::Series,
        "Occurrence" => MeetingKind::Occurrence,
        "Exception" => MeetingKind::Exception,
        _ => MeetingKind::Single,
    }
}

/// The calendar item of a GetItem answer, if there is one.
pub fn meeting(xml: &str) -> Result<Option<Meeting>, String> {
    let mut m = Meeting::default();
    let mut found = false;
    let mut in_marker = false;
    let mut range_end = None;
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => match last(path) {
            "ItemId" if !found => {
                found = true;
                m.id = attr(e, b"Id").unwrap_or_default();
                m.change_marker = ChangeMarker(attr(e, b"ChangeKey").unwrap_or_default());
            }
            "Body" => {
                let html = attr(e, b"BodyType").is_none_or(|t| t.eq_ignore_ascii_case("HTML"));
                m.body.kind = if html { BodyKind::Html } else { BodyKind::Text };
            }
            "ExtendedFieldURI" => in_marker = attr(e, b"PropertyName").as_deref() == Some(MARKER_PROPERTY),
            "EndDateRecurrence" if under(path, "Recurrence") => m.series.range = SeriesRange::EndDate(None),
            "NumberedRecurrence" if under(path, "Recurrence") => m.series.range = SeriesRange::Numbered,
            "NoEndRecurrence" if under(path, "Recurrence") => m.series.range = SeriesRange::NoEnd,
            _ => {}
        },
        Ev::Text(path, t) => {
            let in_org = under(path, "Organizer");
            // FirstOccurrence, LastOccurrence and the modified/deleted occurrences carry a
            // Start and End of their own: only the item's are its Start and End.
            let in_occurrence = path.iter().any(|p| p.ends_with("Occurrence") || p.ends_with("Occurrences"));
            match last(path) {
                "Subject" => m.subject = t.to_string(),
                "Location" => m.location = t.to_string(),
                "Body" => m.body = Body { kind: m.body.kind, content: t.to_string() },
                "Name" if in_org => m.organizer.name = t.trim().to_string(),
                "EmailAddress" if in_org => m.organizer.mailbox = t.trim().to_ascii_lowercase(),
                "End" if under(path, "LastOccurrence") => m.series.last_occurrence_end = parse_rfc3339(t),
                "EndDate" if under(path, "EndDateRecurrence") => range_end = parse_date(t),
                "Start" if !in_occurrence => m.start = parse_rfc3339(t),
                "End" if !in_occurrence => m.end = parse_rfc3339(t),
                "CalendarItemType" => m.kind = kind_of(t.trim()),
                "IsOrganizer" => m.is_organizer = Some(t.trim().eq_ignore_ascii_case("true")),
                "Value" if in_marker => m.marker = Some(t.to_string()),
                _ => {}
            }
        }
    })?;
    if let SeriesRange::EndDate(d) = &mut m.series.range {
        *d = range_end;
    }
    Ok(found.then_some(m))
}

/// The new ChangeKey from an UpdateItem answer.
pub fn updated_change_key(xml: &str) -> Result<Option<String>, String> {
    let mut ck = None;
    walk(xml, |ev| {
        if let Ev::Start(path, e) = ev {
            if last(path) == "ItemId" && ck.is_none() {
                ck = attr(e, b"ChangeKey");
            }
        }
    })?;
    Ok(ck)
}

#[cfg(test)]
mod tests {
    use super::super::soap::{NS_M, NS_SOAP, NS_T};
    use super::*;

    #[test]
    fn server_busy_carries_its_back_off_and_items_parse_with_the_marker() {
        let busy = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">2500</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;
        let o = outcome(busy).unwrap();
        assert_eq!((o.code.as_str(), o.back_off_ms, o.ok()), ("ErrorServerBusy", Some(2500), false));
        assert_eq!(o.error("ann@example.com"), ProviderError::Throttled { retry_after: Duration::from_millis(2500) });
        let item_xml = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:GetItemResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="I1" ChangeKey="C1"/><t:Subject>Plan</t:Subject><t:Body BodyType="Text">Hi &amp; bye</t:Body><t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="{MARKER_PROPERTY}" PropertyType="String"/><t:Value>h=abc</t:Value></t:ExtendedProperty><t:Start>2026-11-25T10:00:00Z</t:Start><t:End>2026-11-25T11:00:00Z</t:End><t:Location>Room @cms</t:Location><t:Organizer><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>Ann@Example.com</t:EmailAddress></t:Mailbox></t:Organizer><t:CalendarItemType>Single</t:CalendarItemType></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#
        );
        assert!(outcome(&item_xml).unwrap().ok());
        let it = meeting(&item_xml).unwrap().unwrap();
        assert_eq!(
            (it.id.as_str(), it.change_marker.as_str(), it.location.as_str(), it.organizer.mailbox.as_str(), it.organizer.name.as_str()),
            ("I1", "C1", "Room @cms", "ann@example.com", "Ann")
        );
        assert_eq!(
            (it.body.content.as_str(), it.body.kind, it.marker.as_deref(), it.kind),
            ("Hi & bye", BodyKind::Text, Some("h=abc"), MeetingKind::Single)
        );
        assert_eq!((it.start, it.end), (parse_rfc3339("2026-11-25T10:00:00Z"), parse_rfc3339("2026-11-25T11:00:00Z")));
    }

    #[test]
    fn a_recurring_master_keeps_its_first_occurrence_times_and_reads_its_range_and_last_occurrence() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:GetItemResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="M1" ChangeKey="C1"/><t:Subject>Weekly</t:Subject><t:Start>2026-01-05T09:00:00Z</t:Start><t:End>2026-01-05T09:30:00Z</t:End><t:Location>@cms</t:Location><t:CalendarItemType>RecurringMaster</t:CalendarItemType><t:Organizer><t:Mailbox><t:EmailAddress>ann@example.com</t:EmailAddress></t:Mailbox></t:Organizer><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>2026-01-05Z</t:StartDate><t:EndDate>2027-06-28Z</t:EndDate></t:EndDateRecurrence></t:Recurrence><t:FirstOccurrence><t:ItemId Id="O1" ChangeKey="C2"/><t:Start>2026-01-05T09:00:00Z</t:Start><t:End>2026-01-05T09:30:00Z</t:End><t:OriginalStart>2026-01-05T09:00:00Z</t:OriginalStart></t:FirstOccurrence><t:LastOccurrence><t:ItemId Id="O9" ChangeKey="C3"/><t:Start>2027-06-28T09:00:00Z</t:Start><t:End>2027-06-28T09:30:00Z</t:End><t:OriginalStart>2027-06-28T09:00:00Z</t:OriginalStart></t:LastOccurrence></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#
        );
        let it = meeting(&xml).unwrap().unwrap();
        assert_eq!((it.id.as_str(), it.kind), ("M1", MeetingKind::Series));
        assert_eq!(
            (it.start, it.end),
            (parse_rfc3339("2026-01-05T09:00:00Z"), parse_rfc3339("2026-01-05T09:30:00Z")),
            "not the occurrences' times"
        );
        assert_eq!(
            (it.series.range, it.series.last_occurrence_end),
            (SeriesRange::EndDate(parse_date("2027-06-28Z")), parse_rfc3339("2027-06-28T09:30:00Z"))
        );
    }
}
