//! `users/{id}/calendarView/delta` per mailbox: the first page for a window from yesterday to
//! `days` ahead, the following pages by their links, to the delta link that is stored and asked
//! next time (works without a public URL). A 410 on a link is `SyncStateLost`.

use super::client::{segment, GraphClient};
use crate::calendar::model::ProviderError;
use serde::Deserialize;

/// One page of a delta query: changed event ids (removed ones apart) and where to go next.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DeltaPage {
    /// The events to process: single events as they are, and for each occurrence or exception
    /// of a series its master (`seriesMasterId`) — calendarView never returns the master itself,
    /// and a series is handled once, on it. A master appears once a page however many of its
    /// occurrences do.
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub next_link: Option<String>,
    pub delta_link: Option<String>,
}

#[derive(Deserialize)]
struct DeltaBody {
    #[serde(default)]
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta: Option<String>,
}

impl DeltaBody {
    fn page(self) -> DeltaPage {
        let mut page = DeltaPage { next_link: self.next, delta_link: self.delta, ..Default::default() };
        for v in self.value {
            let id = v.get("id").and_then(|i| i.as_str()).unwrap_or_default().to_string();
            let master = v.get("seriesMasterId").and_then(|i| i.as_str()).filter(|m| !m.is_empty());
            let in_series = matches!(v.get("type").and_then(|t| t.as_str()), Some("occurrence" | "exception"));
            if v.get("@removed").is_some() {
                page.removed.push(id);
            } else if let (true, Some(master)) = (in_series, master) {
                if !page.changed.iter().any(|c| c == master) {
                    page.changed.push(master.to_string());
                }
            } else if !id.is_empty() && !page.changed.contains(&id) {
                page.changed.push(id);
            }
        }
        page
    }
}

pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

impl GraphClient {
    /// The first page of a mailbox's delta (a window from now to `days` ahead), or the page at `link`.
    pub async fn delta(&self, mailbox: &str, link: Option<&str>, days: i64) -> Result<DeltaPage, ProviderError> {
        let url = match link {
            Some(l) => l.to_string(),
            None => {
                let now = time::OffsetDateTime::now_utc();
                format!(
                    "{}/users/{}/calendarView/delta?startDateTime={}&endDateTime={}",
                    self.api,
                    segment(mailbox),
                    rfc3339(now - time::Duration::days(1)),
                    rfc3339(now + time::Duration::days(days))
                )
            }
        };
        let res = self.send(self.http.get(url).header("Prefer", "odata.maxpagesize=50")).await?;
        // (Both Prefer headers are sent; Graph reads each preference.)
        let body: DeltaBody = res.json().await.map_err(|e| ProviderError::Protocol(e.to_string()))?;
        Ok(body.page())
    }
}
