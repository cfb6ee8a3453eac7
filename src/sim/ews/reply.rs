//! SOAP answers as Exchange 2016 writes them: the envelope with `ServerVersionInfo`, response
//! messages with `ResponseClass`/`ResponseCode`, and SOAP faults (HTTP 500) for whole requests.

use super::xml::{esc, NS_M, NS_SOAP, NS_T};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

fn envelope(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Header><h:ServerVersionInfo MajorVersion=\"15\" MinorVersion=\"1\" \
         MajorBuildNumber=\"2507\" MinorBuildNumber=\"6\" Version=\"V2017_07_11\" xmlns:h=\"{NS_T}\" xmlns=\"{NS_T}\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/></s:Header>\
         <s:Body xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">{body}</s:Body></s:Envelope>"
    )
}

/// A whole answer with one response message.
pub(super) fn message(op: &str, class: &str, code: &str, text: &str, inner: &str) -> String {
    messages_of(op, &response_message(op, class, code, text, inner))
}

/// One response message (of several, for a request naming several ids).
pub(super) fn response_message(op: &str, class: &str, code: &str, text: &str, inner: &str) -> String {
    let mt = if code == "NoError" { String::new() } else { format!("<m:MessageText>{}</m:MessageText>", esc(text)) };
    format!("<m:{op}ResponseMessage ResponseClass=\"{class}\">{mt}<m:ResponseCode>{code}</m:ResponseCode>{inner}</m:{op}ResponseMessage>")
}

/// A whole answer holding these response messages.
pub(super) fn messages_of(op: &str, messages: &str) -> String {
    envelope(&format!(
        "<m:{op}Response xmlns:m=\"{NS_M}\" xmlns:t=\"{NS_T}\"><m:ResponseMessages>{messages}</m:ResponseMessages></m:{op}Response>"
    ))
}

pub(super) fn xml_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

/// A SOAP fault as Exchange sends for whole-request errors (HTTP 500).
pub(super) fn fault(code: &str, text: &str, back_off: Option<u64>) -> Response {
    let detail = back_off
        .map(|ms| format!("<t:MessageXml xmlns:t=\"{NS_T}\"><t:Value Name=\"BackOffMilliseconds\">{ms}</t:Value></t:MessageXml>"))
        .unwrap_or_default();
    xml_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><s:Envelope xmlns:s=\"{NS_SOAP}\"><s:Body><s:Fault>\
             <faultcode xmlns:a=\"http://schemas.microsoft.com/exchange/services/2006/types\">a:{code}</faultcode><faultstring xml:lang=\"en-US\">{}</faultstring>\
             <detail><e:ResponseCode xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{code}</e:ResponseCode>\
             <e:Message xmlns:e=\"http://schemas.microsoft.com/exchange/services/2006/errors\">{}</e:Message>{detail}</detail></s:Fault></s:Body></s:Envelope>",
            esc(text),
            esc(text)
        ),
    )
}

/// Exchange's answer when a service account without a mailbox names none.
pub(super) fn no_mailbox(op: &str) -> Response {
    xml_response(
        StatusCode::OK,
        message(
            op,
            "Error",
            "ErrorMissingEmailAddress",
            "When making a request as an account that does not have a mailbox, you must specify the mailbox primary SMTP address for any distinguished folders.",
            "",
        ),
    )
}
