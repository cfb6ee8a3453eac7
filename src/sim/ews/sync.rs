//! SyncFolderItems: a mailbox's calendar changes since a SyncState, at most `page_max` a page.
//! SyncStates name the simulator run, so one from another run is refused as Exchange would.

use super::model::SimItem;
use super::reply::{message, xml_response};
use super::request::Req;
use super::Shared;
use crate::sync::lock;
use axum::http::StatusCode;
use axum::response::Response;

/// SyncFolderItems from the request's SyncState (none: from the beginning).
pub(super) fn sync_folder_items(s: &Shared, mailbox: &str, req: &Req) -> Response {
    match req.sync_state.as_deref().map(|st| st.split_once(':').filter(|(i, _)| *i == s.instance).map(|(_, n)| n.parse::<u64>().ok())) {
        Some(None) | Some(Some(None)) => xml_response(
            StatusCode::OK,
            message(
                "SyncFolderItems",
                "Error",
                "ErrorInvalidSyncStateData",
                "Synchronization state data is corrupt or otherwise invalid.",
                "",
            ),
        ),
        Some(Some(Some(n))) => sync(s, mailbox, n),
        None => sync(s, mailbox, 0),
    }
}

fn sync(s: &Shared, mailbox: &str, since: u64) -> Response {
    let items = lock(&s.items);
    // A series syncs as its master: exceptions live inside it, occurrences are not items.
    let mut changed: Vec<&SimItem> =
        items.iter().filter(|i| i.mailbox.eq_ignore_ascii_case(mailbox) && i.seq > since && i.master.is_none()).collect();
    changed.sort_by_key(|i| i.seq);
    let page: Vec<&SimItem> = changed.iter().take(s.cfg.page_max).copied().collect();
    let last = page.last().map(|i| i.seq).unwrap_or(since);
    let includes_last = page.len() == changed.len();
    let changes: String = page
        .iter()
        .map(|i| {
            // Moved out (deleted in Outlook): gone from the calendar, as a Delete of its old id.
            if let Some(old) = i.folder.ne("calendar").then_some(i.moved_from.as_deref()).flatten() {
                return format!("<t:Delete><t:ItemId Id=\"{old}\"/></t:Delete>");
            }
            let kind = if i.seq > since && since == 0 { "Create" } else { "Update" };
            format!("<t:{kind}><t:CalendarItem><t:ItemId Id=\"{}\" ChangeKey=\"{}\"/></t:CalendarItem></t:{kind}>", i.id, i.change_key)
        })
        .collect();
    xml_response(
        StatusCode::OK,
        message(
            "SyncFolderItems",
            "Success",
            "NoError",
            "",
            &format!("<m:SyncState>{}:{last}</m:SyncState><m:IncludesLastItemInRange>{includes_last}</m:IncludesLastItemInRange><m:Changes>{changes}</m:Changes>", s.instance),
        ),
    )
}
