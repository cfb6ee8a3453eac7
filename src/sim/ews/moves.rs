//! Meetings leaving and coming back to the calendar, with the events Exchange sends: DeleteItem
//! (`MoveToDeletedItems` moves the item to Deleted Items under a new id — a `MovedEvent`;
//! `SoftDelete`/`HardDelete` remove it — a `DeletedEvent`), one response message per id, and
//! `SendMeetingCancellations` required for calendar items; and an item restored from Deleted
//! Items (a `MovedEvent` back into the calendar).

use super::model::SimItem;
use super::reply::{fault, messages_of, response_message, xml_response};
use super::request::Req;
use super::subscriptions::{publish, Event};
use super::{new_id, Shared};
use crate::sync::lock;
use axum::http::StatusCode;
use axum::response::Response;
use std::sync::atomic::Ordering;

/// Moves `it` to `folder` under a new id; the MovedEvent Exchange reports.
fn move_to(s: &Shared, it: &mut SimItem, folder: &'static str) -> Event {
    let (old_id, old_folder) = (it.id.clone(), it.folder);
    it.id = new_id("AAMk");
    it.change_key = new_id("DwAA");
    it.moved_from = (folder != "calendar").then(|| old_id.clone());
    it.folder = folder;
    it.seq = s.seq.fetch_add(1, Ordering::Relaxed) + 1;
    Event { old: Some((old_id, old_folder)), ..Event::of(it, "MovedEvent") }
}

/// Deletes (or moves to Deleted Items) item `id` of `mailbox`: the event, or `None` when there
/// is no such item.
pub(super) fn delete(s: &Shared, mailbox: &str, id: &str, hard: bool) -> Option<Event> {
    let mut items = lock(&s.items);
    let at = items.iter().position(|i| i.id == id && i.mailbox.eq_ignore_ascii_case(mailbox))?;
    if hard {
        let gone = items.remove(at);
        return Some(Event::of(&gone, "DeletedEvent"));
    }
    Some(move_to(s, &mut items[at], "deleteditems"))
}

/// Item `id` (in Deleted Items) moved back to the calendar; its new id.
pub(super) fn restore(s: &Shared, id: &str) -> Option<String> {
    let ev = {
        let mut items = lock(&s.items);
        let it = items.iter_mut().find(|i| i.id == id && i.folder == "deleteditems")?;
        move_to(s, it, "calendar")
    };
    let new_id = ev.item_id.clone();
    publish(s, ev);
    Some(new_id)
}

/// DeleteItem: one response message per id, in order.
pub(super) fn delete_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    let hard = match req.delete_type.as_str() {
        "HardDelete" | "SoftDelete" => true,
        "MoveToDeletedItems" => false,
        _ => return fault("ErrorSchemaValidation", "The request failed schema validation: DeleteType is required.", None),
    };
    let mut messages = String::new();
    for (id, _) in &req.items {
        let is_calendar = lock(&s.items).iter().any(|i| i.id == *id && i.mailbox.eq_ignore_ascii_case(mailbox));
        let m = if is_calendar && req.cancellations.is_empty() {
            response_message(
                "DeleteItem",
                "Error",
                "ErrorSendMeetingCancellationsRequired",
                "SendMeetingCancellations attribute is required for Calendar items.",
                "",
            )
        } else {
            match delete(s, mailbox, id, hard) {
                Some(ev) => {
                    publish(s, ev);
                    response_message("DeleteItem", "Success", "NoError", "", "")
                }
                None => {
                    response_message("DeleteItem", "Error", "ErrorItemNotFound", "The specified object was not found in the store.", "")
                }
            }
        };
        messages.push_str(&m);
    }
    xml_response(StatusCode::OK, messages_of("DeleteItem", &messages))
}
