//! The XML plumbing under EWS's reader: a walk over a SOAP document that names each element by
//! its namespace and local name (quick-xml's `NsReader`), so any prefix style works — `s:`/`soap:`,
//! `m:`, `t:` or default namespaces — while an element of another namespace never passes for an
//! EWS one (a crafted `<x:Body>` cannot stand in for the item's body); and the escaping of what
//! the requests carry (quick-xml's).

/// The namespaces of EWS's SOAP documents, as requests write them and answers are read by.
pub const NS_SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
pub const NS_M: &str = "http://schemas.microsoft.com/exchange/services/2006/messages";
pub const NS_T: &str = "http://schemas.microsoft.com/exchange/services/2006/types";

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

/// Exchange's error namespace (SOAP fault details).
const NS_ERRORS: &str = "http://schemas.microsoft.com/exchange/services/2006/errors";

/// `s` escaped for XML text or a quoted attribute (`&`, `<`, `>`, `"` and `'`).
pub fn esc(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// The namespace an element is in, as far as EWS's answers go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// SOAP 1.1 envelope.
    Soap,
    /// EWS messages (`m:`).
    M,
    /// EWS types (`t:`).
    T,
    /// EWS errors (SOAP fault details).
    E,
    /// No namespace (a SOAP fault's `faultcode`, `faultstring`, `detail`).
    None,
    /// Anything else: never read as EWS.
    Other,
}

fn ns_of(r: &ResolveResult) -> Ns {
    match r {
        ResolveResult::Unbound => Ns::None,
        ResolveResult::Bound(n) => match n.as_ref() {
            x if x == NS_SOAP.as_bytes() => Ns::Soap,
            x if x == NS_M.as_bytes() => Ns::M,
            x if x == NS_T.as_bytes() => Ns::T,
            x if x == NS_ERRORS.as_bytes() => Ns::E,
            _ => Ns::Other,
        },
        ResolveResult::Unknown(_) => Ns::Other,
    }
}

/// One element of a path: its namespace and local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct El {
    pub ns: Ns,
    pub local: String,
}

impl El {
    pub fn is(&self, ns: Ns, local: &str) -> bool {
        self.ns == ns && self.local == local
    }
}

pub(crate) fn local(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|b| *b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// An unqualified attribute (EWS's attributes carry no prefix).
pub(crate) fn attr(e: &quick_xml::events::BytesStart, key: &[u8]) -> Option<String> {
    e.attributes().flatten().find(|a| a.key.as_ref() == key).and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

pub(crate) enum Ev<'a> {
    Start(&'a [El], &'a quick_xml::events::BytesStart<'a>),
    /// The whole text of an element, delivered at its end (entities resolved).
    Text(&'a [El], &'a str),
}

/// Walks a document, calling `f` with each element start (the path of namespaced names) and
/// each element's complete text.
pub(crate) fn walk(xml: &str, mut f: impl FnMut(Ev)) -> Result<(), String> {
    let mut r = NsReader::from_str(xml);
    let mut path: Vec<El> = Vec::new();
    let mut texts: Vec<String> = Vec::new();
    loop {
        let (ns, ev) = r.read_resolved_event().map_err(|e| e.to_string())?;
        let ns = ns_of(&ns);
        match ev {
            Event::Start(e) => {
                path.push(El { ns, local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned() });
                texts.push(String::new());
                f(Ev::Start(&path, &e));
            }
            Event::Empty(e) => {
                path.push(El { ns, local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned() });
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

/// The innermost element, if it is `ns:local`.
pub(crate) fn at(path: &[El], ns: Ns, local: &str) -> bool {
    path.last().is_some_and(|e| e.is(ns, local))
}

/// The innermost element's local name when it is an EWS element (messages, types or errors)
/// inside the SOAP Body; "" otherwise.
pub(crate) fn last(path: &[El]) -> &str {
    match path.last() {
        Some(e) if matches!(e.ns, Ns::M | Ns::T | Ns::E) && in_soap_body(path) => &e.local,
        _ => "",
    }
}

/// Whether the path runs through `ns:local`.
pub(crate) fn under(path: &[El], ns: Ns, local: &str) -> bool {
    path.iter().any(|e| e.is(ns, local))
}

/// Inside `soap:Envelope/soap:Body`.
pub(crate) fn in_soap_body(path: &[El]) -> bool {
    path.len() > 2 && path[0].is(Ns::Soap, "Envelope") && path[1].is(Ns::Soap, "Body")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_are_named_by_namespace_whatever_the_prefix_and_strangers_are_not_ews() {
        let xml = format!(
            "<soap:Envelope xmlns:soap=\"{NS_SOAP}\"><soap:Body><GetItemResponse xmlns=\"{NS_M}\"><x:Body xmlns:x=\"urn:evil\">no</x:Body>\
             <Items><CalendarItem xmlns=\"{NS_T}\"><Body>yes</Body></CalendarItem></Items></GetItemResponse></soap:Body></soap:Envelope>"
        );
        let mut texts = Vec::new();
        walk(&xml, |ev| {
            if let Ev::Text(path, t) = ev {
                texts.push((last(path).to_string(), at(path, Ns::T, "Body"), t.to_string()));
            }
        })
        .unwrap();
        assert_eq!(texts, vec![("".to_string(), false, "no".to_string()), ("Body".to_string(), true, "yes".to_string())]);
        // An EWS element outside a SOAP Body is not read either.
        let mut n = 0;
        walk(&format!("<t:Body xmlns:t=\"{NS_T}\">x</t:Body>"), |ev| {
            if let Ev::Text(path, _) = ev {
                n += usize::from(!last(path).is_empty());
            }
        })
        .unwrap();
        assert_eq!(n, 0);
    }
}
