//! The external responders as a CSV file: RFC 4180 quoting, and text that a spreadsheet would
//! take for a formula (`=`, `-`, `@`, …) prefixed with `'`. Numbers are E.164 (`+…`) by then and
//! are written as they are.

use crate::model::incident::ExternalResponder;

pub fn csv(externals: &[ExternalResponder]) -> String {
    let mut out = String::from("name,email,mobile,voice\r\n");
    for e in externals {
        let fields = [
            text(&e.name),
            text(e.email.as_deref().unwrap_or_default()),
            quoted(e.sms_number.as_deref().unwrap_or_default()),
            quoted(e.voice_number.as_deref().unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        quoted(&format!("'{s}"))
    } else {
        quoted(s)
    }
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_export_quotes_every_field_and_defuses_formulas_in_names() {
        let e = ExternalResponder {
            id: 1,
            name: "=HYPERLINK(\"x\")".into(),
            email: None,
            sms_number: Some("+12015550199".into()),
            voice_number: None,
        };
        assert_eq!(csv(&[e]), "name,email,mobile,voice\r\n\"'=HYPERLINK(\"\"x\"\")\",\"\",\"+12015550199\",\"\"\r\n");
    }
}
