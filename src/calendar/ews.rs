//! EWS over raw SOAP 1.1 (reference/exchange.md §2): the requests Switchboard sends, built as
//! text, and the answers parsed with quick-xml by local name (clients and servers use different
//! prefixes: `s:`/`soap:`, `m:`, `t:` or default namespaces). Pure functions, no I/O; the HTTP
//! side is [`EwsClient`].

use quick_xml::events::Event;
use quick_xml::Reader;

pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const NS_T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// The extended property that marks an item Switchboard wrote (with the block's hash).
pub const MARKER_PROPERTY: &str = "SwitchboardCmsJoin";

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A SOAP envelope acting as `mailbox` (ExchangeImpersonation), Exchange 2016 schema.
pub fn envelope(mailbox: Option<&str>, body: &str) -> String {
    let imp = mailbox
        .map(|m| {
            format!(
                "<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>{}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>",
                esc(m)
            )
        })
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{NS_SOAP}\" xmlns:m=\"{NS_M}\" xmlns:t=\"{NS_T}\">\
         <s:Header><t:RequestServerVersion Version=\"Exchange2016\"/>{imp}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    )
}

pub fn subscribe_calendar() -> String {
    "<m:Subscribe><m:StreamingSubscriptionRequest><t:FolderIds><t:DistinguishedFolderId Id=\"calendar\"/></t:FolderIds>\
     <t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType></t:EventTypes>\
     </m:StreamingSubscriptionRequest></m:Subscribe>"
        .into()
}

pub fn get_streaming_events(subscription_ids: &[String], timeout_minutes: u32) -> String {
    let ids: String = subscription_ids.iter().map(|i| format!("<t:SubscriptionId>{}</t:SubscriptionId>", esc(i))).collect();
    format!("<m:GetStreamingEvents><m:SubscriptionIds>{ids}</m:SubscriptionIds><m:ConnectionTimeout>{}</m:ConnectionTimeout></m:GetStreamingEvents>", timeout_minutes.clamp(1, 30))
}

pub fn sync_folder_items(sync_state: Option<&str>, max: u32) -> String {
    let state = sync_state.map(|s| format!("<m:SyncState>{}</m:SyncState>", esc(s))).unwrap_or_default();
    format!(
        "<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>\
         <m:SyncFolderId><t:DistinguishedFolderId Id=\"calendar\"/></m:SyncFolderId>{state}<m:MaxChangesReturned>{max}</m:MaxChangesReturned></m:SyncFolderItems>"
    )
}

fn marker_uri() -> String {
    format!("<t:ExtendedFieldURI DistinguishedPropertySetId=\"PublicStrings\" PropertyName=\"{MARKER_PROPERTY}\" PropertyType=\"String\"/>")
}

pub fn get_item(id: &str) -> String {
    format!(
        "<m:GetItem><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape><t:BodyType>HTML</t:BodyType><t:AdditionalProperties>\
         <t:FieldURI FieldURI=\"item:Subject\"/><t:FieldURI FieldURI=\"item:Body\"/><t:FieldURI FieldURI=\"calendar:Location\"/>\
         <t:FieldURI FieldURI=\"calendar:Organizer\"/><t:FieldURI FieldURI=\"calendar:Start\"/><t:FieldURI FieldURI=\"calendar:End\"/>\
         <t:FieldURI FieldURI=\"calendar:CalendarItemType\"/><t:FieldURI FieldURI=\"calendar:IsOrganizer\"/>\
         <t:FieldURI FieldURI=\"calendar:Recurrence\"/><t:FieldURI FieldURI=\"calendar:LastOccurrence\"/>{}\
         </t:AdditionalProperties></m:ItemShape><m:ItemIds><t:ItemId Id=\"{}\"/></m:ItemIds></m:GetItem>",
        marker_uri(),
        esc(id)
    )
}

/// Writes the body (and the marker) with the item's ChangeKey; attendees get the update.
pub fn update_body(id: &str, change_key: &str, html: &str, marker: &str) -> String {
    format!(
        "<m:UpdateItem MessageDisposition=\"SaveOnly\" ConflictResolution=\"NeverOverwrite\" SendMeetingInvitationsOrCancellations=\"SendToAllAndSaveCopy\">\
         <m:ItemChanges><t:ItemChange><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/><t:Updates>\
         <t:SetItemField><t:FieldURI FieldURI=\"item:Body\"/><t:CalendarItem><t:Body BodyType=\"HTML\">{}</t:Body></t:CalendarItem></t:SetItemField>\
         <t:SetItemField>{uri}<t:CalendarItem><t:ExtendedProperty>{uri}<t:Value>{}</t:Value></t:ExtendedProperty></t:CalendarItem></t:SetItemField>\
         </t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>",
        esc(id),
        esc(change_key),
        esc(html),
        esc(marker),
        uri = marker_uri()
    )
}

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
}

/// A calendar item as GetItem answers it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item {
    pub id: String,
    pub change_key: String,
    pub subject: String,
    pub location: String,
    pub body: String,
    pub body_html: bool,
    pub organizer: String,
    /// A RecurringMaster's Start and End are its first occurrence's, not the series'.
    pub start: String,
    pub end: String,
    /// Single, RecurringMaster, Occurrence, Exception.
    pub item_type: String,
    pub is_organizer: Option<bool>,
    pub marker: Option<String>,
    /// A RecurringMaster's range: `EndDateRecurrence`, `NumberedRecurrence` or `NoEndRecurrence`
    /// (Graph's `endDate`/`numbered`/`noEnd` are mapped to these names).
    pub recurrence_range: String,
    /// `EndDateRecurrence`'s EndDate, an xs:date (`2027-03-01Z`, `2027-03-01-08:00`).
    pub recurrence_end_date: String,
    /// A RecurringMaster's `LastOccurrence/End` (none for a series without an end).
    pub last_occurrence_end: String,
}

/// A notification on a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub subscription_id: String,
    /// CreatedEvent, ModifiedEvent, …
    pub kind: String,
    pub item_id: String,
}

/// What one SOAP document of a streaming response says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamDoc {
    pub outcome: Outcome,
    /// `OK` or `Closed`.
    pub connection_status: String,
    pub notifications: Vec<Notification>,
    /// Subscriptions the server no longer knows (`ErrorSubscriptionNotFound` lists them).
    pub errored_subscriptions: Vec<String>,
}

/// What SyncFolderItems answers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncPage {
    pub outcome: Outcome,
    pub sync_state: String,
    pub includes_last: bool,
    /// (change kind: Create/Update/Delete, item id)
    pub changes: Vec<(String, String)>,
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

pub(crate) fn attr(e: &quick_xml::events::BytesStart, key: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| local(a.key.as_ref()) == key).and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

pub(crate) enum Ev<'a> {
    Start(&'a [String], &'a quick_xml::events::BytesStart<'a>),
    /// The whole text of an element, delivered at its end (entities resolved).
    Text(&'a [String], &'a str),
}

/// Walks a document, calling `f` with each element start (path of local names) and each
/// element's complete text.
pub(crate) fn walk(xml: &str, mut f: impl FnMut(Ev)) -> Result<(), String> {
    let mut r = Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    loop {
        match r.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => {
                path.push(String::from_utf8_lossy(local(e.name().as_ref())).into_owned());
                texts.push(String::new());
                f(Ev::Start(&path, &e));
            }
            Event::Empty(e) => {
                path.push(String::from_utf8_lossy(local(e.name().as_ref())).into_owned());
                f(Ev::Start(&path, &e));
                path.pop();
            }
            Event::End(_) => {
                if let Some(t) = texts.pop() {
                    if !t.is_empty() {
                        f(Ev::Text(&path, &t));
                    }
                }
                path.pop();
            }
            Event::Text(t) => {
                let s = t.decode().map_err(|e| e.to_string())?;
                let s = quick_xml::escape::unescape(&s).map_err(|e| e.to_string())?;
                if let Some(cur) = texts.last_mut() {
                    cur.push_str(&s);
                }
            }
            Event::GeneralRef(g) => {
                let name = g.decode().map_err(|e| e.to_string())?;
                let entity = format!("&{name};");
                let s = quick_xml::escape::unescape(&entity).map_err(|e| e.to_string())?;
                if let Some(cur) = texts.last_mut() {
                    cur.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(cur) = texts.last_mut() {
                    cur.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

pub(crate) fn last(path: &[String]) -> &str {
    path.last().map(String::as_str).unwrap_or("")
}

fn under(path: &[String], name: &str) -> bool {
    path.iter().any(|p| p == name)
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

pub fn subscription_id(xml: &str) -> Result<(Outcome, Option<String>), String> {
    let o = outcome(xml)?;
    let mut id = None;
    walk(xml, |ev| {
        if let Ev::Text(path, t) = ev {
            if last(path) == "SubscriptionId" && id.is_none() {
                id = Some(t.trim().to_string());
            }
        }
    })?;
    Ok((o, id))
}

pub fn stream_doc(xml: &str) -> Result<StreamDoc, String> {
    let mut d = StreamDoc { outcome: outcome(xml)?, ..Default::default() };
    // In a notification the subscription id comes first (its text ends before the events start).
    let mut current_sub = String::new();
    let mut kind = String::new();
    let mut found: Vec<Notification> = Vec::new();
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if n == "Notification" {
                current_sub.clear();
            }
            if n.ends_with("Event") && under(path, "Notification") {
                kind = n.to_string();
            }
            if n == "ItemId" && !kind.is_empty() && under(path, "Notification") {
                if let Some(id) = attr(e, b"Id") {
                    found.push(Notification { subscription_id: current_sub.clone(), kind: kind.clone(), item_id: id });
                }
            }
        }
        Ev::Text(path, t) => match last(path) {
            "ConnectionStatus" => d.connection_status = t.trim().to_string(),
            "SubscriptionId" if under(path, "Notification") => current_sub = t.trim().to_string(),
            "SubscriptionId" if under(path, "ErrorSubscriptionIds") => d.errored_subscriptions.push(t.trim().to_string()),
            _ => {}
        },
    })?;
    d.notifications = found;
    Ok(d)
}

pub fn sync_page(xml: &str) -> Result<SyncPage, String> {
    let mut p = SyncPage { outcome: outcome(xml)?, ..Default::default() };
    let mut change = String::new();
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => {
            let n = last(path);
            if matches!(n, "Create" | "Update" | "Delete") && under(path, "Changes") {
                change = n.to_string();
            }
            if n == "ItemId" && !change.is_empty() {
                if let Some(id) = attr(e, b"Id") {
                    p.changes.push((change.clone(), id));
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

pub fn item(xml: &str) -> Result<(Outcome, Option<Item>), String> {
    let o = outcome(xml)?;
    let mut it = Item::default();
    let mut found = false;
    let mut in_marker = false;
    walk(xml, |ev| match ev {
        Ev::Start(path, e) => match last(path) {
            "ItemId" if !found => {
                found = true;
                it.id = attr(e, b"Id").unwrap_or_default();
                it.change_key = attr(e, b"ChangeKey").unwrap_or_default();
            }
            "Body" => it.body_html = attr(e, b"BodyType").is_none_or(|t| t.eq_ignore_ascii_case("HTML")),
            "ExtendedFieldURI" => in_marker = attr(e, b"PropertyName").as_deref() == Some(MARKER_PROPERTY),
            n @ ("EndDateRecurrence" | "NumberedRecurrence" | "NoEndRecurrence") if under(path, "Recurrence") => {
                it.recurrence_range = n.to_string()
            }
            _ => {}
        },
        Ev::Text(path, t) => {
            let in_org = under(path, "Organizer");
            // FirstOccurrence, LastOccurrence and the modified/deleted occurrences carry a
            // Start and End of their own: only the item's are its Start and End.
            let in_occurrence = path.iter().any(|p| p.ends_with("Occurrence") || p.ends_with("Occurrences"));
            match last(path) {
                "Subject" => it.subject = t.to_string(),
                "Location" => it.location = t.to_string(),
                "Body" => it.body = t.to_string(),
                "EmailAddress" if in_org => it.organizer = t.trim().to_ascii_lowercase(),
                "End" if under(path, "LastOccurrence") => it.last_occurrence_end = t.trim().to_string(),
                "EndDate" if under(path, "EndDateRecurrence") => it.recurrence_end_date = t.trim().to_string(),
                "Start" if !in_occurrence => it.start = t.trim().to_string(),
                "End" if !in_occurrence => it.end = t.trim().to_string(),
                "CalendarItemType" => it.item_type = t.trim().to_string(),
                "IsOrganizer" => it.is_organizer = Some(t.trim().eq_ignore_ascii_case("true")),
                "Value" if in_marker => it.marker = Some(t.to_string()),
                _ => {}
            }
        }
    })?;
    Ok((o, found.then_some(it)))
}

/// The new ChangeKey from an UpdateItem answer.
pub fn updated_change_key(xml: &str) -> Result<(Outcome, Option<String>), String> {
    let o = outcome(xml)?;
    let mut ck = None;
    walk(xml, |ev| {
        if let Ev::Start(path, e) = ev {
            if last(path) == "ItemId" && ck.is_none() {
                ck = attr(e, b"ChangeKey");
            }
        }
    })?;
    Ok((o, ck))
}

/// Splits complete SOAP documents off the front of a streaming buffer: each ends with the
/// envelope's end tag, whatever its prefix. Returns the documents; `buf` keeps the rest.
pub fn take_documents(buf: &mut String) -> Vec<String> {
    let mut out = Vec::new();
    while let Some(end) = find_envelope_end(buf) {
        let doc: String = buf.drain(..end).collect();
        let doc = doc.trim().to_string();
        if !doc.is_empty() {
            out.push(doc);
        }
    }
    out
}

fn find_envelope_end(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("</") {
        let start = from + i + 2;
        let rest = &s[start..];
        let close = rest.find('>')?;
        let name = &rest[..close];
        if local(name.trim().as_bytes()) == b"Envelope" {
            return Some(start + close + 1);
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Header xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><ServerVersionInfo xmlns="http://schemas.microsoft.com/exchange/services/2006/types" MajorVersion="15" MinorVersion="1"/></soap11:Header><soap11:Body xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><m:GetStreamingEventsResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Notifications><m:Notification><t:SubscriptionId>SUB1</t:SubscriptionId><t:CreatedEvent><t:TimeStamp>2026-11-24T10:00:00Z</t:TimeStamp><t:ItemId Id="ITEM1" ChangeKey="CK1"/><t:ParentFolderId Id="F"/></t:CreatedEvent><t:ModifiedEvent><t:TimeStamp>2026-11-24T10:00:01Z</t:TimeStamp><t:ItemId Id="ITEM2" ChangeKey="CK2"/></t:ModifiedEvent></m:Notification></m:Notifications><m:ConnectionStatus>OK</m:ConnectionStatus></m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>"#;

    #[test]
    fn streamed_documents_are_split_and_their_notifications_read_whatever_the_prefixes() {
        let mut buf = format!("{STREAM}\r\n{}<s:Envel", STREAM.replace("ITEM1", "ITEM3"));
        let docs = take_documents(&mut buf);
        assert_eq!(docs.len(), 2);
        assert_eq!(buf, "<s:Envel", "an incomplete document waits for more bytes");
        let d = stream_doc(&docs[0]).unwrap();
        assert!(d.outcome.ok());
        assert_eq!(d.connection_status, "OK");
        assert_eq!(
            d.notifications,
            vec![
                Notification { subscription_id: "SUB1".into(), kind: "CreatedEvent".into(), item_id: "ITEM1".into() },
                Notification { subscription_id: "SUB1".into(), kind: "ModifiedEvent".into(), item_id: "ITEM2".into() },
            ]
        );
        assert_eq!(stream_doc(&docs[1]).unwrap().notifications[0].item_id, "ITEM3");
    }

    #[test]
    fn server_busy_carries_its_back_off_and_items_parse_with_the_marker() {
        let busy = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>a:ErrorServerBusy</faultcode><faultstring>The server cannot service this request right now. Try again later.</faultstring><detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorServerBusy</e:ResponseCode><t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">2500</t:Value></t:MessageXml></detail></s:Fault></s:Body></s:Envelope>"#;
        let o = outcome(busy).unwrap();
        assert_eq!((o.code.as_str(), o.back_off_ms, o.ok()), ("ErrorServerBusy", Some(2500), false));
        let item_xml = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:GetItemResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="I1" ChangeKey="C1"/><t:Subject>Plan</t:Subject><t:Body BodyType="Text">Hi &amp; bye</t:Body><t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId="PublicStrings" PropertyName="{MARKER_PROPERTY}" PropertyType="String"/><t:Value>h=abc</t:Value></t:ExtendedProperty><t:Start>2026-11-25T10:00:00Z</t:Start><t:End>2026-11-25T11:00:00Z</t:End><t:Location>Room @cms</t:Location><t:Organizer><t:Mailbox><t:Name>Ann</t:Name><t:EmailAddress>Ann@Example.com</t:EmailAddress></t:Mailbox></t:Organizer><t:CalendarItemType>Single</t:CalendarItemType></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#
        );
        let (o, it) = item(&item_xml).unwrap();
        assert!(o.ok());
        let it = it.unwrap();
        assert_eq!(
            (it.id.as_str(), it.change_key.as_str(), it.location.as_str(), it.organizer.as_str()),
            ("I1", "C1", "Room @cms", "ann@example.com")
        );
        assert_eq!(
            (it.body.as_str(), it.body_html, it.marker.as_deref(), it.item_type.as_str()),
            ("Hi & bye", false, Some("h=abc"), "Single")
        );
    }

    #[test]
    fn a_recurring_master_keeps_its_first_occurrence_times_and_reads_its_range_and_last_occurrence() {
        let xml = format!(
            r#"<s:Envelope xmlns:s="{NS_SOAP}"><s:Body><m:GetItemResponse xmlns:m="{NS_M}" xmlns:t="{NS_T}"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items><t:CalendarItem><t:ItemId Id="M1" ChangeKey="C1"/><t:Subject>Weekly</t:Subject><t:Start>2026-01-05T09:00:00Z</t:Start><t:End>2026-01-05T09:30:00Z</t:End><t:Location>@cms</t:Location><t:CalendarItemType>RecurringMaster</t:CalendarItemType><t:Organizer><t:Mailbox><t:EmailAddress>ann@example.com</t:EmailAddress></t:Mailbox></t:Organizer><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday</t:DaysOfWeek><t:FirstDayOfWeek>Sunday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>2026-01-05Z</t:StartDate><t:EndDate>2027-06-28Z</t:EndDate></t:EndDateRecurrence></t:Recurrence><t:FirstOccurrence><t:ItemId Id="O1" ChangeKey="C2"/><t:Start>2026-01-05T09:00:00Z</t:Start><t:End>2026-01-05T09:30:00Z</t:End><t:OriginalStart>2026-01-05T09:00:00Z</t:OriginalStart></t:FirstOccurrence><t:LastOccurrence><t:ItemId Id="O9" ChangeKey="C3"/><t:Start>2027-06-28T09:00:00Z</t:Start><t:End>2027-06-28T09:30:00Z</t:End><t:OriginalStart>2027-06-28T09:00:00Z</t:OriginalStart></t:LastOccurrence></t:CalendarItem></m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>"#
        );
        let it = item(&xml).unwrap().1.unwrap();
        assert_eq!((it.id.as_str(), it.item_type.as_str()), ("M1", "RecurringMaster"));
        assert_eq!((it.start.as_str(), it.end.as_str()), ("2026-01-05T09:00:00Z", "2026-01-05T09:30:00Z"), "not the occurrences' times");
        assert_eq!(
            (it.recurrence_range.as_str(), it.recurrence_end_date.as_str(), it.last_occurrence_end.as_str()),
            ("EndDateRecurrence", "2027-06-28Z", "2027-06-28T09:30:00Z")
        );
    }

    #[test]
    fn requests_escape_what_they_carry() {
        let u = update_body("I<1>", "C&1", "<p>x</p>", "h=1");
        assert!(u.contains("Id=\"I&lt;1&gt;\" ChangeKey=\"C&amp;1\""));
        assert!(u.contains("&lt;p&gt;x&lt;/p&gt;"));
        assert!(u.contains("SendToAllAndSaveCopy") && u.contains("NeverOverwrite"));
        let e = envelope(Some("ann@example.com"), &subscribe_calendar());
        assert!(e.contains("<t:PrimarySmtpAddress>ann@example.com</t:PrimarySmtpAddress>") && e.contains("Exchange2016"));
        assert!(get_streaming_events(&["a".into()], 90).contains("<m:ConnectionTimeout>30</m:ConnectionTimeout>"));
    }
}
