//! The XML plumbing under EWS's reader: a walk over a SOAP document by local names (clients
//! and servers use different prefixes: `s:`/`soap:`, `m:`, `t:` or default namespaces), and
//! the escaping of what the requests carry (quick-xml's).

use quick_xml::events::Event;
use quick_xml::Reader;

/// `s` escaped for XML text or a quoted attribute (`&`, `<`, `>`, `"` and `'`).
pub fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

pub(crate) fn local(name: &[u8]) -> &[u8] {
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

pub(crate) fn under(path: &[String], name: &str) -> bool {
    path.iter().any(|p| p == name)
}
