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
    /// A link (given, or on the page) to another origin than the configured API is
    /// `ForeignLink`: never requested, never handed on to be stored.
    pub async fn delta(&self, mailbox: &str, link: Option<&str>, days: i64) -> Result<DeltaPage, ProviderError> {
        let req = match link {
            Some(l) => self.http.get(self.own_link(l)?),
            None => {
                let now = time::OffsetDateTime::now_utc();
                self.http.get(format!(
                    "{}/users/{}/calendarView/delta?startDateTime={}&endDateTime={}",
                    self.api,
                    segment(mailbox),
                    rfc3339(now - time::Duration::days(1)),
                    rfc3339(now + time::Duration::days(days))
                ))
            }
        };
        let res = self.send(req.header("Prefer", "odata.maxpagesize=50")).await?;
        // (Both Prefer headers are sent; Graph reads each preference.)
        let body: DeltaBody = self.json(res).await?;
        let page = body.page();
        for l in page.next_link.iter().chain(&page.delta_link) {
            self.own_link(l)?;
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use super::super::client::tests::{client, limits, TOKEN};
    use crate::calendar::model::ProviderError;
    use crate::outbound::testing::Canned;
    use std::time::Duration;

    fn page(next: Option<&str>, delta: Option<&str>) -> String {
        let mut v = serde_json::json!({ "value": [{ "id": "E1" }] });
        if let Some(n) = next {
            v["@odata.nextLink"] = n.into();
        }
        if let Some(d) = delta {
            v["@odata.deltaLink"] = d.into();
        }
        Canned::json(200, "", &v.to_string())
    }

    #[tokio::test]
    async fn graph_links_to_another_host_are_refused_and_never_get_the_token() {
        let elsewhere = Canned::new(&page(None, Some("http://x/")));
        let (other, _o) = elsewhere.start().await;
        let foreign = format!("http://{other}/v1.0/users/ann%40example.com/calendarView/delta?$skiptoken=2");
        let l = limits(Duration::from_secs(10));
        for (next, delta) in [(Some(foreign.as_str()), None), (None, Some(foreign.as_str()))] {
            let graph = Canned::new(&page(next, delta)).on("/t/", &Canned::json(200, "", TOKEN));
            let (api, _a) = graph.start().await;
            let err = client(api, api, l).delta("ann@example.com", None, 30).await.unwrap_err();
            assert!(matches!(&err, ProviderError::ForeignLink(f) if f.origin == format!("http://{other}")), "{err:?}");
            assert!(!err.to_string().contains("skiptoken"), "{err}");
            // A link given to follow (a stored one) is not requested either.
            let err = client(api, api, l).delta("ann@example.com", Some(&foreign), 30).await.unwrap_err();
            assert!(matches!(err, ProviderError::ForeignLink(_)), "{err:?}");
            assert!(graph.requests().iter().any(|r| r.contains("authorization: Bearer app-token")), "the API got the token");
        }
        assert!(elsewhere.requests().is_empty(), "the other host got no request: {:?}", elsewhere.requests());
    }

    #[tokio::test]
    async fn graph_links_on_the_api_host_are_followed() {
        let own = "http://{self}/v1.0/users/ann%40example.com/calendarView/delta?$deltatoken=9";
        let graph = Canned::new(&page(None, Some(own))).on("/t/", &Canned::json(200, "", TOKEN));
        let (api, _a) = graph.start().await;
        let own = own.replace("{self}", &api.to_string());
        let p = client(api, api, limits(Duration::from_secs(10))).delta("ann@example.com", Some(&own), 30).await.unwrap();
        assert_eq!(p.delta_link.as_deref(), Some(own.as_str()));
        assert!(graph.requests().iter().any(|r| r.starts_with("GET /v1.0/users/ann%40example.com/calendarView/delta?$deltatoken=9 ")));
    }
}
