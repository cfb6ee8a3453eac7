//! Parsing CMS answers: collections are `<things total="N"><thing id=".."/>…</things>`, whatever
//! the element names; a single child is still a list (the xmltodict trap the old scripts hit).

use serde::de::DeserializeOwned;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct CollectionXml<T> {
    #[serde(rename = "@total", default)]
    total: Option<u64>,
    #[serde(rename = "$value", default = "Vec::new")]
    items: Vec<T>,
}

/// One page of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub total: u64,
    pub items: Vec<T>,
}

pub fn parse_collection<T: DeserializeOwned>(xml: &str) -> Result<Page<T>, String> {
    let c: CollectionXml<T> = quick_xml::de::from_str(xml).map_err(|e| e.to_string())?;
    let total = c.total.unwrap_or(c.items.len() as u64);
    Ok(Page { total, items: c.items })
}

pub fn parse_object<T: DeserializeOwned>(xml: &str) -> Result<T, String> {
    quick_xml::de::from_str(xml).map_err(|e| e.to_string())
}

/// CMS's reason for refusing a request: the child element names of `<failureDetails>`,
/// e.g. `<failureDetails><callDoesNotExist/></failureDetails>` gives "callDoesNotExist".
pub fn failure_reason(xml: &str) -> Option<String> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut inside = false;
    let mut reasons = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let name = String::from_utf8_lossy(e.local_name().as_ref()).to_string();
                if name == "failureDetails" {
                    inside = true;
                } else if inside {
                    reasons.push(name);
                }
            }
            Ok(Event::End(e)) if e.local_name().as_ref() == b"failureDetails" => inside = false,
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
    (!reasons.is_empty()).then(|| reasons.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cms::model::*;

    #[test]
    fn a_collection_with_one_child_is_still_a_list_and_total_is_read() {
        let p: Page<CallSummary> = parse_collection(
            r#"<?xml version="1.0"?><calls total="1"><call id="c-1"><name>Board</name><coSpace>s-1</coSpace><callCorrelator>k-1</callCorrelator></call></calls>"#,
        )
        .unwrap();
        assert_eq!(p.total, 1);
        assert_eq!(p.items.len(), 1);
        assert_eq!(p.items[0].call_correlator.as_deref(), Some("k-1"));
    }

    #[test]
    fn an_empty_collection_parses_to_no_items() {
        let p: Page<CallSummary> = parse_collection(r#"<calls total="0"></calls>"#).unwrap();
        assert_eq!((p.total, p.items.len()), (0, 0));
        let p: Page<CallSummary> = parse_collection(r#"<calls total="0"/>"#).unwrap();
        assert_eq!(p.items.len(), 0);
    }

    #[test]
    fn a_call_leg_in_the_lobby_reads_deactivated_and_unknown_elements_are_ignored() {
        let leg: CallLeg = parse_object(
            r#"<callLeg id="l-1"><name>Ann</name><remoteParty>ann@guest.example</remoteParty><call>c-1</call>
               <subType>webApp</subType><futureThing><x/></futureThing>
               <status><deactivated>true</deactivated><durationSeconds>12</durationSeconds></status></callLeg>"#,
        )
        .unwrap();
        assert!(leg.status.deactivated);
        assert_eq!(leg.sub_type.as_deref(), Some("webApp"));
        let leg: CallLeg = parse_object(r#"<callLeg id="l-2"><name>Bob</name><status/></callLeg>"#).unwrap();
        assert!(!leg.status.deactivated, "absent means in the meeting");
    }

    #[test]
    fn failure_details_name_the_reason() {
        assert_eq!(
            failure_reason(r#"<?xml version="1.0"?><failureDetails><participantNotActivated/></failureDetails>"#).as_deref(),
            Some("participantNotActivated")
        );
        assert_eq!(failure_reason("<ok/>"), None);
    }

    #[test]
    fn broken_xml_is_an_error_not_a_panic() {
        assert!(parse_collection::<CallSummary>("<calls total=\"2\"><call id=").is_err());
        assert!(parse_object::<CallLeg>("not xml at all").is_err());
    }
}
