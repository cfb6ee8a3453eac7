//! Values written into URLs: one percent-encoder (the `percent-encoding` crate) and the two
//! character sets Switchboard needs, so a path segment or a query value is spelled one way in
//! every crate (the browser build uses it too).

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything but RFC 3986's unreserved characters (`A–Z a–z 0–9 - _ . ~`) is encoded, so a
/// value can never add a path segment, a query or a fragment (`../x` stays in its segment).
pub const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A query value: as [`SEGMENT`], but `/` stays (legal in a query, and `next=/calls` stays
/// readable).
pub const QUERY_VALUE: &AsciiSet = &SEGMENT.remove(b'/');

/// `s` as one path segment.
pub fn path_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `s` as one query value.
pub fn query_value(s: &str) -> String {
    utf8_percent_encode(s, QUERY_VALUE).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_segment_keeps_unreserved_characters_and_encodes_what_would_leave_the_segment() {
        assert_eq!(path_segment("Y2lz/Y+=a-b_c.d~e"), "Y2lz%2FY%2B%3Da-b_c.d~e");
        assert_eq!(path_segment("../coSpaces/x"), "..%2FcoSpaces%2Fx");
        assert_eq!(path_segment("a b?c#d"), "a%20b%3Fc%23d");
    }

    #[test]
    fn a_query_value_keeps_paths_readable_and_encodes_what_would_split_the_query() {
        assert_eq!(query_value("/audit?offset=50&action=login"), "/audit%3Foffset%3D50%26action%3Dlogin");
        assert_eq!(query_value("Not stored: a b+c é"), "Not%20stored%3A%20a%20b%2Bc%20%C3%A9");
        assert_eq!(query_value("/calls#x%"), "/calls%23x%25");
    }
}
