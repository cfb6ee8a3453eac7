//! ConvertId, which clients such as exchangelib send first (with a dummy id) to learn the
//! server's version from the answer's `ServerVersionInfo` header: each `t:AlternateId` converted
//! between the EWS id and the MAPI entry id forms (`EntryId`, `HexEntryId`, …), or refused as
//! Exchange refuses it (`ErrorInvalidSmtpAddress`, `ErrorInvalidIdMalformed`) — one response
//! message per id, in order.

use super::reply::{fault, messages_of, response_message, xml_response};
use super::request::Req;
use super::xml::esc;
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;

const FORMATS: [&str; 6] = ["EwsId", "EwsLegacyId", "EntryId", "HexEntryId", "StoreId", "OwaId"];
const EWS_PREFIX: &str = "AAMk";

/// The store's bytes behind an id in `format` (the simulator's EWS ids are `AAMk` + opaque text;
/// its entry ids four zero flag bytes before that text).
fn entry_bytes(format: &str, id: &str) -> Option<Vec<u8>> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let entry = match format {
        "EwsId" | "EwsLegacyId" => {
            let rest = id.strip_prefix(EWS_PREFIX).filter(|r| !r.is_empty())?;
            [&[0u8; 4][..], rest.as_bytes()].concat()
        }
        "EntryId" | "StoreId" | "OwaId" => b64.decode(id).ok()?,
        "HexEntryId" => {
            (0..id.len()).step_by(2).map(|i| id.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok())).collect::<Option<_>>()?
        }
        _ => return None,
    };
    (entry.len() > 4 && entry[..4] == [0; 4] && std::str::from_utf8(&entry[4..]).is_ok()).then_some(entry)
}

fn written_as(format: &str, entry: &[u8]) -> String {
    match format {
        "EwsId" | "EwsLegacyId" => format!("{EWS_PREFIX}{}", String::from_utf8_lossy(&entry[4..])),
        "HexEntryId" => entry.iter().map(|b| format!("{b:02X}")).collect(),
        _ => base64::engine::general_purpose::STANDARD.encode(entry),
    }
}

fn converted(destination: &str, (format, id, mailbox): &(String, String, String)) -> String {
    let valid_smtp = mailbox.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.'));
    if !valid_smtp {
        return response_message("ConvertId", "Error", "ErrorInvalidSmtpAddress", "The SMTP address has an invalid format.", "");
    }
    match entry_bytes(format, id) {
        Some(entry) => response_message(
            "ConvertId",
            "Success",
            "NoError",
            "",
            &format!(
                "<m:AlternateId xsi:type=\"t:AlternateIdType\" Format=\"{destination}\" Id=\"{}\" Mailbox=\"{}\"/>",
                esc(&written_as(destination, &entry)),
                esc(mailbox)
            ),
        ),
        None => response_message("ConvertId", "Error", "ErrorInvalidIdMalformed", "Id is malformed.", ""),
    }
}

pub(super) fn convert_id(req: &Req) -> Response {
    let destination = req.destination_format.as_str();
    if !FORMATS.contains(&destination) || req.alternate_ids.is_empty() {
        return fault(
            "ErrorSchemaValidation",
            "The request failed schema validation: ConvertId needs a DestinationFormat and SourceIds.",
            None,
        );
    }
    let messages: String = req.alternate_ids.iter().map(|a| converted(destination, a)).collect();
    xml_response(StatusCode::OK, messages_of("ConvertId", &messages))
}
