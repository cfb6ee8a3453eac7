//! Names that come from CMS requests, uploads and imports, parsed once into types. Nothing here
//! touches a filesystem: these names only ever become database keys, so a request path can never
//! name a file on disk; the strict rules are what keeps logs, URLs and the page unambiguous.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a name was refused; the text is shown to operators and CMS callers as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError(pub String);

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

/// A tenant as it appears in CMS-facing URLs: 1–64 of `a-z 0-9 - _`, starting with a letter or
/// digit. Lower case only, so `/invites/Acme` and `/invites/acme` cannot mean two things.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TenantName(String);

impl TenantName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let ok_start = raw.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let ok_chars = raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if raw.is_empty() || raw.len() > 64 || !ok_start || !ok_chars {
            return Err(NameError(format!(
                "'{}' is not a tenant name: use 1–64 lower-case letters, digits, '-' or '_', starting with a letter or digit",
                shorten(raw)
            )));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TenantName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A language tag as CMS sends it (`en_US`, `zh_CN`, `es`), normalised: language lower case,
/// script title case, region upper case, `_` between parts (`en-us` becomes `en_US`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Language(String);

impl Language {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let bad = || NameError(format!("'{}' is not a language tag like en_US or es", shorten(raw)));
        let parts: Vec<&str> = raw.trim().split(['_', '-']).collect();
        if parts.is_empty() || parts.len() > 3 {
            return Err(bad());
        }
        let lang = parts[0];
        if !(2..=3).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(bad());
        }
        let is_script = |p: &str| p.len() == 4 && p.bytes().all(|b| b.is_ascii_alphabetic());
        let is_region = |p: &str| {
            (p.len() == 2 && p.bytes().all(|b| b.is_ascii_alphabetic())) || (p.len() == 3 && p.bytes().all(|b| b.is_ascii_digit()))
        };
        let title = |p: &str| {
            let lower = p.to_ascii_lowercase();
            format!("{}{}", &lower[..1].to_ascii_uppercase(), &lower[1..])
        };
        let mut out = lang.to_ascii_lowercase();
        match parts.as_slice() {
            [_] => {}
            [_, r] if is_region(r) => out = format!("{out}_{}", r.to_ascii_uppercase()),
            [_, s] if is_script(s) => out = format!("{out}_{}", title(s)),
            [_, s, r] if is_script(s) && is_region(r) => out = format!("{out}_{}_{}", title(s), r.to_ascii_uppercase()),
            _ => return Err(bad()),
        }
        Ok(Self(out))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The language alone: `fr` of `fr_CA`.
    pub fn primary(&self) -> &str {
        self.0.split('_').next().unwrap_or(&self.0)
    }

    /// Whether the region is the language's own country by the usual convention (`fr_FR`,
    /// `de_DE`, `it_IT`): the variant picked first for a country without its own template.
    fn is_home_region(&self) -> bool {
        self.0.rsplit_once('_').is_some_and(|(_, region)| region.eq_ignore_ascii_case(self.primary()))
    }

    /// The tag one level less specific: `zh_Hant_TW` → `zh_Hant` → `zh` → none.
    pub fn parent(&self) -> Option<Language> {
        self.0.rsplit_once('_').map(|(head, _)| Language(head.to_string()))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which invitation template: one for a language, or the tenant's default (`invitation_template.txt`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum TemplateKey {
    Default,
    Lang(Language),
}

impl TemplateKey {
    /// The key in storage: the tag, or the empty string for the default.
    pub fn storage_name(&self) -> &str {
        match self {
            TemplateKey::Default => "",
            TemplateKey::Lang(l) => l.as_str(),
        }
    }

    pub fn from_storage_name(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            Ok(TemplateKey::Default)
        } else {
            Language::parse(s).map(TemplateKey::Lang)
        }
    }

    /// What the page and reports call it.
    pub fn label(&self) -> String {
        match self {
            TemplateKey::Default => "default".into(),
            TemplateKey::Lang(l) => l.to_string(),
        }
    }

    /// The file name the original static folder used: `invitation_template_en_US.txt`.
    pub fn file_name(&self) -> String {
        match self {
            TemplateKey::Default => "invitation_template.txt".into(),
            TemplateKey::Lang(l) => format!("invitation_template_{l}.txt"),
        }
    }

    /// Reads `invitation_template.txt` / `invitation_template_<tag>.txt`; anything else is none.
    pub fn from_file_name(name: &str) -> Option<Result<Self, NameError>> {
        let stem = name.strip_suffix(".txt")?;
        if stem == "invitation_template" {
            return Some(Ok(TemplateKey::Default));
        }
        let tag = stem.strip_prefix("invitation_template_")?;
        Some(Language::parse(tag).map(TemplateKey::Lang))
    }
}

/// The order in which templates are tried for a request: the exact language, then less specific
/// tags, then the same language for another country among the tenant's `available` templates
/// (`fr_CA` → `fr_FR`: the language's home country first, then by tag), then the default.
/// With no (or an unusable) language, just the default.
pub fn template_fallbacks(language: Option<&Language>, available: &[Language]) -> Vec<TemplateKey> {
    let mut chain = Vec::new();
    let mut next = language.cloned();
    while let Some(l) = next {
        next = l.parent();
        chain.push(TemplateKey::Lang(l));
    }
    if let Some(requested) = language {
        let primary = requested.primary();
        let mut siblings: Vec<&Language> =
            available.iter().filter(|l| l.primary() == primary && !chain.contains(&TemplateKey::Lang((*l).clone()))).collect();
        siblings.sort_by_key(|l| (!l.is_home_region(), l.as_str().to_string()));
        chain.extend(siblings.into_iter().cloned().map(TemplateKey::Lang));
    }
    chain.push(TemplateKey::Default);
    chain
}

/// The kinds of things a tenant has. `WebappPart` files are zipped into the sign-in archive;
/// `WebappArchive` is an archive uploaded whole, which takes precedence over the parts.
pub use crate::model::branding::FileKind;

/// What a file is, by its extension; decides validation and Content-Type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Wav,
    Jpeg,
    Png,
    Json,
    Text,
    Zip,
}

impl MediaKind {
    pub fn content_type(self) -> &'static str {
        match self {
            MediaKind::Wav => "audio/wav",
            MediaKind::Jpeg => "image/jpeg",
            MediaKind::Png => "image/png",
            MediaKind::Json => "application/json",
            MediaKind::Text => "text/plain; charset=utf-8",
            MediaKind::Zip => "application/zip",
        }
    }

    /// Worth gzipping on the way out; the others are compressed formats already (or PCM, which
    /// barely shrinks and CMS fetches rarely).
    pub fn is_text(self) -> bool {
        matches!(self, MediaKind::Text | MediaKind::Json)
    }
}

/// Prompt and image names of call customization that CMS is known to ask for
/// (../shared/reference/cms.md §1.2), besides `total_participant_<N>.wav`.
pub const KNOWN_CALL_FILES: &[&str] = &[
    "background.jpg",
    "passcode_background.jpg",
    "passcode_or_blank_required_background.jpg",
    "welcome.wav",
    "call_join.wav",
    "call_join_confirmation.wav",
    "call_outgoing_welcome.wav",
    "cospace_join.wav",
    "cospace_join_confirmation.wav",
    "cospace_outgoing_welcome.wav",
    "disconnected.wav",
    "meeting_ended.wav",
    "only_participant.wav",
    "waiting_for_host.wav",
    "timeout.wav",
    "locked_you_are_waiting.wav",
    "passcode_entry.wav",
    "passcode_incorrect_try_again.wav",
    "passcode_incorrect_final_attempt.wav",
    "passcode_incorrect_goodbye.wav",
    "passcode_or_blank_required_entry.wav",
    "passcode_or_blank_timeout_entry.wav",
    "meeting_recorded.wav",
    "meeting_recording_ended.wav",
    "meeting_streamed.wav",
    "meeting_streaming_ended.wav",
    "total_participant_greater_than_20.wav",
];

/// IVR branding file names (../shared/reference/cms.md §1.2; the list may be incomplete for CMS 3.x).
pub const KNOWN_IVR_FILES: &[&str] = &[
    "ivr_background.jpg",
    "ivr_welcome.wav",
    "ivr_id_entry.wav",
    "ivr_id_incorrect_try_again.wav",
    "ivr_id_incorrect_final_attempt.wav",
    "ivr_id_incorrect_goodbye.wav",
    "ivr_timeout.wav",
];

/// The parts of the web app sign-in archive (../shared/reference/cms.md §1.3).
pub const WEBAPP_PARTS: &[&str] = &["sign_in_background.jpg", "sign_in_logo.png", "favicon.png", "text_strings.json"];

/// The keys `text_strings.json` may carry.
pub const TEXT_STRINGS_KEYS: &[&str] = &["brand_title", "brand_subtitle", "brand_tag_line", "brand_browser_tab_label"];

/// A call-customization or IVR file name as CMS asks for it: lower case `a-z 0-9 _`, one dot,
/// extension `wav`, `jpg` or `png`, at most 100 bytes. This is also what uploads must be named.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceName {
    name: String,
    media: MediaKind,
}

impl ResourceName {
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        let bad = |why: &str| NameError(format!("'{}' is not a usable file name: {why}", shorten(raw)));
        if raw.is_empty() || raw.len() > 100 {
            return Err(bad("it must be 1–100 characters"));
        }
        let Some((stem, ext)) = raw.split_once('.') else {
            return Err(bad("it needs an extension (.wav, .jpg or .png)"));
        };
        if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_') {
            return Err(bad("use lower-case letters, digits and '_' before the extension, as CMS asks for"));
        }
        let media = match ext {
            "wav" => MediaKind::Wav,
            "jpg" => MediaKind::Jpeg,
            "png" => MediaKind::Png,
            _ => return Err(bad("the extension must be .wav, .jpg or .png")),
        };
        Ok(Self { name: raw.to_string(), media })
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn media(&self) -> MediaKind {
        self.media
    }

    /// Whether CMS is known to ask for this name under the given kind; unknown names are still
    /// accepted (the published lists are incomplete), but the page points them out.
    pub fn is_known(&self, kind: FileKind) -> bool {
        match kind {
            FileKind::Call => KNOWN_CALL_FILES.contains(&self.as_str()) || total_participant_n(&self.name).is_some(),
            FileKind::Ivr => KNOWN_IVR_FILES.contains(&self.as_str()),
            _ => false,
        }
    }
}

impl fmt::Display for ResourceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// `total_participant_7.wav` → 7 (CMS asks for 1–20, then `..._greater_than_20.wav`).
pub fn total_participant_n(name: &str) -> Option<u32> {
    let n: u32 = name.strip_prefix("total_participant_")?.strip_suffix(".wav")?.parse().ok()?;
    (1..=20).contains(&n).then_some(n)
}

/// A part of the web-app sign-in archive, by its fixed name.
pub fn webapp_part(raw: &str) -> Result<(&'static str, MediaKind), NameError> {
    let media = |n: &str| match n.rsplit('.').next() {
        Some("jpg") => MediaKind::Jpeg,
        Some("png") => MediaKind::Png,
        _ => MediaKind::Json,
    };
    WEBAPP_PARTS
        .iter()
        .find(|p| **p == raw)
        .map(|p| (*p, media(p)))
        .ok_or_else(|| NameError(format!("'{}' is not a web app part; expected one of {}", shorten(raw), WEBAPP_PARTS.join(", "))))
}

/// Names echoed into messages are cut, so a hostile megabyte-long name does not flood logs or pages.
fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lang(s: &str) -> Language {
        Language::parse(s).unwrap()
    }

    #[test]
    fn language_fallback_goes_exact_then_without_region_then_default() {
        assert_eq!(
            template_fallbacks(Some(&lang("es_MX")), &[]),
            vec![TemplateKey::Lang(lang("es_MX")), TemplateKey::Lang(lang("es")), TemplateKey::Default]
        );
        assert_eq!(
            template_fallbacks(Some(&lang("zh_Hant_TW")), &[]),
            vec![
                TemplateKey::Lang(lang("zh_Hant_TW")),
                TemplateKey::Lang(lang("zh_Hant")),
                TemplateKey::Lang(lang("zh")),
                TemplateKey::Default
            ]
        );
        assert_eq!(template_fallbacks(Some(&lang("de")), &[]), vec![TemplateKey::Lang(lang("de")), TemplateKey::Default]);
        assert_eq!(template_fallbacks(None, &[lang("de_DE")]), vec![TemplateKey::Default]);
    }

    #[test]
    fn another_country_of_the_same_language_comes_before_the_default_home_country_first() {
        let available = [lang("en_US"), lang("fr_BE"), lang("fr_FR"), lang("fr_CA"), lang("frr")];
        assert_eq!(
            template_fallbacks(Some(&lang("fr_CH")), &available),
            vec![
                TemplateKey::Lang(lang("fr_CH")),
                TemplateKey::Lang(lang("fr")),
                TemplateKey::Lang(lang("fr_FR")),
                TemplateKey::Lang(lang("fr_BE")),
                TemplateKey::Lang(lang("fr_CA")),
                TemplateKey::Default
            ]
        );
        // The exact tag and its parents are never listed twice; other languages never appear.
        assert_eq!(
            template_fallbacks(Some(&lang("fr_CA")), &available),
            vec![
                TemplateKey::Lang(lang("fr_CA")),
                TemplateKey::Lang(lang("fr")),
                TemplateKey::Lang(lang("fr_FR")),
                TemplateKey::Lang(lang("fr_BE")),
                TemplateKey::Default
            ]
        );
        assert_eq!(template_fallbacks(Some(&lang("de_AT")), &available).last(), Some(&TemplateKey::Default));
        assert_eq!(template_fallbacks(Some(&lang("de_AT")), &available).len(), 3);
    }

    #[test]
    fn language_tags_are_normalised_to_the_cms_form() {
        assert_eq!(lang("en_US").as_str(), "en_US");
        assert_eq!(lang("en-us").as_str(), "en_US");
        assert_eq!(lang("ES").as_str(), "es");
        assert_eq!(lang("zh_hant_tw").as_str(), "zh_Hant_TW");
        assert_eq!(lang("es_419").as_str(), "es_419");
    }

    #[test]
    fn language_tags_that_could_be_paths_or_junk_are_refused() {
        for bad in ["", "../etc/passwd", "en_US/../../x", "e", "english", "en_US_POSIX_X", "en_U$", "en%2f", "en__US", "en_"] {
            assert!(Language::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn tenant_names_are_lower_case_slugs() {
        assert!(TenantName::parse("acme").is_ok());
        assert!(TenantName::parse("tenant-2_eu").is_ok());
        for bad in ["", "Acme", "-x", "a/b", "..", "a.b", "a%2fb", &"x".repeat(65)] {
            assert!(TenantName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn resource_names_accept_what_cms_asks_for_and_nothing_path_like() {
        for ok in ["background.jpg", "welcome.wav", "total_participant_12.wav", "ivr_background.jpg", "logo.png"] {
            assert!(ResourceName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "../welcome.wav",
            "..%2fwelcome.wav",
            "a/b.wav",
            "a\\b.wav",
            "Welcome.wav",
            "welcome.WAV",
            "welcome.wav.exe",
            "welcome",
            ".wav",
            "welcome.mp3",
            "we lcome.wav",
            "welcome.wav\0",
        ] {
            assert!(ResourceName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(ResourceName::parse("background.jpg").unwrap().media(), MediaKind::Jpeg);
    }

    #[test]
    fn known_names_include_total_participant_one_to_twenty_only() {
        let known = |n: &str, k| ResourceName::parse(n).unwrap().is_known(k);
        assert!(known("total_participant_1.wav", FileKind::Call));
        assert!(known("total_participant_20.wav", FileKind::Call));
        assert!(!known("total_participant_21.wav", FileKind::Call));
        assert!(known("total_participant_greater_than_20.wav", FileKind::Call));
        assert!(known("ivr_welcome.wav", FileKind::Ivr));
        assert!(!known("ivr_welcome.wav", FileKind::Call));
        assert!(!known("my_music.wav", FileKind::Call));
    }

    #[test]
    fn template_file_names_map_to_keys_and_back() {
        assert_eq!(TemplateKey::from_file_name("invitation_template.txt"), Some(Ok(TemplateKey::Default)));
        assert_eq!(TemplateKey::from_file_name("invitation_template_en_US.txt"), Some(Ok(TemplateKey::Lang(lang("en_US")))));
        assert!(matches!(TemplateKey::from_file_name("invitation_template_../x.txt"), Some(Err(_))));
        assert_eq!(TemplateKey::from_file_name("readme.txt"), None);
        assert_eq!(TemplateKey::Lang(lang("zh_CN")).file_name(), "invitation_template_zh_CN.txt");
        assert_eq!(TemplateKey::from_storage_name(""), Ok(TemplateKey::Default));
    }

    #[test]
    fn webapp_parts_are_the_four_names_of_the_sample_archive() {
        assert_eq!(webapp_part("favicon.png").unwrap().1, MediaKind::Png);
        assert_eq!(webapp_part("text_strings.json").unwrap().1, MediaKind::Json);
        assert!(webapp_part("sign_in_background_image.jpg").is_err(), "the brief's guessed name is not what CMS uses");
    }
}
