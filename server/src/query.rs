//! Values Switchboard writes into the query of its own redirects (`/login?next=…`,
//! `/branding?error=…`): percent-encoded with one character set, defined here.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters and `/` (legal in a query, and it keeps
/// `next=/calls` readable).
pub const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');

/// `s` as one query value.
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_value_keeps_paths_readable_and_encodes_what_would_split_the_query() {
        assert_eq!(query_value("/audit?offset=50&action=login"), "/audit%3Foffset%3D50%26action%3Dlogin");
        assert_eq!(query_value("Not stored: a b+c é"), "Not%20stored%3A%20a%20b%2Bc%20%C3%A9");
    }
}
