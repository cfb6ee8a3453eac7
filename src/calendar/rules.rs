//! What Switchboard does to one meeting, decided without any I/O: the keyword in the Location
//! (case-insensitive), an organiser who is a synced CMS user with a personal space, a meeting
//! not in the past, a series handled once on its master. Whether a meeting already has the
//! current details is decided by the marker property written with them (a hash of their
//! content), never by the body: Exchange's HTML sanitiser may strip comments, and a decision
//! taken from the body would then write the details again on every change, for ever. In the
//! body the block is a `<div class="switchboard-cms-join">` between two HTML comments; either
//! one finds it again, so it is kept when the organiser edits the meeting, replaced when the
//! space's details change, and removed when the keyword goes (if configured). A plain-text body
//! becomes HTML first (escaped), so the markup never shows as text.

pub use super::model::{Body, BodyKind};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Why an up-to-date meeting is left: the usual answer to our own write coming back as a change.
pub const UP_TO_DATE: &str = "join details already there";

pub const BLOCK_START: &str = "<!-- switchboard:cms-join";
pub const BLOCK_END: &str = "<!-- /switchboard:cms-join -->";
/// The class of the `<div>` around the block: found again when the comments were stripped.
pub const BLOCK_CLASS: &str = "switchboard-cms-join";

/// What the rules need to know of a meeting.
#[derive(Debug, Clone)]
pub struct MeetingFacts {
    pub location: String,
    pub body: Body,
    /// When it is over: for a series, its last occurrence's end; `None` when it has no end (or
    /// none can be told), so it is never "in the past".
    pub end: Option<OffsetDateTime>,
    /// An occurrence or exception of a series (handled on the master only).
    pub is_occurrence: bool,
    /// The mailbox is an attendee's copy, not the organiser's.
    pub attendee_copy: bool,
    /// The marker property as read back from Exchange (`h=<hash>` of the details written,
    /// `removed` after they were taken out), if the item has one.
    pub marker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Write this HTML body (block inserted, replaced or removed).
    Write { body: String, what: Change },
    /// Nothing to do, and why (for the page's log).
    Leave(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Inserted,
    Replaced,
    Removed,
}

/// Whether `location` carries `keyword` (case-insensitive, anywhere).
pub fn has_keyword(location: &str, keyword: &str) -> bool {
    !keyword.is_empty() && location.to_lowercase().contains(&keyword.to_lowercase())
}

/// The block as it is written: the rendered template in its `<div>`, between the comments (the
/// start one with a hash of the content).
pub fn block(rendered_html: &str) -> String {
    format!("{BLOCK_START} h={} --><div class=\"{BLOCK_CLASS}\">{rendered_html}</div>{BLOCK_END}", content_hash(rendered_html))
}

/// The value of the item's marker property for a block: its content hash.
pub fn marker(rendered_html: &str) -> String {
    format!("h={}", content_hash(rendered_html))
}

fn content_hash(s: &str) -> String {
    Sha256::digest(s.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The block already in a body, as a byte range: between its comments, or (when Exchange
/// stripped them) its `<div>`.
fn find_block(html: &str) -> Option<(usize, usize)> {
    let by_comments = html.find(BLOCK_START).and_then(|start| html[start..].find(BLOCK_END).map(|e| (start, start + e + BLOCK_END.len())));
    by_comments.or_else(|| find_wrapper(html))
}

/// The `<div>` whose class is [`BLOCK_CLASS`], to its matching `</div>`.
fn find_wrapper(html: &str) -> Option<(usize, usize)> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(BLOCK_CLASS).map(|i| from + i) {
        if let Some(tag) = lower[..i].rfind('<').filter(|t| lower[*t..].starts_with("<div") && !lower[*t..i].contains('>')) {
            return matching_div_end(&lower, tag).map(|end| (tag, end));
        }
        from = i + BLOCK_CLASS.len();
    }
    None
}

/// Where the `<div>` opening at `start` ends (after its `</div>`), counting nested ones.
fn matching_div_end(lower: &str, start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut pos = start;
    loop {
        let open = lower[pos..].find("<div").map(|i| pos + i);
        let close = lower[pos..].find("</div").map(|i| pos + i)?;
        match open {
            Some(o) if o < close => {
                depth += 1;
                pos = o + 4;
            }
            _ => {
                let end = close + lower[close..].find('>')? + 1;
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(end);
                }
                pos = end;
            }
        }
    }
}

/// Plain text as HTML: escaped, line breaks kept.
pub fn text_to_html(text: &str) -> String {
    let esc = html_escape::encode_text(text);
    format!("<html><body>{}</body></html>", esc.replace("\r\n", "\n").replace('\n', "<br>\n"))
}

fn as_html(b: &Body) -> String {
    match b.kind {
        BodyKind::Html => b.content.clone(),
        BodyKind::Text => text_to_html(&b.content),
    }
}

/// Puts `block` into `html`: replacing the block there, else before `</body>`, else at the end.
pub fn with_block(html: &str, block: &str) -> String {
    if let Some((s, e)) = find_block(html) {
        return format!("{}{block}{}", &html[..s], &html[e..]);
    }
    match html.to_ascii_lowercase().rfind("</body>") {
        Some(i) => format!("{}<br>{block}{}", &html[..i], &html[i..]),
        None => format!("{html}<br>{block}"),
    }
}

/// `html` without the block (and the `<br>` put before it).
pub fn without_block(html: &str) -> String {
    match find_block(html) {
        Some((s, e)) => {
            let before = html[..s].strip_suffix("<br>").unwrap_or(&html[..s]);
            format!("{before}{}", &html[e..])
        }
        None => html.to_string(),
    }
}

/// Decides what to do with a meeting. `rendered`: the join details for its organiser, already
/// rendered from the template (`None` when the organiser has no personal space).
pub fn decide(m: &MeetingFacts, keyword: &str, rendered: Option<&str>, remove_when_keyword_gone: bool, now: OffsetDateTime) -> Action {
    if m.attendee_copy {
        return Action::Leave("an attendee's copy");
    }
    if m.is_occurrence {
        return Action::Leave("an occurrence of a series (the master is handled)");
    }
    let html = as_html(&m.body);
    let existing = find_block(&html);
    if !has_keyword(&m.location, keyword) {
        return match existing {
            Some(_) if remove_when_keyword_gone => Action::Write { body: without_block(&html), what: Change::Removed },
            _ => Action::Leave("no keyword in the location"),
        };
    }
    if m.end.is_some_and(|end| end < now) {
        return Action::Leave("the meeting is over");
    }
    let Some(rendered) = rendered else {
        return Action::Leave("the organiser has no CMS personal space");
    };
    // Decided by the property Exchange keeps as written, whatever became of the body's markup.
    if m.marker.as_deref() == Some(marker(rendered).as_str()) {
        return Action::Leave(UP_TO_DATE);
    }
    match existing {
        Some(_) => Action::Write { body: with_block(&html, &block(rendered)), what: Change::Replaced },
        None => Action::Write { body: with_block(&html, &block(rendered)), what: Change::Inserted },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meeting(location: &str, body: &str, html: bool) -> MeetingFacts {
        MeetingFacts {
            location: location.into(),
            body: Body { kind: if html { BodyKind::Html } else { BodyKind::Text }, content: body.into() },
            end: Some(OffsetDateTime::now_utc() + time::Duration::hours(1)),
            is_occurrence: false,
            attendee_copy: false,
            marker: None,
        }
    }

    /// As Exchange answers after our write: the body and the marker property written with it.
    fn written(location: &str, body: &str, rendered: &str) -> MeetingFacts {
        MeetingFacts { marker: Some(marker(rendered)), ..meeting(location, body, true) }
    }

    fn strip_comments(html: &str) -> String {
        let mut out = html.to_string();
        while let Some(s) = out.find("<!--") {
            let Some(e) = out[s..].find("-->") else { break };
            out.replace_range(s..s + e + 3, "");
        }
        out
    }

    fn write(a: Action) -> (String, Change) {
        match a {
            Action::Write { body, what } => (body, what),
            Action::Leave(why) => panic!("left alone: {why}"),
        }
    }

    #[test]
    fn the_block_goes_in_once_stays_on_edits_is_replaced_when_details_change_and_leaves_with_the_keyword() {
        let now = OffsetDateTime::now_utc();
        let m = meeting("Room 4 @CMS", "<html><body><p>Agenda</p></body></html>", true);
        let (b1, what) = write(decide(&m, "@cms", Some("<p>Join: sip:ann.space@example.com</p>"), true, now));
        assert_eq!(what, Change::Inserted);
        assert!(b1.contains("<p>Agenda</p>") && b1.contains("ann.space@example.com"));
        assert!(b1.find("ann.space").unwrap() < b1.find("</body>").unwrap(), "inside the body");
        // The organiser edits the agenda: the block is kept as it is.
        let edited = written("Room 4 @cms", &b1.replace("Agenda", "New agenda"), "<p>Join: sip:ann.space@example.com</p>");
        assert_eq!(decide(&edited, "@cms", Some("<p>Join: sip:ann.space@example.com</p>"), true, now), Action::Leave(UP_TO_DATE));
        // The space's details changed: replaced, not added a second time.
        let (b2, what) = write(decide(&edited, "@cms", Some("<p>Join: sip:ann.new@example.com</p>"), true, now));
        assert_eq!(what, Change::Replaced);
        assert_eq!(b2.matches(BLOCK_START).count(), 1);
        assert!(b2.contains("ann.new") && !b2.contains("ann.space") && b2.contains("New agenda"));
        // The keyword goes: the block goes, the organiser's text stays.
        let gone = written("Room 4", &b2, "<p>Join: sip:ann.new@example.com</p>");
        let (b3, what) = write(decide(&gone, "@cms", Some("x"), true, now));
        assert_eq!(what, Change::Removed);
        assert_eq!(b3, "<html><body><p>New agenda</p></body></html>");
        assert_eq!(decide(&gone, "@cms", Some("x"), false, now), Action::Leave("no keyword in the location"), "removal is configurable");
    }

    #[test]
    fn already_processed_is_decided_by_the_marker_property_even_when_exchange_strips_the_comments() {
        let now = OffsetDateTime::now_utc();
        let (join, new_join) = ("<div><p>Join: sip:ann.space@example.com</p></div>", "<p>Join: sip:ann.new@example.com</p>");
        let (b1, _) = write(decide(&meeting("@cms", "<html><body><p>Agenda</p></body></html>", true), "@cms", Some(join), true, now));
        // Exchange's sanitiser drops the comments: the property still says it is done (no
        // second write, no update loop).
        let stripped = strip_comments(&b1);
        assert!(!stripped.contains("<!--") && stripped.contains(BLOCK_CLASS));
        assert_eq!(decide(&written("@cms", &stripped, join), "@cms", Some(join), true, now), Action::Leave(UP_TO_DATE));
        // The same body without the property (a copy, or never ours): written, replacing the block.
        let (again, what) = write(decide(&meeting("@cms", &stripped, true), "@cms", Some(join), true, now));
        assert_eq!((what, again.matches(BLOCK_CLASS).count()), (Change::Replaced, 1));
        // New details: the old block is found by its div (nested divs and all) and replaced once.
        let (b2, what) = write(decide(&written("@cms", &stripped, join), "@cms", Some(new_join), true, now));
        assert_eq!(what, Change::Replaced);
        assert!(b2.contains("ann.new") && !b2.contains("ann.space") && b2.contains("<p>Agenda</p>"), "{b2}");
        assert_eq!(b2.matches(BLOCK_CLASS).count(), 1);
        // The keyword goes: the block goes, found by its div alone.
        let (b3, what) = write(decide(&written("Room", &strip_comments(&b2), new_join), "@cms", None, true, now));
        assert_eq!((what, b3.as_str()), (Change::Removed, "<html><body><p>Agenda</p></body></html>"));
    }

    #[test]
    fn a_plain_text_body_becomes_escaped_html_with_the_block() {
        let m = meeting("@cms", "Agenda:\n1. <budget> & plans", false);
        let (b, _) = write(decide(&m, "@cms", Some("<b>join</b>"), true, OffsetDateTime::now_utc()));
        assert!(b.starts_with("<html><body>Agenda:<br>\n1. &lt;budget&gt; &amp; plans"), "{b}");
        assert!(b.contains("<b>join</b>"));
    }

    #[test]
    fn meetings_that_are_not_ours_to_touch_are_left_alone_with_the_reason() {
        let now = OffsetDateTime::now_utc();
        let mut m = meeting("@cms", "", true);
        assert_eq!(decide(&m, "@cms", None, true, now), Action::Leave("the organiser has no CMS personal space"));
        m.attendee_copy = true;
        assert_eq!(decide(&m, "@cms", Some("x"), true, now), Action::Leave("an attendee's copy"));
        let mut m = meeting("@cms", "", true);
        m.is_occurrence = true;
        assert!(matches!(decide(&m, "@cms", Some("x"), true, now), Action::Leave(_)));
        let mut m = meeting("@cms", "", true);
        m.end = Some(now - time::Duration::minutes(1));
        assert_eq!(decide(&m, "@cms", Some("x"), true, now), Action::Leave("the meeting is over"));
        m.end = None;
        assert!(matches!(decide(&m, "@cms", Some("x"), true, now), Action::Write { .. }), "a series without an end is never over");
        assert!(!has_keyword("Room 4", "@cms") && has_keyword("at @Cms please", "@cms") && !has_keyword("x", ""));
    }
}
