//! The simulator's own XML plumbing, apart from the client it imitates: Exchange's namespaces and
//! the marker property's name, a reader that walks a request by local names (so any prefix style
//! works), and text escaping and times as Exchange writes them.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use time::OffsetDateTime;

pub(super) const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub(super) const NS_M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub(super) const NS_T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";
/// The named extended property Switchboard marks the items it wrote with.
pub(super) const MARKER_PROPERTY: &str = "SwitchboardCmsJoin";

/// Element text, escaped for XML.
pub(super) fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// RFC 3339, as Exchange writes `Start`, `End` and time stamps.
pub(super) fn t3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An attribute's value by its local name.
pub(super) fn attr(e: &BytesStart, key: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| local(a.key.as_ref()) == key).and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

pub(super) enum Ev<'a> {
    Start(&'a [String], &'a BytesStart<'a>),
    /// The whole text of an element, delivered at its end (entities resolved).
    Text(&'a [String], &'a str),
}

/// Walks a document, calling `f` with each element start (path of local names) and each
/// element's complete text.
pub(super) fn walk(xml: &str, mut f: impl FnMut(Ev)) -> Result<(), String> {
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
                let s = quick_xml::escape::unescape(&format!("&{name};")).map_err(|e| e.to_string())?.into_owned();
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

/// The innermost element's local name.
pub(super) fn last(path: &[String]) -> &str {
    path.last().map(String::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_by_local_name_with_entities_resolved() {
        let xml = "<s:Envelope xmlns:s=\"x\"><s:Body><m:GetItem><t:ItemId t:Id=\"A&amp;1\"/><Subject>a &lt;b&gt; &amp; c<![CDATA[<d>]]></Subject></m:GetItem></s:Body></s:Envelope>";
        let (mut starts, mut texts) = (Vec::new(), Vec::new());
        walk(xml, |ev| match ev {
            Ev::Start(path, e) => starts.push((path.join("/"), attr(e, b"Id"))),
            Ev::Text(path, t) => texts.push((last(path).to_string(), t.to_string())),
        })
        .unwrap();
        assert_eq!(starts[3], ("Envelope/Body/GetItem/ItemId".to_string(), Some("A&1".to_string())));
        assert_eq!(texts, vec![("Subject".to_string(), "a <b> & c<d>".to_string())]);
        assert!(walk("<a><b></a>", |_| {}).is_err(), "malformed XML is refused");
    }

    #[test]
    fn escaped_text_reads_back_unchanged() {
        let text = "Tom & Jerry's <meeting> \"now\"";
        let xml = format!("<Subject>{}</Subject>", esc(text));
        let mut got = String::new();
        walk(&xml, |ev| {
            if let Ev::Text(_, t) = ev {
                got = t.to_string();
            }
        })
        .unwrap();
        assert_eq!(got, text);
    }
}
