//! FindItem (a CalendarView expanding series, or IndexedPageItemView paging; items in the
//! requested shape, never with bodies or attendee lists) and GetFolder of distinguished folders.

use super::model::{folder_id, lookup, occurrence_id, SimItem};
use super::reply::{fault, message, no_mailbox, xml_response};
use super::request::{Req, View};
use super::shape::{item_xml, NOT_IN_FIND};
use super::Shared;
use crate::sync::lock;
use axum::http::StatusCode;
use axum::response::Response;
use time::OffsetDateTime;

/// FindItem in a mailbox's calendar: a CalendarView (items overlapping the range, at most
/// `MaxEntriesReturned`, `IncludesLastItemInRange` false when cut) or an IndexedPageItemView
/// (offset paging with `IndexedPagingOffset`); item summaries without bodies, as Exchange.
pub(super) fn find_item(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("FindItem");
    }
    if let Some(f) = req.shape.fields.iter().find(|f| NOT_IN_FIND.iter().any(|n| n.eq_ignore_ascii_case(f))) {
        return xml_response(
            StatusCode::OK,
            message(
                "FindItem",
                "Error",
                "ErrorInvalidPropertyRequest",
                &format!("The property {f} can't be used in FindItem requests."),
                "",
            ),
        );
    }
    let items = lock(&s.items);
    // Without a CalendarView a series is its master; exceptions live inside it.
    let mut all: Vec<SimItem> =
        items.iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox) && i.master.is_none() && i.folder == "calendar").cloned().collect();
    all.sort_by_key(|i| (i.start, i.seq));
    let found = match &req.view {
        Some(View::Calendar { start, end, max }) => match calendar_view(&items, all, mailbox, start, end, *max) {
            Ok(f) => f,
            Err(refused) => return *refused,
        },
        Some(View::Indexed { offset, max }) => indexed_page(all, *offset, *max),
        None => {
            let n = all.len();
            Found { page: all.into_iter().take(1000).collect(), total: n, includes_last: n <= 1000, offset: None }
        }
    };
    let rows: String = found.page.iter().map(|i| item_xml(i, &req.shape, true)).collect();
    let paging = found.offset.map(|o| format!(" IndexedPagingOffset=\"{o}\"")).unwrap_or_default();
    xml_response(
        StatusCode::OK,
        message(
            "FindItem",
            "Success",
            "NoError",
            "",
            &format!(
                "<m:RootFolder TotalItemsInView=\"{}\" IncludesLastItemInRange=\"{}\"{paging}><t:Items>{rows}</t:Items></m:RootFolder>",
                found.total, found.includes_last
            ),
        ),
    )
}

/// A page FindItem answers: its items, how many the view holds, whether the page reaches the
/// view's end, and the next offset (for an IndexedPageItemView).
struct Found {
    page: Vec<SimItem>,
    total: usize,
    includes_last: bool,
    offset: Option<usize>,
}

fn parse_time(t: &Option<String>) -> Option<OffsetDateTime> {
    t.as_deref().and_then(|v| OffsetDateTime::parse(v, &time::format_description::well_known::Rfc3339).ok())
}

/// A CalendarView: each series expanded into its occurrences (exceptions as changed), those
/// overlapping the range, at most `max` (and 1000); at most two years.
fn calendar_view(
    items: &[SimItem],
    all: Vec<SimItem>,
    mailbox: &str,
    start: &Option<String>,
    end: &Option<String>,
    max: Option<usize>,
) -> Result<Found, Box<Response>> {
    let (Some(from), Some(to)) = (parse_time(start), parse_time(end)) else {
        return Err(Box::new(fault(
            "ErrorSchemaValidation",
            "The request failed schema validation: CalendarView needs StartDate and EndDate.",
            None,
        )));
    };
    if to - from > time::Duration::days(731) {
        return Err(Box::new(xml_response(
            StatusCode::OK,
            message("FindItem", "Error", "ErrorCalendarViewRangeTooBig", "The calendar view range exceeds the maximum of two years.", ""),
        )));
    }
    let mut hits: Vec<SimItem> = Vec::new();
    for i in all {
        match &i.recurrence {
            Some(r) => hits.extend(
                r.expand(i.start, i.end, Some(to), usize::MAX)
                    .into_iter()
                    .filter_map(|(n, _, _)| lookup(items, &occurrence_id(&i.id, n), mailbox))
                    .filter(|o| o.end > from && o.start < to),
            ),
            None if i.end > from && i.start < to => hits.push(i),
            None => {}
        }
    }
    hits.sort_by_key(|i| (i.start, i.seq));
    let n = hits.len();
    let cut = max.unwrap_or(1000).min(1000);
    Ok(Found { page: hits.into_iter().take(cut).collect(), total: n, includes_last: n <= cut, offset: None })
}

/// An IndexedPageItemView: `max` (at most 1000) items from `offset`.
fn indexed_page(all: Vec<SimItem>, offset: usize, max: Option<usize>) -> Found {
    let n = all.len();
    let page: Vec<SimItem> = all.into_iter().skip(offset).take(max.unwrap_or(1000).min(1000)).collect();
    let next = offset + page.len();
    Found { page, total: n, includes_last: next >= n, offset: Some(next) }
}

/// GetFolder of distinguished folders (calendar, inbox, root, msgfolderroot).
pub(super) fn get_folder(s: &Shared, mailbox: &str, req: &Req) -> Response {
    if mailbox.is_empty() {
        return no_mailbox("GetFolder");
    }
    let count = lock(&s.items).iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox) && i.folder == "calendar").count();
    let id = |name: &str| folder_id(mailbox, name);
    let mut folders = String::new();
    for f in &req.folders {
        let (element, name, total) = match f.as_str() {
            "calendar" => ("CalendarFolder", "Calendar", count),
            "inbox" => ("Folder", "Inbox", 0),
            "deleteditems" => ("Folder", "Deleted Items", 0),
            "root" | "msgfolderroot" => ("Folder", "Top of Information Store", 0),
            other => {
                return xml_response(
                    StatusCode::OK,
                    message(
                        "GetFolder",
                        "Error",
                        "ErrorFolderNotFound",
                        &format!("The specified folder could not be found in the store: {other}."),
                        "<m:Folders/>",
                    ),
                )
            }
        };
        folders.push_str(&format!(
            "<t:{element}><t:FolderId Id=\"{}\" ChangeKey=\"AQAAAA==\"/><t:DisplayName>{name}</t:DisplayName><t:TotalCount>{total}</t:TotalCount><t:ChildFolderCount>0</t:ChildFolderCount></t:{element}>",
            id(f)
        ));
    }
    if folders.is_empty() {
        return fault("ErrorSchemaValidation", "The request failed schema validation: FolderIds is required.", None);
    }
    xml_response(StatusCode::OK, message("GetFolder", "Success", "NoError", "", &format!("<m:Folders>{folders}</m:Folders>")))
}
