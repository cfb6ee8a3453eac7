//! The notification texts: minijinja templates per channel (Webex message in markdown, SMS,
//! text-to-speech), rendered with the incident's details. A template that does not render is
//! refused with the reason when it is saved, so a notification never fails on its text.

use crate::model::incident::IncidentTemplates;
use crate::templating::{self, Output};
use serde::Serialize;

/// What a template may use.
#[derive(Debug, Clone, Serialize)]
pub struct TemplateVars {
    pub incident_name: String,
    pub space_title: String,
    pub meeting_link: String,
    pub meeting_number: String,
    pub toll_number: String,
    pub responder_name: String,
    pub commander: String,
    /// The responder's personal acknowledgement link.
    pub ack_link: String,
}

impl TemplateVars {
    /// Made-up values for the preview in settings.
    pub fn sample() -> Self {
        Self {
            incident_name: "Core router down".into(),
            space_title: "Response - Network outage".into(),
            meeting_link: "https://example.webex.com/m/1a2b3c".into(),
            meeting_number: "2550001111".into(),
            toll_number: "+1-408-555-0100".into(),
            responder_name: "Robin Responder".into(),
            commander: "Morgan Moderator".into(),
            ack_link: "https://switchboard.example.com/ack/EXAMPLE".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The {which} template does not render: {reason}")]
pub struct TemplateError {
    pub which: &'static str,
    pub reason: String,
}

/// The three rendered texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Rendered {
    pub webex: String,
    pub sms: String,
    pub voice: String,
}

pub fn render(t: &IncidentTemplates, vars: &TemplateVars) -> Result<Rendered, TemplateError> {
    let one = |which: &'static str, src: &str| -> Result<String, TemplateError> {
        let out = templating::render(src, vars, Output::Text).map_err(|reason| TemplateError { which, reason })?;
        let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
        if out.trim().is_empty() {
            return Err(TemplateError { which, reason: "it renders to nothing".into() });
        }
        Ok(out)
    };
    // The markdown keeps its line breaks; the others are one line.
    let webex = {
        let out = templating::render(&t.webex, vars, Output::Text).map_err(|reason| TemplateError { which: "Webex message", reason })?;
        if out.trim().is_empty() {
            return Err(TemplateError { which: "Webex message", reason: "it renders to nothing".into() });
        }
        out
    };
    Ok(Rendered { webex, sms: one("SMS", &t.sms)?, voice: one("voice", &t.voice)? })
}

/// [`render`] on the blocking pool (see [`templating::render_off_runtime`]).
pub async fn render_off_runtime(t: IncidentTemplates, vars: TemplateVars) -> Result<Rendered, TemplateError> {
    templating::render_off_runtime(move || render(&t, &vars))
        .await
        .unwrap_or_else(|reason| Err(TemplateError { which: "notification", reason }))
}

/// Refuses templates that fail with the sample values (unknown variables, syntax errors).
pub fn validate(t: &IncidentTemplates) -> Result<Rendered, TemplateError> {
    render(t, &TemplateVars::sample())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_templates_carry_the_join_details_and_the_voice_says_it_twice() {
        let r = validate(&IncidentTemplates::default()).unwrap();
        assert!(r.webex.contains("**Join incident \"Core router down\"**"));
        assert!(r.webex.contains("https://switchboard.example.com/ack/EXAMPLE"));
        assert!(r.sms.contains("+1-408-555-0100pp2550001111#"));
        assert_eq!(r.voice.matches("Join meeting 2550001111").count(), 2);
    }

    #[test]
    fn a_broken_template_is_refused_with_the_reason() {
        let bad = IncidentTemplates { sms: "Hi {{ nobody_knows_me }}".into(), ..Default::default() };
        let e = validate(&bad).unwrap_err();
        assert_eq!(e.which, "SMS");
        assert!(e.reason.contains("undefined"), "{}", e.reason);
        let syntax = IncidentTemplates { voice: "{% for %}".into(), ..Default::default() };
        assert_eq!(validate(&syntax).unwrap_err().which, "voice");
        let empty = IncidentTemplates { webex: "  ".into(), ..Default::default() };
        assert_eq!(validate(&empty).unwrap_err().reason, "it renders to nothing");
    }
}
