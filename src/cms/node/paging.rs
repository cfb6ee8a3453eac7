//! Collections read to their end: CMS answers in pages (often shorter than asked), so rows are
//! followed by `offset` until `total`, the later pages fetched concurrently.

use super::CmsNode;
use crate::cms::error::CmsError;
use crate::cms::xml::{parse_collection, Page};
use futures::stream::{self, StreamExt, TryStreamExt};
use reqwest::Method;
use serde::de::DeserializeOwned;

impl CmsNode {
    /// GET one page of a collection.
    pub async fn page<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)], offset: usize) -> Result<Page<T>, CmsError> {
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("offset", offset.to_string()));
        q.push(("limit", self.cfg.page_size.to_string()));
        let ans = self.send(Method::GET, path, &q, None, path).await?;
        parse_collection(&ans.body).map_err(|r| self.malformed(path, r))
    }

    /// Every row of a collection. CMS may return fewer rows than asked, so this follows
    /// `offset` by what actually came back until `total` is reached. After the first page the
    /// rest are fetched concurrently at the page size the node really uses.
    pub async fn list_all<T: DeserializeOwned + Send>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, CmsError> {
        let first = self.page::<T>(path, query, 0).await?;
        let total = usize::try_from(first.total).unwrap_or(usize::MAX);
        let limit = self.cfg.max_listed_rows;
        if total > limit {
            tracing::warn!(node = %self.cfg.name, %path, claimed = first.total, limit, "CMS claims more rows than Switchboard lists; listing only the first ones");
        }
        let total = total.min(limit);
        let step = first.items.len();
        let mut items = first.items;
        if step == 0 || items.len() >= total {
            return Ok(items);
        }
        let offsets: Vec<usize> = (step..total).step_by(step).collect();
        let pages: Vec<(usize, Page<T>)> = stream::iter(offsets)
            .map(|off| async move { self.page::<T>(path, query, off).await.map(|p| (off, p)) })
            .buffered(self.cfg.max_concurrency.max(1))
            .try_collect()
            .await?;
        for (_, p) in pages {
            items.extend(p.items);
        }
        // The collection may have changed between pages, or pages may have been short:
        // walk on sequentially from wherever we are until `total` is covered.
        let mut guard = 0;
        while items.len() < total && guard < 10_000 {
            guard += 1;
            let p = self.page::<T>(path, query, items.len()).await?;
            if p.items.is_empty() {
                break;
            }
            items.extend(p.items);
        }
        items.truncate(limit);
        Ok(items)
    }

    /// The same, one page after another: the baseline the benchmark compares against.
    pub async fn list_all_sequential<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<T>, CmsError> {
        let mut items = Vec::new();
        loop {
            let p = self.page::<T>(path, query, items.len()).await?;
            let n = p.items.len();
            items.extend(p.items);
            if n == 0 || items.len() as u64 >= p.total.min(self.cfg.max_listed_rows as u64) {
                return Ok(items);
            }
        }
    }
}
