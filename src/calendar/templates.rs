//! The join-details block: minijinja HTML templates per language, rendered with the organiser's
//! personal space. A template that does not render (unknown variable, syntax) is refused with
//! the reason when saved.

use super::model::CalendarUser;
use crate::templating::{self, Output};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Language code → HTML template; "en" is the default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinTemplates(pub BTreeMap<String, String>);

pub const DEFAULT_EN: &str = r#"<div style="font-family:Segoe UI,Arial,sans-serif;border-top:1px solid #ccc;margin-top:12px;padding-top:8px">
<p><b>Join {{ space_name }}</b></p>
{% if web_link %}<p><a href="{{ web_link }}">Join from your browser</a></p>{% endif %}
<p>Video system or SIP: <a href="sip:{{ sip_uri }}">{{ sip_uri }}</a>{% if secondary_uri %} or {{ secondary_uri }}{% endif %}</p>
{% if dial_in %}<p>Dial in: {{ dial_in | join(", ") }}, then Call ID {{ call_id }}#{% if passcode %} and passcode {{ passcode }}#{% endif %}</p>{% endif %}
<p>Call ID: {{ call_id }}{% if passcode %} &middot; Passcode: {{ passcode }}{% endif %}</p>
</div>"#;

impl Default for JoinTemplates {
    fn default() -> Self {
        Self(BTreeMap::from([("en".to_string(), DEFAULT_EN.to_string())]))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct JoinVars {
    pub organizer: String,
    pub space_name: String,
    pub sip_uri: String,
    pub secondary_uri: Option<String>,
    pub call_id: String,
    pub passcode: Option<String>,
    pub web_link: Option<String>,
    pub dial_in: Vec<String>,
}

impl JoinVars {
    /// The variables of a user with a personal space (`None` without one). `sip_domain` turns a
    /// bare URI (`ann.space`) into a SIP address.
    pub fn of(u: &CalendarUser, sip_domain: &str, dial_in: &[String]) -> Option<Self> {
        let uri = u.uri.clone()?;
        let sip_uri = if uri.contains('@') || sip_domain.is_empty() { uri } else { format!("{uri}@{sip_domain}") };
        Some(Self {
            organizer: u.name.clone(),
            space_name: u.space_name.clone().unwrap_or_else(|| u.name.clone()),
            sip_uri,
            secondary_uri: u.secondary_uri.clone(),
            call_id: u.call_id.clone().unwrap_or_default(),
            passcode: u.passcode.clone().filter(|p| !p.is_empty()),
            web_link: u.web_link.clone(),
            dial_in: dial_in.to_vec(),
        })
    }

    pub fn sample() -> Self {
        Self {
            organizer: "Ann Example".into(),
            space_name: "Ann's space".into(),
            sip_uri: "ann.space@example.com".into(),
            secondary_uri: Some("70001@example.com".into()),
            call_id: "100200300".into(),
            passcode: Some("4321".into()),
            web_link: Some("https://join.example.com/meeting/100200300?secret=abc".into()),
            dial_in: vec!["+1 408 555 0100".into()],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The {language} template does not render: {reason}")]
pub struct TemplateError {
    pub language: String,
    pub reason: String,
}

impl JoinTemplates {
    /// Renders the template of `language` (falling back to "en", then any).
    pub fn render(&self, language: &str, vars: &JoinVars) -> Result<String, TemplateError> {
        let (lang, src) = self
            .0
            .get_key_value(language)
            .or_else(|| self.0.get_key_value("en"))
            .or_else(|| self.0.iter().next())
            .ok_or_else(|| TemplateError { language: language.into(), reason: "there is no template".into() })?;
        // The values come from CMS and Exchange and the output is an HTML body sent to every
        // attendee: every value is escaped (a template may still write markup of its own).
        let out = templating::render(src, vars, Output::Html).map_err(|reason| TemplateError { language: lang.clone(), reason })?;
        if out.trim().is_empty() {
            return Err(TemplateError { language: lang.clone(), reason: "it renders to nothing".into() });
        }
        Ok(out)
    }

    /// [`Self::render`] on the blocking pool (see [`templating::render_off_runtime`]).
    pub async fn render_off_runtime(self, language: String, vars: JoinVars) -> Result<String, TemplateError> {
        let lang = language.clone();
        templating::render_off_runtime(move || self.render(&language, &vars))
            .await
            .unwrap_or_else(|reason| Err(TemplateError { language: lang, reason }))
    }

    /// Every template must render with the sample values.
    pub fn validate(&self) -> Result<BTreeMap<String, String>, TemplateError> {
        self.0.keys().map(|l| Ok((l.clone(), self.render(l, &JoinVars::sample())?))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_renders_every_detail_and_a_broken_template_is_refused() {
        let t = JoinTemplates::default();
        let out = t.render("de", &JoinVars::sample()).unwrap();
        for want in
            ["Ann&#x27;s space", "sip:ann.space@example.com", "70001@example.com", "100200300", "4321", "secret=abc", "+1 408 555 0100"]
        {
            assert!(out.contains(want), "{want} in {out}");
        }
        let mut no_pin = JoinVars::sample();
        no_pin.passcode = None;
        assert!(!t.render("en", &no_pin).unwrap().contains("Passcode"));
        let bad = JoinTemplates(BTreeMap::from([("en".into(), "{{ nope }}".into())]));
        assert!(bad.validate().unwrap_err().reason.contains("undefined"));
    }

    #[test]
    fn values_from_cms_are_escaped_in_the_html_block() {
        let mut v = JoinVars::sample();
        v.space_name = "<img src=x onerror=alert(1)>".into();
        v.passcode = Some("1\"><script>".into());
        let out = JoinTemplates::default().render("en", &v).unwrap();
        assert!(out.contains("&lt;img src=x onerror=alert(1)&gt;"), "{out}");
        assert!(!out.contains("<img") && !out.contains("<script>"), "{out}");
        assert!(out.contains("<p><b>Join "), "the template's own markup stays: {out}");
    }
}
