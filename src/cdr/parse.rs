//! Parses a CDR POST body: `<records session callBridge>` with one or more `<record>`s. Every
//! record is kept whatever its type or fields (unknown ones included, as raw XML), and the
//! fields Switchboard acts on are lifted out.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordType {
    CallStart,
    CallEnd,
    CallLegStart,
    CallLegUpdate,
    CallLegEnd,
    RecordingStart,
    RecordingEnd,
    StreamingStart,
    StreamingEnd,
    /// Kept and stored, not acted on.
    Other(String),
}

impl RecordType {
    pub fn parse(s: &str) -> Self {
        match s {
            "callStart" => Self::CallStart,
            "callEnd" => Self::CallEnd,
            "callLegStart" => Self::CallLegStart,
            "callLegUpdate" => Self::CallLegUpdate,
            "callLegEnd" => Self::CallLegEnd,
            "recordingStart" => Self::RecordingStart,
            "recordingEnd" => Self::RecordingEnd,
            "streamingStart" => Self::StreamingStart,
            "streamingEnd" => Self::StreamingEnd,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::CallStart => "callStart",
            Self::CallEnd => "callEnd",
            Self::CallLegStart => "callLegStart",
            Self::CallLegUpdate => "callLegUpdate",
            Self::CallLegEnd => "callLegEnd",
            Self::RecordingStart => "recordingStart",
            Self::RecordingEnd => "recordingEnd",
            Self::StreamingStart => "streamingStart",
            Self::StreamingEnd => "streamingEnd",
            Self::Other(s) => s,
        }
    }
}

/// One `<record>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub kind: RecordType,
    pub time: String,
    pub record_index: u64,
    pub correlator_index: Option<u64>,
    /// CMS lost this many records before this one (its buffer overflowed).
    pub missing_before: u64,
    /// `call`, `callLeg`, `recording` … (the child element), and its `id`.
    pub object: String,
    pub id: String,
    /// Direct children with text, by name (`displayName`, `call`, `deactivated` …). Empty
    /// elements are present with "" (so `<ivr/>` shows up as `ivr`).
    pub fields: BTreeMap<String, String>,
    /// The record exactly as received, for storage.
    pub raw: String,
}

impl Record {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str)
    }
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.field(name).map(|v| matches!(v.trim(), "true" | "1"))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub session: String,
    pub call_bridge: Option<String>,
    pub records: Vec<Record>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("the document is not <records>: found <{0}>")]
    NotRecords(String),
    #[error("<records> has no session attribute")]
    NoSession,
    #[error("a <record> lacks {0}")]
    RecordAttr(&'static str),
    #[error("the body is empty")]
    Empty,
}

fn attr(e: &BytesStart, name: &[u8]) -> Result<Option<String>, ParseError> {
    for a in e.attributes() {
        let a = a.map_err(|e| ParseError::Xml(e.to_string()))?;
        if a.key.local_name().as_ref() == name {
            let v = a.unescape_value().map_err(|e| ParseError::Xml(e.to_string()))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

/// Parses one POST body. Several `<records>` documents in one body (CMS calls it "a series of
/// XML documents") are merged when they share a session.
pub fn parse_batch(body: &str) -> Result<Batch, ParseError> {
    if body.trim().is_empty() {
        return Err(ParseError::Empty);
    }
    let mut reader = Reader::from_str(body);
    let mut batch: Option<Batch> = None;
    let mut depth = 0usize;
    // State while inside a <record>.
    let mut current: Option<(Record, usize)> = None; // (record, byte offset of its start)
    let mut field_name: Option<String> = None;
    let mut field_text = String::new();
    loop {
        let pos_before = reader.buffer_position() as usize;
        let ev = reader.read_event().map_err(|e| ParseError::Xml(e.to_string()))?;
        match ev {
            Event::Start(ref e) => {
                depth += 1;
                handle_open(e, depth, false, &mut batch, &mut current, &mut field_name, &mut field_text, pos_before)?;
            }
            Event::Empty(ref e) => {
                handle_open(e, depth + 1, true, &mut batch, &mut current, &mut field_name, &mut field_text, pos_before)?;
            }
            Event::Text(t) if field_name.is_some() => {
                let s = t.decode().map_err(|e| ParseError::Xml(e.to_string()))?;
                field_text.push_str(&quick_xml::escape::unescape(&s).map_err(|e| ParseError::Xml(e.to_string()))?);
            }
            Event::GeneralRef(r) if field_name.is_some() => {
                let name = r.decode().map_err(|e| ParseError::Xml(e.to_string()))?;
                let entity = format!("&{name};");
                field_text.push_str(&quick_xml::escape::unescape(&entity).map_err(|e| ParseError::Xml(e.to_string()))?);
            }
            Event::CData(t) if field_name.is_some() => {
                field_text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::End(_) => {
                if depth == 4 {
                    if let (Some(name), Some((rec, _))) = (field_name.take(), current.as_mut()) {
                        rec.fields.insert(name, std::mem::take(&mut field_text));
                    }
                }
                if depth == 2 {
                    if let Some((mut rec, start)) = current.take() {
                        let end = reader.buffer_position() as usize;
                        rec.raw = body.get(start..end).unwrap_or("").trim().to_string();
                        if let Some(b) = batch.as_mut() {
                            b.records.push(rec);
                        }
                    }
                }
                depth = depth.saturating_sub(1);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if depth != 0 {
        return Err(ParseError::Xml("the document ends inside an element".into()));
    }
    batch.ok_or(ParseError::Empty)
}

#[allow(clippy::too_many_arguments)]
fn handle_open(
    e: &BytesStart,
    depth: usize,
    empty: bool,
    batch: &mut Option<Batch>,
    current: &mut Option<(Record, usize)>,
    field_name: &mut Option<String>,
    field_text: &mut String,
    pos: usize,
) -> Result<(), ParseError> {
    let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
    match depth {
        1 => {
            if name != "records" {
                return Err(ParseError::NotRecords(name));
            }
            let session = attr(e, b"session")?.ok_or(ParseError::NoSession)?;
            let call_bridge = attr(e, b"callBridge")?;
            match batch {
                Some(b) if b.session == session => {}
                Some(_) => return Err(ParseError::Xml("one body holds records of two sessions".into())),
                None => *batch = Some(Batch { session, call_bridge, records: Vec::new() }),
            }
        }
        2 if name == "record" => {
            let kind = RecordType::parse(&attr(e, b"type")?.ok_or(ParseError::RecordAttr("type"))?);
            let record_index =
                attr(e, b"recordIndex")?.and_then(|v| v.trim().parse().ok()).ok_or(ParseError::RecordAttr("a numeric recordIndex"))?;
            let rec = Record {
                kind,
                time: attr(e, b"time")?.unwrap_or_default(),
                record_index,
                correlator_index: attr(e, b"correlatorIndex")?.and_then(|v| v.trim().parse().ok()),
                missing_before: attr(e, b"numPreceedingRecordsMissing")?.and_then(|v| v.trim().parse().ok()).unwrap_or(0),
                object: String::new(),
                id: String::new(),
                fields: BTreeMap::new(),
                raw: String::new(),
            };
            *current = Some((rec, pos));
        }
        3 => {
            if let Some((rec, _)) = current.as_mut() {
                rec.object = name;
                rec.id = attr(e, b"id")?.unwrap_or_default();
            }
        }
        4 => {
            if let Some((rec, _)) = current.as_mut() {
                if empty {
                    rec.fields.insert(name, String::new());
                } else {
                    *field_name = Some(name);
                    field_text.clear();
                }
            }
        }
        _ => {}
    }
    if empty && depth == 2 {
        // `<record .../>` with no content: keep it as it is.
        if let Some((rec, _)) = current.take() {
            if let Some(b) = batch.as_mut() {
                b.records.push(rec);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_TYPES: &str = r#"<?xml version="1.0"?>
<records session="S-1" callBridge="CB-1">
<record type="callStart" time="2024-05-01T09:00:00Z" recordIndex="1" correlatorIndex="0"><call id="C-1"><name>Board &amp; Co</name><ownerName>alice</ownerName><callType>coSpace</callType><coSpace>SP-1</coSpace><callCorrelator>K-1</callCorrelator><tenant>T</tenant></call></record>
<record type="callLegStart" time="2024-05-01T09:00:05Z" recordIndex="2" correlatorIndex="1"><callLeg id="L-1"><displayName>Guest Ann</displayName><localAddress>board@ex.com</localAddress><remoteAddress>ann@guest.example</remoteAddress><guestConnection>true</guestConnection><type>acano</type><subType>webApp</subType><direction>incoming</direction><call>C-1</call></callLeg></record>
<record type="callLegUpdate" time="2024-05-01T09:00:06Z" recordIndex="3" correlatorIndex="2"><callLeg id="L-1"><state>connected</state><call>C-1</call><deactivated>true</deactivated></callLeg></record>
<record type="callLegUpdate" time="2024-05-01T09:00:06Z" recordIndex="4" correlatorIndex="3"><callLeg id="L-2"><state>connected</state><ivr /></callLeg></record>
<record type="callLegEnd" time="2024-05-01T09:10:00Z" recordIndex="5" correlatorIndex="4"><callLeg id="L-1"><reason>remoteTeardown</reason><remoteTeardown>true</remoteTeardown><durationSeconds>594</durationSeconds><mediaUsagePercentages><mainVideoViewer>100</mainVideoViewer></mediaUsagePercentages></callLeg></record>
<record type="recordingStart" time="2024-05-01T09:01:00Z" recordIndex="6" correlatorIndex="5"><recording id="R-1"><path>/rec/1</path><call>C-1</call></recording></record>
<record type="recordingEnd" time="2024-05-01T09:02:00Z" recordIndex="7" correlatorIndex="6"><recording id="R-1"/></record>
<record type="streamingStart" time="2024-05-01T09:01:00Z" recordIndex="8" correlatorIndex="7"><streaming id="ST-1"><call>C-1</call></streaming></record>
<record type="streamingEnd" time="2024-05-01T09:02:00Z" recordIndex="9" correlatorIndex="8"><streaming id="ST-1"/></record>
<record type="callEnd" time="2024-05-01T09:11:00Z" recordIndex="10" correlatorIndex="9" numPreceedingRecordsMissing="3"><call id="C-1"><callLegsCompleted>1</callLegsCompleted><durationSeconds>660</durationSeconds></call></record>
<record type="futureThing" time="2024-05-01T09:12:00Z" recordIndex="11"><widget id="W-1"><colour>blue</colour></widget></record>
</records>"#;

    #[test]
    fn every_record_type_is_parsed_with_its_fields() {
        let b = parse_batch(ALL_TYPES).unwrap();
        assert_eq!(b.session, "S-1");
        assert_eq!(b.call_bridge.as_deref(), Some("CB-1"));
        assert_eq!(b.records.len(), 11);
        let kinds: Vec<&str> = b.records.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "callStart",
                "callLegStart",
                "callLegUpdate",
                "callLegUpdate",
                "callLegEnd",
                "recordingStart",
                "recordingEnd",
                "streamingStart",
                "streamingEnd",
                "callEnd",
                "futureThing"
            ]
        );
        let start = &b.records[0];
        assert_eq!((start.object.as_str(), start.id.as_str()), ("call", "C-1"));
        assert_eq!(start.field("name"), Some("Board & Co"));
        assert_eq!(start.field("callCorrelator"), Some("K-1"));
        let leg = &b.records[1];
        assert_eq!(leg.field("subType"), Some("webApp"));
        assert_eq!(leg.flag("guestConnection"), Some(true));
        assert_eq!(b.records[2].flag("deactivated"), Some(true));
        assert_eq!(b.records[3].field("ivr"), Some(""), "an empty <ivr/> marks a leg in the IVR");
        assert_eq!(b.records[4].field("durationSeconds"), Some("594"));
        assert_eq!(b.records[5].field("path"), Some("/rec/1"));
        assert_eq!(b.records[9].missing_before, 3);
        assert_eq!(b.records[10].kind, RecordType::Other("futureThing".into()));
        assert_eq!(b.records[10].correlator_index, None);
        assert!(b.records[10].raw.starts_with("<record type=\"futureThing\"") && b.records[10].raw.ends_with("</record>"));
    }

    #[test]
    fn a_single_record_batch_and_a_batch_without_call_bridge_parse() {
        let b = parse_batch(
            r#"<records session="S"><record type="callEnd" time="t" recordIndex="9" correlatorIndex="3"><call id="C"/></record></records>"#,
        )
        .unwrap();
        assert_eq!(b.call_bridge, None);
        assert_eq!(b.records.len(), 1);
        assert_eq!(b.records[0].id, "C");
    }

    #[test]
    fn broken_documents_are_errors_with_a_reason() {
        assert!(matches!(parse_batch(""), Err(ParseError::Empty)));
        assert!(matches!(parse_batch("<records session=\"S\"><record type=\"callStart\" recordIndex=\"1\">"), Err(ParseError::Xml(_))));
        assert!(matches!(parse_batch("<calls/>"), Err(ParseError::NotRecords(n)) if n == "calls"));
        assert!(matches!(parse_batch("<records><record/></records>"), Err(ParseError::NoSession)));
        assert!(matches!(
            parse_batch("<records session=\"S\"><record type=\"callStart\" recordIndex=\"x\"/></records>"),
            Err(ParseError::RecordAttr(_))
        ));
        assert!(matches!(parse_batch("<records session=\"S\"><record type=\"a\" recordIndex=\"1\"></records>"), Err(ParseError::Xml(_))));
    }
}
