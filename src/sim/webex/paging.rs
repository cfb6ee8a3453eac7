//! Lists paged as Webex pages them: short pages and a `Link: rel="next"` built from the request,
//! with an opaque cursor.

use super::{error, Shared};
use axum::extract::Query;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use std::collections::HashMap;

/// A page of `items` as Webex pages lists: at most `min(max, 30)` items [I: short pages on
/// purpose, so callers must follow links], and `Link: <…&cursor=…>; rel="next"` while more remain,
/// built from the request's `Host` and query (minus any old cursor).
pub(super) fn paged(s: &Shared, headers: &HeaderMap, uri: &axum::http::Uri, items: Vec<serde_json::Value>) -> Response {
    let q: HashMap<String, String> = Query::try_from_uri(uri).map(|Query(q)| q).unwrap_or_default();
    let max = match q.get("max").map(|m| m.parse::<usize>()) {
        None => 100,
        Some(Ok(m)) if m > 0 => m,
        Some(_) => return error(StatusCode::BAD_REQUEST, "max must be a positive integer."),
    };
    let offset = match q.get("cursor") {
        None => 0,
        Some(c) => match decode_cursor(c) {
            Some(o) => o,
            None => return error(StatusCode::BAD_REQUEST, "Invalid cursor."),
        },
    };
    let size = max.min(30);
    let end = (offset + size).min(items.len());
    let page: Vec<_> = items.get(offset.min(items.len())..end).unwrap_or_default().to_vec();
    let mut resp = Json(serde_json::json!({ "items": page })).into_response();
    if end < items.len() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(String::from).unwrap_or_else(|| s.addr.to_string());
        let mut query: Vec<&str> = uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty() && !p.starts_with("cursor=")).collect();
        let cursor = format!("cursor={}", encode_cursor(end));
        query.push(&cursor);
        let link = format!("<http://{host}{}?{}>; rel=\"next\"", uri.path(), query.join("&"));
        if let Ok(v) = HeaderValue::from_str(&link) {
            resp.headers_mut().insert(header::LINK, v);
        }
    }
    resp
}

fn encode_cursor(offset: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("offset:{offset}"))
}

fn decode_cursor(c: &str) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(c).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("offset:")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        assert_eq!(decode_cursor(&encode_cursor(60)), Some(60));
        assert_eq!(decode_cursor("not-a-cursor"), None);
    }
}
