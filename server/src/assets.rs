//! The browser bundle (`/pkg`): served under a directory named by a hash of its contents, so a
//! browser may keep it for a year and a new build is fetched at once; the `.br` / `.gz` files
//! made at build time (`scripts/precompress`) go out to browsers that accept them.

use axum::http::{header, HeaderValue};
use axum::Router;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Cache-Control of the hashed directory: its contents never change under that name.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Clone, Debug)]
pub struct Bundle {
    dir: PathBuf,
    /// `pkg/<hash>`: the `site_pkg_dir` pages link to.
    pub pkg_dir: String,
}

impl Bundle {
    /// Reads the built bundle under `site_root/pkg` once, at start: every file of the build (the
    /// main part, the split-out page chunks, their loader, the stylesheet), by name and content;
    /// the `.br` / `.gz` copies follow from those. No bundle hashes as empty (integration tests
    /// run without a browser build).
    pub fn load(site_root: &Path) -> Self {
        let dir = site_root.join("pkg");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| entries.filter_map(|e| e.ok()).filter_map(|e| e.file_name().into_string().ok()).collect())
            .unwrap_or_default();
        names.retain(|n| !n.ends_with(".br") && !n.ends_with(".gz"));
        names.sort();
        let mut hash = Sha256::new();
        for name in names {
            hash.update(name.as_bytes());
            hash.update(std::fs::read(dir.join(&name)).unwrap_or_default());
        }
        let digest = hash.finalize();
        let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
        Self { dir, pkg_dir: format!("pkg/{short}") }
    }

    /// `/pkg/<hash>/…` with precompressed variants and a year of caching; plain `/pkg/…` (what
    /// the pages without the app link to) is revalidated on each use.
    pub fn routes<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let files = || ServeDir::new(&self.dir).precompressed_br().precompressed_gzip();
        let cache = |value: &'static str| SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static(value));
        Router::new()
            .nest_service(&format!("/{}", self.pkg_dir), tower::ServiceBuilder::new().layer(cache(IMMUTABLE)).service(files()))
            .nest_service("/pkg", tower::ServiceBuilder::new().layer(cache("no-cache")).service(files()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_directory_changes_with_its_contents() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("pkg")).expect("pkg dir");
        std::fs::write(dir.path().join("pkg/switchboard.wasm"), b"one").expect("write");
        let first = Bundle::load(dir.path()).pkg_dir;
        assert_eq!(first, Bundle::load(dir.path()).pkg_dir, "same build, same name");
        std::fs::write(dir.path().join("pkg/switchboard.wasm"), b"two").expect("write");
        let second = Bundle::load(dir.path()).pkg_dir;
        assert_ne!(first, second);
        assert!(second.starts_with("pkg/") && second.len() == "pkg/".len() + 12, "{second}");
        // A page's chunk is part of the bundle; its compressed copies are not (they follow).
        std::fs::write(dir.path().join("pkg/switchboard.wasm.br"), b"x").expect("write");
        assert_eq!(second, Bundle::load(dir.path()).pkg_dir, "a compressed copy changes nothing");
        std::fs::write(dir.path().join("pkg/chunk_1.wasm"), b"page").expect("write");
        assert_ne!(second, Bundle::load(dir.path()).pkg_dir, "a new chunk names a new directory");
    }
}
