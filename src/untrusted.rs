//! Text that came from outside without authentication (a query parameter, a notification
//! field) as logs and the audit log may hold it: short, printable and without markup, so it can
//! neither forge log lines nor fill the log, nor carry HTML into a page that shows it.

/// At most this many characters of untrusted text are kept.
pub const MAX_CHARS: usize = 200;

/// `s` without control characters or markup characters (`<>&"'` and the backtick), cut to
/// [`MAX_CHARS`] characters (an ellipsis says it was cut).
pub fn loggable(s: &str) -> String {
    let mut kept = s.chars().filter(|c| !c.is_control() && !matches!(c, '<' | '>' | '&' | '"' | '\'' | '`'));
    let mut out: String = kept.by_ref().take(MAX_CHARS).collect();
    if kept.next().is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrusted_text_loses_control_characters_and_markup_and_is_cut_to_two_hundred_characters() {
        assert_eq!(loggable("a\nb\u{7}c"), "abc", "no forged log lines");
        assert_eq!(loggable("<img src=x onerror=alert(1)>"), "img src=x onerror=alert(1)");
        assert_eq!(loggable("fine text"), "fine text");
        let long = "é".repeat(10_000);
        let cut = loggable(&long);
        assert_eq!(cut.chars().count(), MAX_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(loggable(&"x".repeat(MAX_CHARS)), "x".repeat(MAX_CHARS), "exactly the limit is not cut");
    }
}
