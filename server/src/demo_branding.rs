//! Demo mode's branding tenant `demo`, so a newcomer finds templates and a prompt on /branding.
//! Seeded only when the tenant does not exist: operators' data is never overwritten.

use std::io::Cursor;
use switchboard::branding::{BrandingService, FileKind, TenantName};
use switchboard::model::AuditAction;

pub const DEMO_TENANT: &str = "demo";

const DEFAULT_TEMPLATE: &str = "Subject: {% if name %}Invitation: %name%{% else %}You are invited to a meeting{% endif %}

#if name
You are invited to the space %name%.
#else
You are invited to a meeting.
#endif

#if length (web_bridge_addresses) > 0
Join from a browser: %web_bridge_addresses.0.address%
#endif
#for wba in web_bridge_addresses
  %wba.label%: %wba.hyperlink%
#endfor

#if uri
From a video system, call %uri%
#endif
#if numeric_id
From a phone, dial the access number and enter %numeric_id%
#endif
#if passcode
Passcode: %passcode%
#endif
";

const GERMAN_TEMPLATE: &str = "Subject: {% if name %}Einladung: %name%{% else %}Einladung zu einer Besprechung{% endif %}

#if name
Sie sind in den Raum %name% eingeladen.
#endif

#if length (web_bridge_addresses) > 0
Im Browser: %web_bridge_addresses.0.address%
#endif
#if uri
Von einem Videosystem: %uri%
#endif
#if numeric_id
Per Telefon: Einwahlnummer wählen, dann %numeric_id% eingeben
#endif
#if passcode
Kennwort: %passcode%
#endif
";

/// True when it seeded, false when the tenant was already there.
pub async fn seed(svc: &BrandingService) -> anyhow::Result<bool> {
    let tenant = TenantName::parse(DEMO_TENANT)?;
    if svc.tenants().await?.iter().any(|t| t.name == tenant.as_str()) {
        return Ok(false);
    }
    svc.create_tenant(DEMO_TENANT, "demo").await?;
    svc.put(DEMO_TENANT, FileKind::Template, "default", DEFAULT_TEMPLATE.as_bytes(), "demo", AuditAction::BrandingTemplate).await?;
    svc.put(DEMO_TENANT, FileKind::Template, "de_DE", GERMAN_TEMPLATE.as_bytes(), "demo", AuditAction::BrandingTemplate).await?;
    svc.put(DEMO_TENANT, FileKind::Call, "welcome.wav", &tone(16_000, 0.8)?, "demo", AuditAction::BrandingUpload).await?;
    let strings = br#"{"brand_title":"Switchboard demo","brand_subtitle":"Video meetings","brand_tag_line":"Join from anywhere","brand_browser_tab_label":"Demo meetings"}"#;
    svc.put(DEMO_TENANT, FileKind::WebappPart, "text_strings.json", strings, "demo", AuditAction::BrandingUpload).await?;
    Ok(true)
}

/// A short 440 Hz tone with a fade, in the format CMS wants (16-bit PCM mono).
fn tone(rate: u32, seconds: f32) -> anyhow::Result<Vec<u8>> {
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut cur = Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut cur, spec)?;
        let n = (rate as f32 * seconds) as u32;
        for i in 0..n {
            let t = i as f32 / rate as f32;
            let fade = (1.0 - i as f32 / n as f32).min(1.0);
            w.write_sample((f32::sin(t * 440.0 * std::f32::consts::TAU) * 8000.0 * fade) as i16)?;
        }
        w.finalize()?;
    }
    Ok(cur.into_inner())
}
