//! Builds the web-app sign-in archive from its stored parts. The zip is deterministic (fixed
//! order, fixed timestamps, no compression: the images are compressed already) so every
//! instance produces the same bytes and therefore the same ETag.

use super::store::BrandingBlob;
use std::io::{Cursor, Write};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

pub fn build(parts: &[BrandingBlob]) -> Result<Vec<u8>, zip::result::ZipError> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for p in parts {
        w.start_file(p.name.as_str(), opts)?;
        w.write_all(&p.content)?;
    }
    Ok(w.finish()?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn part(name: &str, content: &[u8]) -> BrandingBlob {
        BrandingBlob {
            name: name.into(),
            content: content.to_vec(),
            content_type: String::new(),
            sha256: String::new(),
            updated_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_archive_holds_the_parts_at_the_top_and_is_byte_for_byte_reproducible() {
        let parts = [part("favicon.png", b"png-bytes"), part("text_strings.json", br#"{"brand_title":"A"}"#)];
        let a = build(&parts).unwrap();
        assert_eq!(a, build(&parts).unwrap());
        let mut zip = zip::ZipArchive::new(Cursor::new(a)).unwrap();
        let mut names: Vec<String> = zip.file_names().map(str::to_string).collect();
        names.sort();
        assert_eq!(names, ["favicon.png", "text_strings.json"]);
        let mut s = String::new();
        zip.by_name("text_strings.json").unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(s, r#"{"brand_title":"A"}"#);
    }
}
