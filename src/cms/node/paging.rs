//! Collections read to their end: CMS answers in pages (often shorter than asked, sometimes in
//! the middle of a list), so `offset` advances by the rows received until `total`, the later
//! pages fetched concurrently.

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

    /// Every row of a collection. CMS may return fewer rows than asked — on any page, also in
    /// the middle — so the offset always advances by the rows that actually came back, and
    /// listing stops at `total` or an empty page. After the first page the rest is read
    /// concurrently, in segments as long as the first page was; a segment whose page came back
    /// short is completed from where that page ended, so no row is skipped or read twice.
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
        if step > 0 && items.len() < total {
            let segments: Vec<(usize, usize)> = (step..total).step_by(step).map(|from| (from, (from + step).min(total))).collect();
            let parts: Vec<(usize, Vec<T>)> = stream::iter(segments)
                .map(|(from, to)| async move { self.segment::<T>(path, query, from, to).await.map(|rows| (to - from, rows)) })
                .buffered(self.cfg.max_concurrency.max(1))
                .try_collect()
                .await?;
            for (len, rows) in parts {
                let complete = rows.len() == len;
                items.extend(rows);
                if !complete {
                    // An empty page inside the list: it shrank while we read. The segments after
                    // this one no longer start where we are; go on one page at a time instead.
                    break;
                }
            }
            // The collection grew or shrank while we read: walk on from where we are.
            while items.len() < total {
                let p = self.page::<T>(path, query, items.len()).await?;
                if p.items.is_empty() {
                    break;
                }
                items.extend(p.items);
            }
        }
        items.truncate(limit);
        Ok(items)
    }

    /// Rows `from..to` of a collection: page after page, each from where the last one ended,
    /// until the segment is full or a page is empty.
    async fn segment<T: DeserializeOwned>(&self, path: &str, query: &[(&str, String)], from: usize, to: usize) -> Result<Vec<T>, CmsError> {
        let mut rows = Vec::new();
        while from + rows.len() < to {
            let p = self.page::<T>(path, query, from + rows.len()).await?;
            if p.items.is_empty() {
                break;
            }
            rows.extend(p.items);
        }
        rows.truncate(to - from);
        Ok(rows)
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
