//! A calendar item written as the requested `m:ItemShape` asks (../shared/reference/exchange.md
//! §2.4–2.5): `IdOnly` is the id alone, `Default` Exchange's default calendar set, `AllProperties`
//! every first-class property the simulator keeps; `t:AdditionalProperties` add fields and the
//! marker's extended property (returned only when asked for, as Exchange does). FindItem never
//! returns the body or the attendee lists (Exchange refuses them with ErrorInvalidPropertyRequest).

use super::model::{folder_id, occurrence_id, SimItem};
use super::request::Shape;
use super::xml::{esc, t3339, MARKER_PROPERTY};
use time::OffsetDateTime;

/// Fields FindItem cannot return.
pub(super) const NOT_IN_FIND: [&str; 3] = ["item:Body", "calendar:RequiredAttendees", "calendar:OptionalAttendees"];

fn mailbox(address: &str) -> String {
    format!(
        "<t:Mailbox><t:Name>{}</t:Name><t:EmailAddress>{}</t:EmailAddress><t:RoutingType>SMTP</t:RoutingType></t:Mailbox>",
        esc(address),
        esc(address)
    )
}

fn attendees(element: &str, list: &[String]) -> String {
    if list.is_empty() {
        return String::new();
    }
    let each: String =
        list.iter().map(|a| format!("<t:Attendee>{}<t:ResponseType>Unknown</t:ResponseType></t:Attendee>", mailbox(a))).collect();
    format!("<t:{element}>{each}</t:{element}>")
}

fn marker_xml(i: &SimItem) -> String {
    i.marker
        .as_ref()
        .map(|m| {
            format!(
                "<t:ExtendedProperty><t:ExtendedFieldURI DistinguishedPropertySetId=\"PublicStrings\" PropertyName=\"{MARKER_PROPERTY}\" PropertyType=\"String\"/><t:Value>{}</t:Value></t:ExtendedProperty>",
                esc(m)
            )
        })
        .unwrap_or_default()
}

/// A master's pattern and range, and its first and last occurrences (no last without an end).
fn series_xml(i: &SimItem, first_last: bool) -> String {
    let Some(r) = i.recurrence.as_ref() else { return String::new() };
    let occ = |name: &str, o: Option<(u32, OffsetDateTime, OffsetDateTime)>| {
        o.map(|(n, s, e)| {
            format!(
                "<t:{name}><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/><t:Start>{}</t:Start><t:End>{}</t:End><t:OriginalStart>{}</t:OriginalStart></t:{name}>",
                occurrence_id(&i.id, n),
                i.change_key,
                t3339(s),
                t3339(e),
                t3339(s)
            )
        })
        .unwrap_or_default()
    };
    if !first_last {
        return r.xml(i.start);
    }
    format!("{}{}", occ("FirstOccurrence", r.expand(i.start, i.end, None, 1).pop()), occ("LastOccurrence", r.last(i.start, i.end)))
}

/// The item as `shape` asks, in the schema's element order. `find`: for FindItem (no body, no
/// attendee lists, no series details).
pub(super) fn item_xml(i: &SimItem, shape: &Shape, find: bool) -> String {
    // (field, in Default, in AllProperties)
    let has = |field: &str, default: bool, all: bool| shape.has(field, default, all) && !(find && NOT_IN_FIND.contains(&field));
    let mut x = format!("<t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/>", i.id, i.change_key);
    let mut put = |on: bool, xml: String| {
        if on {
            x.push_str(&xml);
        }
    };
    put(
        has("item:ParentFolderId", false, true),
        format!("<t:ParentFolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/>", folder_id(&i.mailbox, i.folder)),
    );
    put(has("item:Subject", true, true), format!("<t:Subject>{}</t:Subject>", esc(&i.subject)));
    put(
        has("item:Body", false, !find),
        format!("<t:Body BodyType=\"{}\">{}</t:Body>", if i.body_html { "HTML" } else { "Text" }, esc(&i.body)),
    );
    put(has("item:DateTimeCreated", false, true), format!("<t:DateTimeCreated>{}</t:DateTimeCreated>", t3339(i.created)));
    put(shape.marker, marker_xml(i));
    put(has("calendar:UID", false, true), format!("<t:UID>{}</t:UID>", i.uid));
    put(has("calendar:Start", true, true), format!("<t:Start>{}</t:Start>", t3339(i.start)));
    put(has("calendar:End", true, true), format!("<t:End>{}</t:End>", t3339(i.end)));
    put(has("calendar:Location", true, true), format!("<t:Location>{}</t:Location>", esc(&i.location)));
    put(has("calendar:IsRecurring", false, true), format!("<t:IsRecurring>{}</t:IsRecurring>", i.item_type != "Single"));
    put(has("calendar:CalendarItemType", true, true), format!("<t:CalendarItemType>{}</t:CalendarItemType>", i.item_type));
    put(has("calendar:Organizer", true, true), format!("<t:Organizer>{}</t:Organizer>", mailbox(&i.organizer)));
    put(has("calendar:RequiredAttendees", false, !find), attendees("RequiredAttendees", &i.required_attendees));
    put(has("calendar:OptionalAttendees", false, !find), attendees("OptionalAttendees", &i.optional_attendees));
    put(has("calendar:Recurrence", false, !find), series_xml(i, false));
    let first_last = has("calendar:FirstOccurrence", false, !find) || has("calendar:LastOccurrence", false, !find);
    put(first_last, series_xml(i, true));
    put(has("calendar:IsOrganizer", false, true), format!("<t:IsOrganizer>{}</t:IsOrganizer>", !i.is_attendee_copy()));
    x.push_str("</t:CalendarItem>");
    x
}
