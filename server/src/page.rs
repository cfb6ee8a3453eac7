//! The server's own small HTML pages (acknowledgement links, sign-in problems): they need no
//! session and run no script. Everything shown is escaped with `html-escape`.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::borrow::Cow;

/// Text made safe for HTML content and quoted attribute values.
pub fn esc(s: &str) -> Cow<'_, str> {
    html_escape::encode_quoted_attribute(s)
}

/// A page saying what went wrong, with the way back (the person may have no session).
pub fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    page(
        status,
        title,
        &format!(
            "<p class=\"alert error\" role=\"alert\" data-testid=\"problem\">{}</p><p><a href=\"/login\">Back to Switchboard</a></p>",
            esc(message)
        ),
    )
}

/// A card page in the site's style; `body` is HTML already escaped.
pub fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{t} - Switchboard</title><link rel=\"stylesheet\" href=\"/pkg/switchboard.css\"></head>\
         <body><main class=\"login\"><div class=\"card\"><h1>{t}</h1>{body}</div></main></body></html>",
        t = esc(title)
    );
    (status, [(axum::http::header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(esc("<b>\"x\" & 'y'</b>"), "&lt;b&gt;&quot;x&quot; &amp; &#x27;y&#x27;&lt;/b&gt;");
    }
}
