//! EWS over HTTP: one service account (Basic authentication, or NTLM through
//! [`ntlm`](super::super::ntlm) where Basic is switched off) acting as each mailbox through
//! ExchangeImpersonation and `X-AnchorMailbox`; every answer read into the calendar's model.

use super::read::{self, SyncPage};
use super::soap;
use crate::calendar::exchange::ntlm::{self, NtlmAuth, NtlmError};
use crate::calendar::model::{ChangeMarker, Meeting, ProviderError};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use std::time::Duration;

impl From<NtlmError> for ProviderError {
    fn from(e: NtlmError) -> Self {
        match e {
            NtlmError::Network(m) => ProviderError::Unavailable(m),
            NtlmError::NoChallenge => ProviderError::Unauthorized,
            NtlmError::Protocol(m) => ProviderError::Protocol(m),
        }
    }
}

#[derive(Clone)]
pub struct EwsClient {
    http: reqwest::Client,
    url: String,
    auth: Auth,
}

#[derive(Clone)]
enum Auth {
    /// The `Authorization` value.
    Basic(String),
    Ntlm(std::sync::Arc<NtlmAuth>),
}

impl std::fmt::Debug for EwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwsClient").field("url", &self.url).finish_non_exhaustive()
    }
}

pub(super) fn net(e: reqwest::Error) -> ProviderError {
    ProviderError::Unavailable(e.without_url().to_string())
}

impl EwsClient {
    /// Basic authentication.
    pub fn new(http: reqwest::Client, url: &str, user: &str, password: &str) -> Self {
        use base64::Engine;
        let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        Self { http, url: url.to_string(), auth: Auth::Basic(auth) }
    }

    /// NTLM (`DOMAIN\user` or a UPN), over `lanes` authenticated connections.
    pub fn ntlm(url: &str, user: &str, password: &str, lanes: usize) -> Self {
        let auth = Auth::Ntlm(std::sync::Arc::new(NtlmAuth::new(user, password, lanes)));
        Self { http: ntlm::lane_client(), url: url.to_string(), auth }
    }

    /// The request without authentication (added by [`Self::post`]).
    fn request(&self, http: &reqwest::Client, mailbox: &str, body: &str, cookie: Option<&str>) -> reqwest::RequestBuilder {
        let mut req = http
            .post(&self.url)
            .header(CONTENT_TYPE, "text/xml; charset=utf-8")
            .header("X-AnchorMailbox", mailbox)
            .header("X-PreferServerAffinity", "true")
            .body(body.to_string());
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req
    }

    async fn post(&self, mailbox: &str, body: &str, cookie: Option<&str>) -> Result<(String, Option<String>), ProviderError> {
        let envelope = soap::envelope(Some(mailbox), body);
        let build = |http: &reqwest::Client| self.request(http, mailbox, &envelope, cookie);
        let (res, lane) = match &self.auth {
            Auth::Basic(a) => (build(&self.http).header(AUTHORIZATION, a).send().await.map_err(net)?, None),
            Auth::Ntlm(n) => {
                let ntlm::LaneResponse { response, lane } = n.send(build).await?;
                (response, Some(lane))
            }
        };
        if res.status().as_u16() == 401 {
            return Err(ProviderError::Unauthorized);
        }
        let affinity = backend_cookie(res.headers());
        let (status, wait) = (res.status().as_u16(), retry_after(res.headers()));
        let text = res.text().await.map_err(net)?;
        drop(lane);
        if let Some(refused) = read::http_refusal(status, wait, &text) {
            return Err(refused);
        }
        Ok((text, affinity))
    }

    /// The streaming request (a connection of its own under NTLM), authenticated.
    pub(super) async fn send_streaming(
        &self,
        anchor: &str,
        envelope: &str,
        cookie: Option<&str>,
        timeout: Duration,
    ) -> Result<reqwest::Response, ProviderError> {
        let build = |http: &reqwest::Client| self.request(http, anchor, envelope, cookie).timeout(timeout);
        let res = match &self.auth {
            Auth::Basic(a) => build(&self.http).header(AUTHORIZATION, a).send().await.map_err(net)?,
            Auth::Ntlm(n) => n.send_alone(build).await?,
        };
        if res.status().as_u16() == 401 {
            return Err(ProviderError::Unauthorized);
        }
        if res.status().as_u16() == 503 {
            return Err(retry_after(res.headers()).map(ProviderError::throttled).unwrap_or(ProviderError::Busy));
        }
        Ok(res)
    }

    /// Posts `body` as `mailbox`; the answer when its outcome is a success.
    async fn call(&self, mailbox: &str, body: &str, cookie: Option<&str>) -> Result<(String, Option<String>), ProviderError> {
        let (xml, affinity) = self.post(mailbox, body, cookie).await?;
        let o = read::outcome(&xml).map_err(ProviderError::Protocol)?;
        if !o.ok() {
            return Err(o.error(mailbox));
        }
        Ok((xml, affinity))
    }

    /// A streaming subscription to the mailbox's calendar; returns its id and the affinity
    /// cookie Exchange set (to send on the group's later requests).
    pub async fn subscribe(&self, mailbox: &str, cookie: Option<&str>) -> Result<(String, Option<String>), ProviderError> {
        let (xml, affinity) = self.call(mailbox, &soap::subscribe_calendar(), cookie).await?;
        let id = read::subscription_id(&xml).map_err(ProviderError::Protocol)?;
        Ok((id.ok_or_else(|| ProviderError::Protocol("Subscribe answered without a SubscriptionId".into()))?, affinity))
    }

    pub async fn meeting(&self, mailbox: &str, id: &str) -> Result<Meeting, ProviderError> {
        let (xml, _) = self.call(mailbox, &soap::get_item(id), None).await?;
        let m = read::meeting(&xml).map_err(ProviderError::Protocol)?;
        m.ok_or_else(|| ProviderError::Protocol("GetItem answered without the item".into()))
    }

    /// Writes the body and marker; `Conflict` when the ChangeKey is stale.
    pub async fn update_body(
        &self,
        mailbox: &str,
        id: &str,
        change: &ChangeMarker,
        html: &str,
        marker: &str,
    ) -> Result<ChangeMarker, ProviderError> {
        let (xml, _) = self.call(mailbox, &soap::update_body(id, change.as_str(), html, marker), None).await?;
        let ck = read::updated_change_key(&xml).map_err(ProviderError::Protocol)?;
        Ok(ChangeMarker(ck.unwrap_or_default()))
    }

    /// The id of the mailbox's calendar folder (to tell a move into it from a move out of it).
    pub async fn calendar_folder_id(&self, mailbox: &str) -> Result<String, ProviderError> {
        let (xml, _) = self.call(mailbox, &soap::get_calendar_folder(), None).await?;
        let id = read::folder_id(&xml).map_err(ProviderError::Protocol)?;
        id.ok_or_else(|| ProviderError::Protocol("GetFolder answered without a FolderId".into()))
    }

    /// One page of changes since `state` (None: from the beginning).
    pub async fn sync(&self, mailbox: &str, state: Option<&str>) -> Result<SyncPage, ProviderError> {
        let (xml, _) = self.call(mailbox, &soap::sync_folder_items(state, 200), None).await?;
        read::sync_page(&xml).map_err(ProviderError::Protocol)
    }
}

/// A `Retry-After` in seconds.
fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    h.get(RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Exchange's affinity cookie (`X-BackEndOverrideCookie=…`) from a response, as a Cookie value.
fn backend_cookie(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.trim();
        pair.starts_with("X-BackEndOverrideCookie=").then(|| pair.to_string())
    })
}
