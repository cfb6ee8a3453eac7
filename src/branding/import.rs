//! `switchboard branding import DIR --tenant NAME`: takes a folder laid out like the original
//! static folder of the sample invite servers and stores what it can, saying what it skipped and
//! why. Layout: `invitation_template.txt` and `invitation_template_<ll_CC>.txt` at the top, call
//! files in `CallBranding/` or `call/`, IVR files in `ivr/`, one `*.zip` (at the top or in
//! `webapp/`) as the web-app sign-in archive. Every file goes through the same validation as uploads.

use super::names::{FileKind, TemplateKey};
use super::service::{BrandingError, BrandingService};
use crate::model::AuditAction;
use std::path::{Path, PathBuf};

#[derive(Debug, Default)]
pub struct ImportReport {
    /// (path, what it became, e.g. "call file welcome.wav (replaced): WAV 16-bit mono …").
    pub taken: Vec<(PathBuf, String)>,
    /// (path, why not).
    pub skipped: Vec<(PathBuf, String)>,
    pub tenant_created: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a directory")]
    NotADirectory { path: PathBuf },
    #[error(transparent)]
    Branding(#[from] BrandingError),
}

/// Files larger than this are skipped without being read.
const MAX_FILE: u64 = 8 * 1024 * 1024;

pub async fn import_dir(svc: &BrandingService, dir: &Path, tenant: &str, actor: &str) -> Result<ImportReport, ImportError> {
    let meta = std::fs::metadata(dir).map_err(|source| ImportError::Read { path: dir.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(ImportError::NotADirectory { path: dir.to_path_buf() });
    }
    let mut report = ImportReport { tenant_created: svc.create_tenant(tenant, actor).await?.created, ..Default::default() };

    let mut zips = Vec::new();
    for entry in sorted_entries(dir)? {
        let name = file_name(&entry);
        let ft = std::fs::symlink_metadata(&entry).map_err(|source| ImportError::Read { path: entry.clone(), source })?;
        if ft.file_type().is_symlink() {
            report.skipped.push((entry, "symbolic link; not followed".into()));
        } else if ft.is_dir() {
            match name.to_ascii_lowercase().as_str() {
                "callbranding" | "call" => import_folder(svc, &entry, tenant, FileKind::Call, actor, &mut report).await?,
                "ivr" => import_folder(svc, &entry, tenant, FileKind::Ivr, actor, &mut report).await?,
                "webapp" => {
                    for inner in sorted_entries(&entry)? {
                        if file_name(&inner).ends_with(".zip") && inner.is_file() {
                            zips.push(inner);
                        } else {
                            report.skipped.push((inner, "only a .zip sign-in archive is read from webapp/".into()));
                        }
                    }
                }
                _ => report.skipped.push((entry, "folder not part of the layout (CallBranding/, call/, ivr/, webapp/)".into())),
            }
        } else if name.ends_with(".zip") {
            zips.push(entry);
        } else if let Some(key) = TemplateKey::from_file_name(&name) {
            match key {
                Ok(key) => take(svc, &entry, tenant, FileKind::Template, &key.label(), actor, &mut report).await?,
                Err(e) => report.skipped.push((entry, e.to_string())),
            }
        } else {
            report
                .skipped
                .push((entry, "not part of the layout (invitation_template[_ll_CC].txt at the top, call files in CallBranding/)".into()));
        }
    }
    match zips.len() {
        0 => {}
        1 => {
            let z = zips.remove(0);
            take(svc, &z, tenant, FileKind::WebappArchive, "webapp.zip", actor, &mut report).await?;
        }
        _ => {
            let names: Vec<String> = zips.iter().map(|z| file_name(z)).collect();
            for z in zips {
                report.skipped.push((z, format!("several .zip archives ({}); keep only the sign-in archive", names.join(", "))));
            }
        }
    }
    Ok(report)
}

async fn import_folder(
    svc: &BrandingService,
    dir: &Path,
    tenant: &str,
    kind: FileKind,
    actor: &str,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    for entry in sorted_entries(dir)? {
        let name = file_name(&entry);
        let meta = std::fs::symlink_metadata(&entry).map_err(|source| ImportError::Read { path: entry.clone(), source })?;
        if !meta.is_file() {
            report.skipped.push((entry, "not a regular file".into()));
            continue;
        }
        take(svc, &entry, tenant, kind, &name, actor, report).await?;
    }
    Ok(())
}

/// Reads and stores one file; a refusal is recorded as skipped, only storage failures stop the import.
async fn take(
    svc: &BrandingService,
    path: &Path,
    tenant: &str,
    kind: FileKind,
    name: &str,
    actor: &str,
    report: &mut ImportReport,
) -> Result<(), ImportError> {
    let len = std::fs::metadata(path).map_err(|source| ImportError::Read { path: path.to_path_buf(), source })?.len();
    if len > MAX_FILE {
        report.skipped.push((path.to_path_buf(), format!("{len} bytes; larger than any file CMS accepts")));
        return Ok(());
    }
    let content = std::fs::read(path).map_err(|source| ImportError::Read { path: path.to_path_buf(), source })?;
    match svc.put(tenant, kind, name, &content, actor, AuditAction::BrandingImport).await {
        Ok(out) => {
            let how = if out.replaced { "replaced" } else { "new" };
            let mut what = format!("{} {} ({how}): {}", kind.label(), out.name, out.detail);
            for w in out.warnings {
                what.push_str("; warning: ");
                what.push_str(&w);
            }
            report.taken.push((path.to_path_buf(), what));
        }
        // Our failures stop the import; the file's own problems only skip it.
        Err(e @ (BrandingError::Store(_) | BrandingError::Archive(_))) => return Err(e.into()),
        Err(e) => report.skipped.push((path.to_path_buf(), e.to_string())),
    }
    Ok(())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, ImportError> {
    let read = std::fs::read_dir(dir).map_err(|source| ImportError::Read { path: dir.to_path_buf(), source })?;
    let mut out = Vec::new();
    for e in read {
        out.push(e.map_err(|source| ImportError::Read { path: dir.to_path_buf(), source })?.path());
    }
    out.sort();
    Ok(out)
}

fn file_name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::branding::validate::samples;
    use crate::store::test_store;

    #[tokio::test]
    async fn a_sample_style_folder_is_imported_with_reasons_for_what_is_skipped() {
        let (store, _db) = test_store().await;
        let svc = BrandingService::new(store.clone());
        let src = tempfile::tempdir().unwrap();
        let d = src.path();
        std::fs::write(d.join("invitation_template.txt"), "Subject: hi\nbody").unwrap();
        std::fs::write(d.join("invitation_template_en_US.txt"), "Subject: hi US").unwrap();
        std::fs::write(d.join("invitation_template_xx_YY_ZZ_Q.txt"), "Subject: bad tag").unwrap();
        std::fs::write(d.join("notes.md"), "hello").unwrap();
        std::fs::create_dir(d.join("CallBranding")).unwrap();
        std::fs::write(d.join("CallBranding/welcome.wav"), samples::wav(16_000, 1, 16, 160)).unwrap();
        std::fs::write(d.join("CallBranding/background.jpg"), samples::jpg(1920, 1080)).unwrap();
        std::fs::write(d.join("CallBranding/stereo.wav"), samples::wav(16_000, 2, 16, 160)).unwrap();
        std::fs::create_dir(d.join("ivr")).unwrap();
        std::fs::write(d.join("ivr/ivr_welcome.wav"), samples::wav(8_000, 1, 16, 80)).unwrap();
        std::fs::create_dir(d.join("static")).unwrap();

        let r = import_dir(&svc, d, "acme", "cli").await.unwrap();
        assert!(r.tenant_created);
        let mut taken: Vec<String> = r.taken.iter().map(|(p, _)| file_name(p)).collect();
        taken.sort();
        assert_eq!(taken, ["background.jpg", "invitation_template.txt", "invitation_template_en_US.txt", "ivr_welcome.wav", "welcome.wav"]);
        assert_eq!(r.taken.len(), 5, "{:?}", r.taken);
        let skipped: Vec<(String, String)> = r.skipped.iter().map(|(p, w)| (file_name(p), w.clone())).collect();
        assert_eq!(skipped.len(), 4, "{skipped:?}");
        assert!(skipped.iter().any(|(n, w)| n == "stereo.wav" && w.contains("mono")), "{skipped:?}");
        assert!(skipped.iter().any(|(n, _)| n == "notes.md"));
        assert!(skipped.iter().any(|(n, _)| n == "static"));
        assert!(skipped.iter().any(|(n, _)| n.starts_with("invitation_template_xx")));

        let again = import_dir(&svc, d, "acme", "cli").await.unwrap();
        assert!(!again.tenant_created);
        assert!(again.taken.iter().all(|(_, w)| w.contains("(replaced)")), "{:?}", again.taken);
        let audit = crate::store::AuditLog::new(store.clone()).page(0, 100, Some(AuditAction::BrandingImport)).await.unwrap();
        assert!(audit.total >= 10, "every imported file is audited");
    }

    #[tokio::test]
    async fn a_missing_folder_is_an_error_naming_it() {
        let (store, _db) = test_store().await;
        let svc = BrandingService::new(store);
        let err = import_dir(&svc, Path::new("/nonexistent/branding"), "acme", "cli").await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/branding"));
    }
}
