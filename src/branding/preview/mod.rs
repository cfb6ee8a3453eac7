//! A preview of a CMS 3.1+ invitation template with sample meeting values, so operators see what
//! a guest would receive while they edit. Runs in the browser (no server dependencies). The
//! grammar is what the published sample templates use (../shared/reference/cms.md §1.1): a `Subject:` line
//! with `{% if x %}…{% else %}…{% endif %}`, body lines `#if` / `#else` / `#endif`,
//! `#for v in list` / `#endfor`, `length (list) > 0`, and `%dotted.variable%`. CMS's own grammar
//! is richer and not fully documented, so anything unknown becomes a warning, never a failure.

mod blocks;
mod condition;
mod render;
mod values;

use blocks::parse_lines;
use render::Renderer;
use values::sample_context;

/// Deepest nesting of `#if`/`#for` blocks, and of parentheses and `not` in one condition.
/// CMS's own templates use a handful; the limit keeps the parser and renderer (which recurse)
/// far from the stack's end whatever is uploaded.
pub const MAX_NESTING: usize = 32;

/// The rendered template and what looked wrong.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preview {
    pub subject: Option<String>,
    pub body: String,
    pub warnings: Vec<String>,
    /// The first place nested deeper than `MAX_NESTING`; such a template is refused on upload.
    pub too_deep: Option<String>,
}

/// Renders `template` with the sample meeting.
pub fn render_preview(template: &str) -> Preview {
    let mut warnings = Vec::new();
    let text = template.replace("\r\n", "\n");
    let (subject_line, body_text) = match text.split_once('\n') {
        Some((first, rest)) if first.trim_start().starts_with("Subject:") => (Some(first.to_string()), rest.to_string()),
        None if text.trim_start().starts_with("Subject:") => (Some(text.clone()), String::new()),
        _ => {
            warnings.push("The first line is not 'Subject: …'; CMS 3.1+ templates start with the subject.".into());
            (None, text.clone())
        }
    };
    let mut too_deep = None;
    let nodes = parse_lines(&body_text, if subject_line.is_some() { 2 } else { 1 }, &mut warnings, &mut too_deep);
    let mut r = Renderer { scopes: vec![sample_context()], warnings, too_deep };
    let subject = subject_line.map(|l| {
        let rest = l.trim_start().trim_start_matches("Subject:").trim_start();
        r.line(rest, 1)
    });
    let mut out = Vec::new();
    r.nodes(&nodes, &mut out);
    let mut warnings = r.warnings;
    warnings.dedup();
    Preview { subject, body: out.join("\n"), warnings, too_deep: r.too_deep }
}
#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "Subject: {% if name %}Join %name%{% else %}Join a meeting{% endif%}\n\
#if name\nSpace: %name%\n#else\nNo name\n#endif\n\
#if length (web_bridge_addresses) > 0\nBrowser: %web_bridge_addresses.0.address%\n#endif\n\
#for wba in web_bridge_addresses\n- %wba.label%: %wba.hyperlink%\n#endfor\n\
#if passcode\nPasscode: %passcode%\n#endif\n100% sure";

    #[test]
    fn the_sample_template_renders_subject_conditions_loops_and_variables() {
        let p = render_preview(SAMPLE);
        assert_eq!(p.subject.as_deref(), Some("Join Quarterly review"));
        assert!(p.body.contains("Space: Quarterly review"), "{}", p.body);
        assert!(!p.body.contains("No name"));
        assert!(p.body.contains("Browser: https://join.example.com/meeting/4455667788\n"), "{}", p.body);
        assert!(p.body.contains("- Web app: https://join.example.com/meeting/4455667788?secret=Qa1b2c3"));
        assert!(p.body.contains("- Web app (EU): "));
        assert!(p.body.contains("Passcode: 2468"));
        assert!(p.body.ends_with("100% sure"), "a lone percent sign is text: {}", p.body);
        assert!(!p.body.contains('#'), "directives are not output: {}", p.body);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn false_conditions_take_the_else_branches() {
        let p = render_preview("Subject: {% if missing_thing %}A{% else %}B{% endif %}\n#if not passcode\nopen\n#else\nlocked\n#endif");
        assert_eq!(p.subject.as_deref(), Some("B"));
        assert_eq!(p.body, "locked");
    }

    #[test]
    fn unbalanced_blocks_and_unknown_variables_are_warnings_with_line_numbers() {
        let p = render_preview("Hello %nmae%\n#if name\nopen\n#endfor\n");
        assert!(p.subject.is_none());
        let all = p.warnings.join("\n");
        assert!(all.contains("Subject"), "{all}");
        assert!(all.contains("Line 1: %nmae%"), "{all}");
        assert!(all.contains("Line 2: #if is never closed"), "{all}");
        assert!(all.contains("Line 4: #endfor closes an #if"), "{all}");
        assert!(p.body.contains("%nmae%"), "unknown variables stay visible");
    }

    #[test]
    fn unreadable_conditions_are_false_and_reported() {
        let p = render_preview("Subject: x\n#if length (\nshown\n#endif\nafter");
        assert_eq!(p.body, "after");
        assert!(p.warnings.iter().any(|w| w.contains("cannot read the condition")), "{:?}", p.warnings);
    }

    #[test]
    fn deeply_nested_conditions_and_blocks_are_reported_not_a_stack_overflow() {
        let parens = format!("Subject: x\n#if {}name{}\nhi\n#endif", "(".repeat(30_000), ")".repeat(30_000));
        let p = render_preview(&parens);
        assert!(p.too_deep.as_deref().is_some_and(|m| m.contains("Line 2") && m.contains("32")), "{:?}", p.too_deep);
        let nots = format!("Subject: x\n#if {}name\nhi\n#endif", "not ".repeat(30_000));
        assert!(render_preview(&nots).too_deep.is_some());
        let blocks = format!("Subject: x\n{}hi\n{}after", "#if name\n".repeat(30_000), "#endif\n".repeat(30_000));
        let p = render_preview(&blocks);
        assert!(p.too_deep.as_deref().is_some_and(|m| m.contains("Line 34")), "{:?}", p.too_deep);
        assert!(p.body.ends_with("after"), "the rest of the template still renders");
    }

    #[test]
    fn elif_takes_the_first_true_branch() {
        let p = render_preview("Subject: x\n#if not passcode\na\n#elif passcode\nb\n#elif name\nc\n#else\nd\n#endif");
        assert_eq!(p.body, "b");
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn every_misplaced_block_line_is_a_warning_with_its_line_number() {
        let p = render_preview(
            "Subject: x\n#elif name\n#else\n#endif\n#endfor\n#for wrong\n#endif\n#endfor\n#for x in name\n#endfor\n\
#if name\nA\n#else\nB\n#else\n#elif passcode\n#endif",
        );
        let all = p.warnings.join("\n");
        for expected in [
            "Line 2: #elif without an open #if.",
            "Line 3: #else without an open #if.",
            "Line 4: #endif without an open #if.",
            "Line 5: #endfor without an open #for.",
            "Line 6: expected '#for item in list'.",
            "Line 7: #endif closes a #for; expected #endfor.",
            "Line 6: unknown list ''.",
            "Line 9: 'name' is not a list.",
            "Line 15: #else without an open #if.",
            "Line 16: #elif without an open #if.",
        ] {
            assert!(all.contains(expected), "{expected:?} missing from:\n{all}");
        }
        assert_eq!(p.body, "A", "the first #else still holds the branch");
        assert_eq!(p.too_deep, None);
    }

    #[test]
    fn nesting_up_to_the_limit_still_renders() {
        let ok = format!("Subject: x\n#if {}name{}\nyes\n#endif", "(".repeat(MAX_NESTING), ")".repeat(MAX_NESTING));
        let p = render_preview(&ok);
        assert_eq!((p.too_deep, p.body.as_str()), (None, "yes"));
        let blocks = format!("Subject: x\n{}in\n{}", "#if name\n".repeat(MAX_NESTING), "#endif\n".repeat(MAX_NESTING));
        let p = render_preview(&blocks);
        assert_eq!(p.too_deep, None);
        assert!(p.body.starts_with("in"));
    }
}
