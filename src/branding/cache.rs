//! The in-memory cache in front of the database for what CMS fetches: bodies ready to send
//! (with their validators and a gzipped copy), and "not there" answers too. Cleared on every
//! change; loads started before a clear are not cached.

use super::names::{FileKind, MediaKind};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::any::Any;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

/// Cached answers (including "not there") beyond this many are dropped wholesale, so requests for
/// endless made-up names cannot grow memory without bound.
pub(super) const MAX_CACHE_ENTRIES: usize = 20_000;

/// A body ready to send, with the validators HTTP caching needs, computed once per change.
pub struct Served {
    pub body: Bytes,
    /// Gzipped body, for text worth compressing.
    pub gzip: Option<Bytes>,
    pub content_type: String,
    /// Quoted strong ETag of `body`; the gzip variant's is `etag_gzip`.
    pub etag: String,
    pub etag_gzip: String,
    pub last_modified: SystemTime,
    /// For templates: which template answered ("en_US", "es", "default").
    pub served: Option<String>,
    /// What the HTTP side derives from this body once (its ready-made response headers), kept
    /// with it so that it is built once per change instead of once per request. Opaque here:
    /// the domain knows nothing of HTTP types.
    pub prepared: OnceLock<Box<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Served {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Served")
            .field("bytes", &self.body.len())
            .field("gzip_bytes", &self.gzip.as_ref().map(Bytes::len))
            .field("content_type", &self.content_type)
            .field("etag", &self.etag)
            .field("last_modified", &self.last_modified)
            .field("served", &self.served)
            .finish_non_exhaustive()
    }
}

impl Served {
    pub(super) fn new(
        content: Vec<u8>,
        content_type: String,
        sha256: &str,
        updated_at: time::OffsetDateTime,
        media: MediaKind,
        served: Option<String>,
    ) -> Self {
        let tag = &sha256[..sha256.len().min(32)];
        let gzip = (media.is_text() && content.len() > 256).then(|| gzip(&content)).flatten().map(Bytes::from);
        Served {
            body: Bytes::from(content),
            gzip,
            content_type,
            etag: format!("\"{tag}\""),
            etag_gzip: format!("\"{tag}-gz\""),
            last_modified: SystemTime::from(updated_at),
            served,
            prepared: OnceLock::new(),
        }
    }
}

fn gzip(data: &[u8]) -> Option<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).ok()?;
    let out = enc.finish().ok()?;
    (out.len() < data.len()).then_some(out)
}

pub fn sha256_hex(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// The answer to a CMS fetch.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<Served>),
    /// The tenant exists but has nothing under that name (CMS then uses its default).
    Missing,
    UnknownTenant,
}

pub(super) type Key = (String, FileKind, String);

#[derive(Default)]
pub(super) struct Cache {
    /// Bumped on every clear; a load started under an older epoch is not cached.
    pub(super) epoch: u64,
    pub(super) generation: Option<i64>,
    pub(super) tenants: HashMap<String, Option<i64>>,
    pub(super) entries: HashMap<Key, Option<Arc<Served>>>,
}

impl Cache {
    pub(super) fn clear(&mut self) {
        self.epoch += 1;
        self.tenants.clear();
        self.entries.clear();
    }
}
