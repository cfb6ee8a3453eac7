//! Checks on uploaded and imported content before it is stored, so CMS is only ever handed files
//! it can use: WAV prompts in the format of the CMS Customization Guide (16-bit PCM, mono, one of
//! the listed rates, under about 1000 kB), JPG/PNG whose bytes match the name, `text_strings.json`
//! with the known keys, UTF-8 templates, and sign-in archives holding only the known parts.

use super::names::{webapp_part, MediaKind, TEXT_STRINGS_KEYS, WEBAPP_PARTS};
use std::io::{Cursor, Read};

/// Sample rates CMS accepts for prompts (../shared/reference/cms.md §1.2).
pub const WAV_RATES: &[u32] = &[8_000, 16_000, 22_050, 32_000, 44_100, 48_000];
/// "under about 1000 kB" for prompts that repeat; applied to every prompt so none is refused by CMS.
pub const MAX_WAV_BYTES: usize = 1_000 * 1024;
pub const MAX_IMAGE_BYTES: usize = 1536 * 1024;
pub const MAX_IMAGE_SIDE: usize = 4096;
pub const MIN_IMAGE_SIDE: usize = 16;
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;
pub const MAX_TEXT_STRINGS_BYTES: usize = 16 * 1024;
pub const MAX_TEXT_STRING_CHARS: usize = 200;
pub const MAX_ARCHIVE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("{what} is {size} bytes; the limit is {limit} bytes")]
    TooLarge { what: String, size: usize, limit: usize },
    #[error("{0}")]
    Invalid(String),
}

impl ValidationError {
    fn invalid(msg: impl Into<String>) -> Self {
        ValidationError::Invalid(msg.into())
    }
}

fn check_size(what: &str, bytes: &[u8], limit: usize) -> Result<(), ValidationError> {
    if bytes.len() > limit {
        return Err(ValidationError::TooLarge { what: what.to_string(), size: bytes.len(), limit });
    }
    if bytes.is_empty() {
        return Err(ValidationError::invalid(format!("{what} is empty")));
    }
    Ok(())
}

/// What was learnt about accepted content; shown on the page next to the file.
pub fn validate(name: &str, media: MediaKind, bytes: &[u8]) -> Result<String, ValidationError> {
    match media {
        MediaKind::Wav => validate_wav(name, bytes),
        MediaKind::Jpeg | MediaKind::Png => validate_image(name, media, bytes),
        MediaKind::Json => validate_text_strings(bytes),
        MediaKind::Text => validate_template(bytes).map(|_| format!("{} lines", String::from_utf8_lossy(bytes).lines().count())),
        MediaKind::Zip => validate_archive(bytes).map(|names| format!("archive with {}", names.join(", "))),
    }
}

pub fn validate_wav(name: &str, bytes: &[u8]) -> Result<String, ValidationError> {
    check_size(name, bytes, MAX_WAV_BYTES)?;
    let reader = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| ValidationError::invalid(format!("{name} is not a readable WAV file ({e})")))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(ValidationError::invalid(format!(
            "{name} is {}-bit {}; CMS needs 16-bit signed PCM",
            spec.bits_per_sample,
            if spec.sample_format == hound::SampleFormat::Float { "float" } else { "PCM" }
        )));
    }
    if spec.channels != 1 {
        return Err(ValidationError::invalid(format!("{name} has {} channels; CMS needs mono", spec.channels)));
    }
    if !WAV_RATES.contains(&spec.sample_rate) {
        return Err(ValidationError::invalid(format!(
            "{name} is sampled at {} Hz; CMS accepts 8000, 16000, 22050, 32000, 44100 or 48000 Hz",
            spec.sample_rate
        )));
    }
    let seconds = reader.duration() as f64 / spec.sample_rate as f64;
    Ok(format!("WAV 16-bit mono {} Hz, {seconds:.1} s", spec.sample_rate))
}

pub fn validate_image(name: &str, media: MediaKind, bytes: &[u8]) -> Result<String, ValidationError> {
    check_size(name, bytes, MAX_IMAGE_BYTES)?;
    let actual = imagesize::image_type(bytes).map_err(|_| ValidationError::invalid(format!("{name} is not a JPG or PNG image")))?;
    let (expected, label) = match media {
        MediaKind::Png => (imagesize::ImageType::Png, "PNG"),
        _ => (imagesize::ImageType::Jpeg, "JPG"),
    };
    if actual != expected {
        return Err(ValidationError::invalid(format!("{name} is named like a {label} but its content is {actual:?}")));
    }
    let size =
        imagesize::blob_size(bytes).map_err(|e| ValidationError::invalid(format!("{name}: cannot read the image dimensions ({e})")))?;
    let (w, h) = (size.width, size.height);
    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE || w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
        return Err(ValidationError::invalid(format!("{name} is {w}×{h} pixels; each side must be {MIN_IMAGE_SIDE}–{MAX_IMAGE_SIDE}")));
    }
    Ok(format!("{label} {w}×{h}"))
}

pub fn validate_text_strings(bytes: &[u8]) -> Result<String, ValidationError> {
    check_size("text_strings.json", bytes, MAX_TEXT_STRINGS_BYTES)?;
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ValidationError::invalid(format!("text_strings.json is not valid JSON ({e})")))?;
    let Some(obj) = value.as_object() else {
        return Err(ValidationError::invalid("text_strings.json must be one JSON object of strings"));
    };
    let unknown: Vec<&str> = obj.keys().map(String::as_str).filter(|k| !TEXT_STRINGS_KEYS.contains(k)).collect();
    if !unknown.is_empty() {
        return Err(ValidationError::invalid(format!(
            "text_strings.json has unknown keys {}; allowed: {}",
            unknown.join(", "),
            TEXT_STRINGS_KEYS.join(", ")
        )));
    }
    if obj.is_empty() {
        return Err(ValidationError::invalid(format!("text_strings.json has no keys; use some of {}", TEXT_STRINGS_KEYS.join(", "))));
    }
    for (k, v) in obj {
        let Some(s) = v.as_str() else {
            return Err(ValidationError::invalid(format!("text_strings.json: '{k}' must be a string")));
        };
        if s.chars().count() > MAX_TEXT_STRING_CHARS {
            return Err(ValidationError::invalid(format!("text_strings.json: '{k}' is longer than {MAX_TEXT_STRING_CHARS} characters")));
        }
    }
    let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    keys.sort_unstable();
    Ok(format!("keys: {}", keys.join(", ")))
}

/// A template must be UTF-8 text of sensible size; its grammar is only warned about (see `preview`).
pub fn validate_template(bytes: &[u8]) -> Result<&str, ValidationError> {
    check_size("The template", bytes, MAX_TEMPLATE_BYTES)?;
    let text = std::str::from_utf8(bytes)
        .map_err(|e| ValidationError::invalid(format!("The template is not UTF-8 text (invalid byte at {})", e.valid_up_to())))?;
    if text.contains('\0') {
        return Err(ValidationError::invalid("The template contains a NUL byte; it must be plain text"));
    }
    if text.trim().is_empty() {
        return Err(ValidationError::invalid("The template is empty"));
    }
    if let Some(msg) = super::preview::render_preview(text).too_deep {
        return Err(ValidationError::invalid(format!("The template is refused: {msg}")));
    }
    Ok(text)
}

/// An uploaded sign-in archive: a readable zip holding only the known parts, each valid.
/// Returns the part names found.
pub fn validate_archive(bytes: &[u8]) -> Result<Vec<String>, ValidationError> {
    check_size("The archive", bytes, MAX_ARCHIVE_BYTES)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ValidationError::invalid(format!("The archive is not a readable zip file ({e})")))?;
    let mut found = Vec::new();
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| ValidationError::invalid(format!("The archive's entry {i} cannot be read ({e})")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let (part, media) = webapp_part(&name).map_err(|_| {
            ValidationError::invalid(format!(
                "The archive holds '{name}'; a sign-in archive holds only {} at its top level",
                WEBAPP_PARTS.join(", ")
            ))
        })?;
        // Read at most one byte past the part's limit, so a zip bomb costs nothing.
        let limit = part_limit(media);
        let mut content = Vec::new();
        (&mut entry)
            .take(limit as u64 + 1)
            .read_to_end(&mut content)
            .map_err(|e| ValidationError::invalid(format!("The archive's {name} cannot be unpacked ({e})")))?;
        validate(part, media, &content).map_err(|e| match e {
            ValidationError::TooLarge { size, limit, .. } if size > limit => {
                ValidationError::invalid(format!("The archive's {name} is larger than {limit} bytes"))
            }
            other => ValidationError::invalid(format!("In the archive: {other}")),
        })?;
        found.push(part.to_string());
    }
    if found.is_empty() {
        return Err(ValidationError::invalid(format!("The archive is empty; it should hold {}", WEBAPP_PARTS.join(", "))));
    }
    Ok(found)
}

fn part_limit(media: MediaKind) -> usize {
    match media {
        MediaKind::Json => MAX_TEXT_STRINGS_BYTES,
        _ => MAX_IMAGE_BYTES,
    }
}

#[cfg(test)]
pub(crate) mod samples {
    //! Small valid files built in code, for tests here and in the service.

    pub fn wav(rate: u32, channels: u16, bits: u16, samples: usize) -> Vec<u8> {
        let spec = hound::WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format: hound::SampleFormat::Int };
        let mut cur = std::io::Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cur, spec).expect("wav writer");
            for i in 0..samples * channels as usize {
                if bits == 16 {
                    w.write_sample((i % 100) as i16).expect("sample");
                } else {
                    w.write_sample((i % 100) as i32).expect("sample");
                }
            }
            w.finalize().expect("finalize");
        }
        cur.into_inner()
    }

    /// A PNG header with the given dimensions: enough for type and size checks.
    pub fn png(w: u32, h: u32) -> Vec<u8> {
        let mut v = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13, b'I', b'H', b'D', b'R'];
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&[8, 6, 0, 0, 0, 0, 0, 0, 0]);
        v
    }

    /// A JPEG start with an SOF0 segment of the given dimensions.
    pub fn jpg(w: u16, h: u16) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
        v.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        v.extend_from_slice(&h.to_be_bytes());
        v.extend_from_slice(&w.to_be_bytes());
        v.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9]);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    #[test]
    fn wav_prompts_must_be_16_bit_pcm_mono_at_an_allowed_rate() {
        assert!(validate_wav("welcome.wav", &wav(16_000, 1, 16, 1600)).unwrap().contains("16000 Hz"));
        assert!(validate_wav("a.wav", &wav(48_000, 1, 16, 10)).is_ok());
        let stereo = validate_wav("a.wav", &wav(16_000, 2, 16, 10)).unwrap_err().to_string();
        assert!(stereo.contains("2 channels"), "{stereo}");
        let rate = validate_wav("a.wav", &wav(11_025, 1, 16, 10)).unwrap_err().to_string();
        assert!(rate.contains("11025 Hz"), "{rate}");
        let bits = validate_wav("a.wav", &wav(16_000, 1, 24, 10)).unwrap_err().to_string();
        assert!(bits.contains("24-bit"), "{bits}");
        assert!(validate_wav("a.wav", b"RIFF....WAVEjunk").is_err());
    }

    #[test]
    fn wav_prompts_over_about_1000_kb_are_refused() {
        let big = wav(16_000, 1, 16, MAX_WAV_BYTES / 2 + 10);
        assert!(matches!(validate_wav("waiting_for_host.wav", &big), Err(ValidationError::TooLarge { .. })));
    }

    #[test]
    fn images_must_match_their_extension_and_have_sane_dimensions() {
        assert_eq!(validate_image("logo.png", MediaKind::Png, &png(200, 80)).unwrap(), "PNG 200×80");
        assert_eq!(validate_image("bg.jpg", MediaKind::Jpeg, &jpg(1920, 1080)).unwrap(), "JPG 1920×1080");
        let swapped = validate_image("bg.jpg", MediaKind::Jpeg, &png(100, 100)).unwrap_err().to_string();
        assert!(swapped.contains("named like a JPG"), "{swapped}");
        let huge = validate_image("bg.png", MediaKind::Png, &png(10_000, 100)).unwrap_err().to_string();
        assert!(huge.contains("10000×100"), "{huge}");
        assert!(validate_image("bg.png", MediaKind::Png, &png(4, 4)).is_err());
        assert!(validate_image("bg.png", MediaKind::Png, b"GIF89a......").is_err());
    }

    #[test]
    fn text_strings_accepts_only_the_four_brand_keys_as_strings() {
        assert!(validate_text_strings(br#"{"brand_title":"Acme","brand_tag_line":"Meet"}"#).is_ok());
        let unknown = validate_text_strings(br#"{"brand_title":"A","title":"B"}"#).unwrap_err().to_string();
        assert!(unknown.contains("title") && unknown.contains("brand_subtitle"), "{unknown}");
        assert!(validate_text_strings(br#"{"brand_title":5}"#).is_err());
        assert!(validate_text_strings(br#"["brand_title"]"#).is_err());
        assert!(validate_text_strings(b"{}").is_err());
        assert!(validate_text_strings(b"{not json").is_err());
    }

    #[test]
    fn templates_must_be_non_empty_utf8_text() {
        assert!(validate_template("Subject: hi\nbody".as_bytes()).is_ok());
        assert!(validate_template(&[0xff, 0xfe, 0x00]).is_err());
        assert!(validate_template(b"   \n").is_err());
        assert!(matches!(validate_template(&vec![b'a'; MAX_TEMPLATE_BYTES + 1]), Err(ValidationError::TooLarge { .. })));
    }

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (n, b) in entries {
            w.start_file(*n, zip::write::SimpleFileOptions::default()).unwrap();
            std::io::Write::write_all(&mut w, b).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn archives_hold_only_valid_known_parts_at_the_top() {
        let good = zip_of(&[("sign_in_logo.png", &png(300, 100)), ("text_strings.json", br#"{"brand_title":"Acme"}"#)]);
        assert_eq!(validate_archive(&good).unwrap(), vec!["sign_in_logo.png", "text_strings.json"]);
        let traversal = zip_of(&[("../sign_in_logo.png", &png(300, 100))]);
        assert!(validate_archive(&traversal).unwrap_err().to_string().contains("../sign_in_logo.png"));
        let bad_part = zip_of(&[("favicon.png", b"not a png")]);
        assert!(validate_archive(&bad_part).is_err());
        assert!(validate_archive(b"PK\x03\x04 not really").is_err());
    }

    #[test]
    fn a_template_nested_thirty_thousand_deep_is_refused_with_the_reason() {
        let t = format!("Subject: x\n#if {}name{}\nhi\n#endif\n", "(".repeat(30_000), ")".repeat(30_000));
        let err = validate_template(t.as_bytes()).unwrap_err().to_string();
        assert!(err.contains("nests") && err.contains("32"), "{err}");
        assert!(validate_template(b"Subject: x\n#if ((name))\nhi\n#endif\n").is_ok());
    }
}
