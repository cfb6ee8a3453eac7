//! EWS's answers read with quick-xml (../shared/reference/exchange.md §2): each response
//! message's outcome (and what it means as a [`ProviderError`]), a GetItem's calendar item as a
//! [`Meeting`], a SyncFolderItems page, a Subscribe's id, an UpdateItem's new ChangeKey.

use super::soap::MARKER_PROPERTY;
use super::xml::{at, attr, in_soap_body, last, under, walk, Ev, Ns};
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

    /// `ErrorServerBusy`: the wait it asks for, or [`ProviderError::Busy`] when it names none.
    pub fn busy(&self) -> ProviderError {
        match self.back_off_ms {
            Some(ms) => ProviderError::throttled(Duration::from_millis(ms)),
            None => ProviderError::Busy,
        }
    }

    /// What a refusal means, for a request acting as `mailbox`.
    pub fn error(&self, mailbox: &str) -> ProviderError {
        let (code, message) = (self.code.clone(), self.message.clone());
        match self.code.as_str() {
            "ErrorServerBusy" => self.busy(),
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
            if n.ends_with("ResponseMessage") && path.last().is_some_and(|e| e.ns == Ns::M) && o.class.is_empty() {
                o.class = attr(e, b"ResponseClass").unwrap_or_default();
            }
            if n == "Value" {
                value_name = attr(e, b"Name").unwrap_or_default();
            }
        }
        Ev::Text(path, text) => match last(path) {
            "ResponseCode" if o.code.is_empty() => o.code = text.trim().to_string(),
            "MessageText" if o.message.is_empty() => o.message = text.trim().to_string(),
            "Value" if value_name == "BackOffMilliseconds" => o.back_off_ms = text.trim().parse().ok(),
            _ if o.message.is_empty() && at(path, Ns::None, "faultstring") && in_soap_body(path) => o.message = text.trim().to_string(),
            _ => {}
        },
    })?;
    if o.class.is_empty() && !o.code.is_empty() {
        o.class = "Error".into();
    }
    Ok(o)
}

/// What a front end's refusal means when its answer is no EWS message (a load balancer's or
/// IIS's HTML page): a 503 is Exchange busy (for the `Retry-After` it names, if any), a 502 or
/// 504 is Exchange out of reach. `None`: read the answer as EWS.
pub fn http_refusal(status: u16, retry_after: Option<Duration>, body: &str) -> Option<ProviderError> {
    if !matches!(status, 502..=504) || outcome(body).is_ok_and(|o| !o.code.is_empty()) {
        return None;
    }
    Some(match (status, retry_after) {
        (503, Some(d)) => ProviderError::throttled(d),
        (503, None) => ProviderError::Busy,
        _ => ProviderError::Unavailable(format!("the front end answered HTTP {status}")),
    })
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
            if matches!(n, "Create" | "Update" | "Delete") && under(path, Ns::M, "Changes") {
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

/// The calendar item of a GetItem answer, if there is one: only the first `t:CalendarItem`'s
/// own EWS elements are read (an element of another namespace inside it is nobody's field).
pub fn meeting(xml: &str) -> Result<Option<Meeting>, String> {
    let mut m = Meeting::default();
    let mut items = 0;
    let mut in_marker = false;
    let mut range_end = None;
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            if at(path, Ns::T, "CalendarItem") && in_soap_body(path) {
                items += 1;
            }
            if items != 1 || !under(path, Ns::T, "CalendarItem") {
                return;
            }
            match last(path) {
                "ItemId" if at_item_level(path) => {
                    m.id = attr(e, b"Id").unwrap_or_default();
                    m.change_marker = ChangeMarker(attr(e, b"ChangeKey").unwrap_or_default());
                }
                "Body" if at_item_level(path) => {
                    let html = attr(e, b"BodyType").is_none_or(|t| t.eq_ignore_ascii_case("HTML"));
                    m.body.kind = if html { BodyKind::Html } else { BodyKind::Text };
                }
                "ExtendedFieldURI" => in_marker = attr(e, b"PropertyName").as_deref() == Some(MARKER_PROPERTY),
                "EndDateRecurrence" if under(path, Ns::T, "Recurrence") => m.series.range = SeriesRange::EndDate(None),
                "NumberedRecurrence" if under(path, Ns::T, "Recurrence") => m.series.range = SeriesRange::Numbered,
                "NoEndRecurrence" if under(path, Ns::T, "Recurrence") => m.series.range = SeriesRange::NoEnd,
                _ => {}
            }
        }
        Ev::Text(path, t) => {
            if items != 1 || !under(path, Ns::T, "CalendarItem") {
                return;
            }
            let in_org = under(path, Ns::T, "Organizer");
            let own = at_item_level(path);
            match last(path) {
                "Subject" if own => m.subject = t.to_string(),
                "Location" if own => m.location = t.to_string(),
                "Body" if own => m.body = Body { kind: m.body.kind, content: t.to_string() },
                "Name" if in_org => m.organizer.name = t.trim().to_string(),
                "EmailAddress" if in_org => m.organizer.mailbox = t.trim().to_ascii_lowercase(),
                "End" if under(path, Ns::T, "LastOccurrence") => m.series.last_occurrence_end = parse_rfc3339(t),
                "EndDate" if under(path, Ns::T, "EndDateRecurrence") => range_end = parse_date(t),
                // FirstOccurrence, LastOccurrence and the modified/deleted occurrences carry a
                // Start and End of their own: only the item's are its Start and End.
                "Start" if own => m.start = parse_rfc3339(t),
                "End" if own => m.end = parse_rfc3339(t),
                "CalendarItemType" if own => m.kind = kind_of(t.trim()),
                "IsOrganizer" if own => m.is_organizer = Some(t.trim().eq_ignore_ascii_case("true")),
                "Value" if in_marker && under(path, Ns::T, "ExtendedProperty") => m.marker = Some(t.to_string()),
                _ => {}
            }
        }
    })?;
    if let SeriesRange::EndDate(d) = &mut m.series.range {
        *d = range_end;
    }
    Ok((items > 0).then_some(m))
}

/// A direct child of the calendar item (not of an occurrence, an attendee, a property inside it).
fn at_item_level(path: &[super::xml::El]) -> bool {
    path.len() >= 2 && path[path.len() - 2].is(Ns::T, "CalendarItem")
}

/// The first folder's id in a GetFolder answer.
pub fn folder_id(xml: &str) -> Result<Option<String>, String> {
    let mut id = None;
    walk(xml, |ev| {
        if let Ev::Start(path, e) = ev {
            if last(path) == "FolderId" && under(path, Ns::M, "Folders") && id.is_none() {
                id = attr(e, b"Id");
            }
        }
    })?;
    Ok(id)
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
    use super::super::xml::{NS_M, NS_SOAP, NS_T};
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
    fn elements_of_other_namespaces_cannot_stand_in_for_the_item_body_or_the_soap_body() {
        let item = |inner: &str| {
            format!(
                r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:GetItemResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="I1" ChangeKey="C1"/><t:Body BodyType="HTML">&lt;p&gt;Agenda&lt;/p&gt;</t:Body>{inner}<t:Location>@cms</t:Location></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#
            )
        };
        // A crafted element with the item body's local name, in another namespace (as an
        // extension or a hostile front end could add): not the body.
        let crafted = item(
            r#"<x:Body xmlns:x="urn:evil" BodyType="Text">wiped</x:Body><t:ExtendedProperty><t:ExtendedFieldURI PropertyName="Other"/><x:Location xmlns:x="urn:evil">elsewhere</x:Location><t:Value>v</t:Value></t:ExtendedProperty>"#,
        );
        let m = meeting(&crafted).unwrap().unwrap();
        assert_eq!((m.body.content.as_str(), m.body.kind, m.location.as_str()), ("<p>Agenda</p>", BodyKind::Html, "@cms"));
        assert_eq!(m.marker, None, "another property's value is not the marker");
        // The EWS body under a Body that is not SOAP's is no answer at all.
        let fake_soap = item("").replace("<s:Body>", r#"<f:Body xmlns:f="urn:fake">"#).replace("</s:Body>", "</f:Body>");
        assert_eq!(meeting(&fake_soap).unwrap(), None);
        assert_eq!(outcome(&fake_soap).unwrap().code, "", "nor its outcome");
    }

    #[test]
    fn a_front_ends_503_page_is_busy_and_other_gateway_errors_are_unavailable() {
        let page = "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>";
        assert_eq!(http_refusal(503, None, page), Some(ProviderError::Busy));
        assert_eq!(
            http_refusal(503, Some(Duration::from_secs(5)), page),
            Some(ProviderError::Throttled { retry_after: Duration::from_secs(5) })
        );
        assert!(matches!(http_refusal(502, None, "Bad gateway"), Some(ProviderError::Unavailable(_))));
        assert!(http_refusal(503, None, page).is_some_and(|e| e.is_transient()));
        // A SOAP answer (even with a 503) is read as EWS, and a 500 fault too.
        let fault = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>busy</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode></detail></s:Fault></s:Body></s:Envelope>"#
        );
        assert_eq!(http_refusal(503, None, &fault), None);
        assert_eq!(outcome(&fault).unwrap().error("a@x"), ProviderError::Busy, "ErrorServerBusy without BackOffMilliseconds");
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
