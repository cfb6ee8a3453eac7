//! EWS's requests as Switchboard sends them (../shared/reference/exchange.md §2): SOAP 1.1
//! envelopes built as text, everything they carry escaped. Pure functions, no I/O.

use super::xml::{esc, NS_M, NS_SOAP, NS_T};
pub use crate::calendar::model::MARKER_PROPERTY;

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
     <t:EventTypes><t:EventType>CreatedEvent</t:EventType><t:EventType>ModifiedEvent</t:EventType>\
     <t:EventType>DeletedEvent</t:EventType><t:EventType>MovedEvent</t:EventType></t:EventTypes>\
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

/// The calendar folder's id (nothing else).
pub fn get_calendar_folder() -> String {
    "<m:GetFolder><m:FolderShape><t:BaseShape>IdOnly</t:BaseShape></m:FolderShape>\
     <m:FolderIds><t:DistinguishedFolderId Id=\"calendar\"/></m:FolderIds></m:GetFolder>"
        .into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_escape_what_they_carry() {
        let u = update_body("I<1>", "C&1", "<p>x</p>", "h=1");
        assert!(u.contains("Id=\"I&lt;1&gt;\" ChangeKey=\"C&amp;1\""));
        assert!(u.contains("&lt;p&gt;x&lt;/p&gt;"));
        assert!(u.contains("SendToAllAndSaveCopy") && u.contains("NeverOverwrite"));
        // quick-xml's escape also writes the apostrophe as an entity (any XML reader resolves it).
        assert!(update_body("I", "C", "<p title=\"a\">it's</p>", "h").contains("&lt;p title=&quot;a&quot;&gt;it&apos;s&lt;/p&gt;"));
        let e = envelope(Some("ann@example.com"), &subscribe_calendar());
        assert!(e.contains("<t:PrimarySmtpAddress>ann@example.com</t:PrimarySmtpAddress>") && e.contains("Exchange2016"));
        assert!(get_streaming_events(&["a".into()], 90).contains("<m:ConnectionTimeout>30</m:ConnectionTimeout>"));
    }
}
