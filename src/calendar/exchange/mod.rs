//! Exchange's two APIs side by side — EWS ([`ews`], on premises, NTLM through [`ntlm`]) and
//! Microsoft Graph ([`graph`], Exchange Online) — each translating into the calendar's model,
//! and [`Exchange`], which picks the API for a mailbox by its domain (a hybrid organisation has
//! both): Graph when the domain is in `graph_domains` (or Graph is the only API); otherwise EWS
//! when the domain is in `ews_domains` (or that list is empty).

pub mod ews;
pub mod graph;
pub mod ntlm;

use super::model::{ChangeMarker, Meeting, ProviderError};
use ews::EwsClient;
use graph::GraphClient;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Ews,
    Graph,
}

#[derive(Clone, Default)]
pub struct Exchange {
    pub ews: Option<EwsClient>,
    pub ews_domains: Vec<String>,
    pub graph: Option<GraphClient>,
    pub graph_domains: Vec<String>,
}

impl From<EwsClient> for Exchange {
    fn from(ews: EwsClient) -> Self {
        Self { ews: Some(ews), ..Self::default() }
    }
}

impl From<GraphClient> for Exchange {
    fn from(graph: GraphClient) -> Self {
        Self { graph: Some(graph), ..Self::default() }
    }
}

fn in_domains(mailbox: &str, domains: &[String]) -> bool {
    let domain = mailbox.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
    domains.iter().any(|d| d.eq_ignore_ascii_case(domain))
}

impl Exchange {
    /// The API that serves `mailbox`, if any.
    pub fn api_for(&self, mailbox: &str) -> Option<Api> {
        if self.graph.is_some() && (in_domains(mailbox, &self.graph_domains) || (self.ews.is_none() && self.graph_domains.is_empty())) {
            return Some(Api::Graph);
        }
        if self.ews.is_some() && (self.ews_domains.is_empty() || in_domains(mailbox, &self.ews_domains)) {
            return Some(Api::Ews);
        }
        None
    }

    /// One meeting, as the rules need it.
    pub async fn meeting(&self, mailbox: &str, id: &str) -> Result<Meeting, ProviderError> {
        match (self.api_for(mailbox), &self.ews, &self.graph) {
            (Some(Api::Ews), Some(ews), _) => ews.meeting(mailbox, id).await,
            (Some(Api::Graph), _, Some(graph)) => graph.meeting(mailbox, id).await,
            _ => Err(ProviderError::NotServed(mailbox.to_string())),
        }
    }

    /// Writes the body and marker if the meeting is still as read (`change`: its change
    /// marker as read); `Conflict` when it changed meanwhile.
    pub async fn update_body(
        &self,
        mailbox: &str,
        id: &str,
        change: &ChangeMarker,
        body: &str,
        marker: &str,
    ) -> Result<ChangeMarker, ProviderError> {
        match (self.api_for(mailbox), &self.ews, &self.graph) {
            (Some(Api::Ews), Some(ews), _) => ews.update_body(mailbox, id, change, body, marker).await,
            (Some(Api::Graph), _, Some(graph)) => graph.update_body(mailbox, id, change, body, marker).await,
            _ => Err(ProviderError::NotServed(mailbox.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_go_to_graph_by_domain_and_to_ews_otherwise() {
        let ews = EwsClient::new(reqwest::Client::new(), "http://ews.invalid/EWS/Exchange.asmx", "u", "p");
        let graph =
            GraphClient::new(reqwest::Client::new(), "http://login.invalid/t/oauth2/v2.0/token", "http://graph.invalid/v1.0", "id", "s")
                .unwrap();
        let only_ews = Exchange::from(ews.clone());
        assert_eq!(only_ews.api_for("ann@example.com"), Some(Api::Ews));
        let only_graph = Exchange::from(graph.clone());
        assert_eq!(only_graph.api_for("ann@example.com"), Some(Api::Graph));
        let hybrid = Exchange {
            ews: Some(ews),
            ews_domains: vec!["example.com".into()],
            graph: Some(graph),
            graph_domains: vec!["Cloud.Example.com".into()],
        };
        assert_eq!(hybrid.api_for("bob@cloud.example.com"), Some(Api::Graph));
        assert_eq!(hybrid.api_for("ann@example.com"), Some(Api::Ews));
        // Neither list: nobody serves it (and it is not a substring match either).
        assert_eq!(hybrid.api_for("eve@notexample.com"), None);
    }
}
