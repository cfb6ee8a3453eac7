//! The incident pages, one file per view: the list (`/incidents`), one space
//! (`/incidents/{space}`) with its incident panel, responders and directory, and one incident
//! (`/incidents/history?id=…`). Each server function sits beside the view that uses it.

mod directory;
mod history;
mod list;
mod panel;
mod responders;
mod space;

pub use history::IncidentHistoryPage;
pub use list::IncidentsPage;
pub use space::{LegacySpaceRedirect, SpacePageView};

use switchboard::model::display_time;

fn when(t: &Option<time::OffsetDateTime>) -> String {
    t.as_ref().map(display_time).unwrap_or_else(|| "—".into())
}

/// The address of a space's page. Webex room ids are base64 and may hold `/` and `+`, so the
/// id is percent-encoded into one path segment (the router decodes the parameter): everything
/// but the URL-safe letters, digits and `-_.~` is encoded.
pub fn space_href(room_id: &str) -> String {
    format!("/incidents/{}", switchboard::url::path_segment(room_id))
}

#[cfg(test)]
mod tests {
    use super::space_href;

    #[test]
    fn a_space_address_is_one_path_segment_whatever_the_room_id_holds() {
        assert_eq!(space_href("Y2lz/a+b=c"), "/incidents/Y2lz%2Fa%2Bb%3Dc");
        assert_eq!(space_href("A-z_0.9~"), "/incidents/A-z_0.9~");
        assert_eq!(space_href("é ?"), "/incidents/%C3%A9%20%3F");
    }
}
