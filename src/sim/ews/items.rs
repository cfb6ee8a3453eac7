//! Item operations: GetItem (with the marker property and a series' recurrence), UpdateItem
//! (ChangeKey conflicts, an occurrence written becoming an exception, the organiser's update
//! reaching attendees' copies) and CreateItem.

use super::model::{lookup, SimItem, SimMeeting};
use super::reply::{fault, message, messages_of, no_mailbox, response_message, xml_response};
use super::request::Req;
use super::shape::item_xml;
use super::subscriptions::{publish, Event};
use super::{new_id, Shared};
use crate::sync::lock;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

/// GetItem: one response message per requested id, in order — the item as the shape asks, or
/// ErrorItemNotFound for that id alone.
pub(super) fn get_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if req.items.is_empty() {
        return fault("ErrorInvalidRequest", "No ItemId.", None);
    }
    let items = lock(&s.items);
    let messages: Vec<String> = req
        .items
        .iter()
        .map(|(id, _)| match lookup(&items, id, mailbox) {
            Some(i) => {
                response_message("GetItem", "Success", "NoError", "", &format!("<m:Items>{}</m:Items>", item_xml(&i, &req.shape, false)))
            }
            None => {
                response_message("GetItem", "Error", "ErrorItemNotFound", "The specified object was not found in the store.", "<m:Items/>")
            }
        })
        .collect();
    xml_response(StatusCode::OK, messages_of("GetItem", &messages.concat()))
}

/// What Exchange's HTML sanitiser can do to a body written through EWS: comments go.
pub(super) fn sanitise(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start..].find("-->") {
            Some(end) => rest = &rest[start + end + 3..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

/// UpdateItem: the body and the marker written, with ChangeKey conflicts as Exchange has them.
pub(super) fn update_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    let Some((id, ck)) = req.items.first().cloned() else { return fault("ErrorInvalidRequest", "No ItemId.", None) };
    let mut items = lock(&s.items);
    // Writing an occurrence makes it an exception of its series, stored beside the master.
    if let Some(mut occ) = lookup(&items, &id, mailbox).filter(|i| i.item_type == "Occurrence") {
        occ.item_type = "Exception";
        items.push(occ);
    }
    let Some(it) = items.iter_mut().find(|i| i.id == id && i.mailbox.eq_ignore_ascii_case(mailbox)) else {
        return update_refused("ErrorItemNotFound", "The specified object was not found in the store.");
    };
    if req.send.is_empty() {
        return update_refused(
            "ErrorSendMeetingInvitationsOrCancellationsRequired",
            "SendMeetingInvitationsOrCancellations is required for calendar items.",
        );
    }
    if s.faults.edit_before_update.swap(false, Ordering::Relaxed) {
        late_edit(s, it);
    }
    let stale = ck.as_deref().is_some_and(|c| c != it.change_key);
    if stale && req.conflict != "AlwaysOverwrite" {
        return update_refused(
            "ErrorIrresolvableConflict",
            "The change key passed in the request does not match the current change key for the item.",
        );
    }
    apply_update(s, it, req);
    let mut events = vec![modified(it)];
    let inner = format!("<m:Items><t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/></t:CalendarItem></m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>", it.id, it.change_key);
    let sent = (it.sent_to_all && !it.is_attendee_copy() && it.master.is_none()).then(|| (it.uid.clone(), it.body.clone(), it.body_html));
    if let Some((uid, body, html)) = sent {
        events.extend(reach_attendees(s, &mut items, &uid, &body, html));
    }
    drop(items);
    for ev in events {
        publish(s, ev);
    }
    xml_response(StatusCode::OK, message("UpdateItem", "Success", "NoError", "", &inner))
}

/// An UpdateItem that changes nothing: an error response message.
fn update_refused(code: &str, text: &str) -> Response {
    xml_response(StatusCode::OK, message("UpdateItem", "Error", code, text, "<m:Items/>"))
}

/// The organiser's edit made a moment before the update lands: its ChangeKey goes stale.
fn late_edit(s: &Shared, it: &mut SimItem) {
    it.body = it.body.replace("</body>", "<p>Organiser's late edit</p></body>");
    if !it.body.contains("Organiser's late edit") {
        it.body.push_str("<p>Organiser's late edit</p>");
    }
    it.change_key = new_id("DwAA");
    it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
}

/// Writes what the request sets; a new ChangeKey, and whether it went to the attendees.
fn apply_update(s: &Shared, it: &mut SimItem, req: &Req) {
    if let Some((b, html)) = &req.body {
        it.body = if *html { sanitise(b) } else { b.clone() };
        it.body_html = *html;
    }
    // A client that saves an item back sets (or clears) its attendee lists.
    let named = |fields: &[String], name: &str| fields.iter().any(|f| f.eq_ignore_ascii_case(name));
    for (name, list, given) in [
        ("calendar:RequiredAttendees", &mut it.required_attendees, &req.attendees),
        ("calendar:OptionalAttendees", &mut it.optional_attendees, &req.optional),
    ] {
        if named(&req.set_fields, name) {
            list.clone_from(given);
        } else if named(&req.deleted_fields, name) {
            list.clear();
        }
    }
    if let Some(m) = &req.marker {
        it.marker = Some(m.clone());
    }
    it.change_key = new_id("DwAA");
    it.updates += 1;
    it.sent_to_all = req.send.starts_with("SendToAll") || req.send.starts_with("SendOnlyToAll");
    it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
}

/// The organiser's update sent to all reaches the attendees' copies (as once they process the
/// meeting update): their body changes and their calendars report it.
fn reach_attendees(s: &Shared, items: &mut [SimItem], uid: &str, body: &str, html: bool) -> Vec<Event> {
    let mut events = Vec::new();
    for copy in items.iter_mut().filter(|c| c.uid == uid && c.is_attendee_copy()) {
        copy.body = body.to_string();
        copy.body_html = html;
        copy.change_key = new_id("DwAA");
        copy.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
        events.push(modified(copy));
    }
    events
}

fn modified(i: &SimItem) -> Event {
    Event::of(i, "ModifiedEvent")
}

/// Creates the organiser's item and the attendees' copies; returns the organiser's id and ChangeKey.
pub(super) fn create(s: &Shared, m: &SimMeeting, html: bool) -> (String, String) {
    let uid = uuid::Uuid::new_v4().simple().to_string();
    let mut made = vec![SimItem::new(s, &m.organizer, &m.organizer, m, &uid)];
    for a in
        m.attendees.iter().filter(|a| s.cfg.mailboxes.iter().any(|x| x.eq_ignore_ascii_case(a)) && !a.eq_ignore_ascii_case(&m.organizer))
    {
        made.push(SimItem::new(s, a, &m.organizer, m, &uid));
    }
    for i in &mut made {
        i.body_html = html;
    }
    let first = (made[0].id.clone(), made[0].change_key.clone());
    let events: Vec<Event> = made.iter().map(|i| Event::of(i, "CreatedEvent")).collect();
    lock(&s.items).extend(made);
    for ev in events {
        publish(s, ev);
    }
    first
}

pub(super) fn create_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("CreateItem");
    }
    let parse =
        |t: &Option<String>| t.as_deref().and_then(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok());
    let start = parse(&req.start).unwrap_or_else(OffsetDateTime::now_utc);
    let end = parse(&req.end).unwrap_or(start + time::Duration::hours(1));
    let (body, html) = req.body.clone().unwrap_or_default();
    let body = if html { sanitise(&body) } else { body };
    let m = SimMeeting {
        organizer: mailbox.to_string(),
        attendees: req.attendees.clone(),
        subject: req.subject.clone(),
        location: req.location.clone(),
        body_html: body,
        start,
        end,
        recurrence: req.recurrence.clone(),
    };
    let (id, ck) = create(s, &m, html);
    if !req.optional.is_empty() {
        if let Some(it) = lock(&s.items).iter_mut().find(|i| i.id == id) {
            it.optional_attendees.clone_from(&req.optional);
        }
    }
    let inner = format!("<m:Items><t:CalendarItem><t:ItemId Id=\"{id}\" ChangeKey=\"{ck}\"/></t:CalendarItem></m:Items>");
    xml_response(StatusCode::OK, message("CreateItem", "Success", "NoError", "", &inner))
}
