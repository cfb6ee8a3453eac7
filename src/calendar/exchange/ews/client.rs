//! EWS over HTTP: one service account (Basic authentication, or NTLM through
//! [`ntlm`](super::super::ntlm) where Basic is switched off) acting as each mailbox through
//! ExchangeImpersonation and `X-AnchorMailbox`; every answer read into the calendar's model.

use super::read::{self, SyncPage};
use super::soap;
use crate::calendar::exchange::ntlm::{self, NtlmAuth, NtlmError};
use crate::calendar::model::{ChangeMarker, Meeting, ProviderError};
use crate::outbound::{read_body, HttpError, HttpLimits};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, RETRY_AFTER, SET_COOKIE};
use std::time::Duration;

impl From<NtlmError> for ProviderError {
    fn from(e: NtlmError) -> Self {
        match e {
            NtlmError::Http(e) => e.into(),
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
    limits: HttpLimits,
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

impl EwsClient {
    /// Basic authentication, over `http` (build it from the limits given to [`Self::with_limits`]).
    pub fn new(http: reqwest::Client, url: &str, user: &str, password: &str) -> Self {
        use base64::Engine;
        let auth = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")));
        Self { http, url: url.to_string(), auth: Auth::Basic(auth), limits: HttpLimits::default() }
    }

    /// NTLM (`DOMAIN\user` or a UPN), over `lanes` authenticated connections, each a client
    /// with these limits.
    pub fn ntlm(url: &str, user: &str, password: &str, lanes: usize, limits: HttpLimits) -> Result<Self, HttpError> {
        let auth = Auth::Ntlm(std::sync::Arc::new(NtlmAuth::new(user, password, lanes, limits)?));
        Ok(Self { http: ntlm::lane_client(&limits)?, url: url.to_string(), auth, limits })
    }

    /// The answer cap and the timeouts errors name (the client's own timeouts are set where it
    /// is built).
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    pub(super) fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    fn net(&self, e: reqwest::Error) -> ProviderError {
        self.limits.error(e).into()
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
            Auth::Basic(a) => (build(&self.http).header(AUTHORIZATION, a).send().await.map_err(|e| self.net(e))?, None),
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
        let body = read_body(res, &self.limits).await?;
        drop(lane);
        let text = String::from_utf8_lossy(&body).into_owned();
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
            Auth::Basic(a) => build(&self.http).header(AUTHORIZATION, a).send().await.map_err(|e| self.limits.error_within(e, timeout))?,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::testing::{endless_server, silent_server};

    fn limits() -> HttpLimits {
        HttpLimits { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_millis(300), max_answer_bytes: 64 * 1024 }
    }

    fn clients(url: &str, l: HttpLimits) -> [EwsClient; 2] {
        [EwsClient::new(l.client().unwrap(), url, "svc", "pw").with_limits(l), EwsClient::ntlm(url, "EXAMPLE\\svc", "pw", 1, l).unwrap()]
    }

    #[tokio::test]
    async fn ews_gives_up_on_a_server_that_never_answers_with_a_timeout_over_basic_and_ntlm() {
        let (addr, _server) = silent_server().await;
        for c in clients(&format!("http://{addr}/EWS/Exchange.asmx"), limits()) {
            let err = c.sync("ann@example.com", None).await.unwrap_err();
            assert!(matches!(&err, ProviderError::TimedOut(m) if m.contains("0.3 s")), "{err:?}");
            assert!(err.is_transient(), "tried again later");
        }
    }

    #[tokio::test]
    async fn an_ews_answer_that_streams_forever_is_refused_at_the_cap_over_basic_and_ntlm() {
        let (addr, _server) = endless_server().await;
        for c in clients(&format!("http://{addr}/EWS/Exchange.asmx"), HttpLimits { request_timeout: Duration::from_secs(30), ..limits() }) {
            assert_eq!(c.sync("ann@example.com", None).await.unwrap_err(), ProviderError::TooLarge { limit: 64 * 1024 });
        }
    }
}
