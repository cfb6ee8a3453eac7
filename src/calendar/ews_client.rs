//! EWS over HTTP: one service account (Basic authentication, or NTLM through
//! [`ntlm`](super::ntlm) where Basic is switched off) acting as each mailbox through ExchangeImpersonation and `X-AnchorMailbox`; the streaming connection
//! read as a sequence of SOAP documents; `ErrorServerBusy` answered with its back-off.

use super::ews::{self, Item, Outcome, StreamDoc, SyncPage};
use futures::{Stream, StreamExt};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE, SET_COOKIE};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EwsError {
    #[error("the service account was refused (401)")]
    Unauthorized,
    #[error("no impersonation right for {0}")]
    NoImpersonation(String),
    #[error("Exchange is busy; back off {0:?}")]
    Busy(Duration),
    #[error("the item changed meanwhile (ChangeKey conflict)")]
    Conflict,
    #[error("the subscription is gone (expired, or Exchange restarted)")]
    SubscriptionGone,
    #[error("Exchange answered {code}: {message}")]
    Exchange { code: String, message: String },
    #[error("cannot reach Exchange: {0}")]
    Network(String),
    #[error("unexpected answer from Exchange: {0}")]
    Protocol(String),
}

impl From<super::ntlm::NtlmError> for EwsError {
    fn from(e: super::ntlm::NtlmError) -> Self {
        match e {
            super::ntlm::NtlmError::Network(m) => EwsError::Network(m),
            super::ntlm::NtlmError::NoChallenge => EwsError::Unauthorized,
            super::ntlm::NtlmError::Protocol(m) => EwsError::Protocol(m),
        }
    }
}

impl EwsError {
    /// Worth trying again later (the same request may well succeed): busy or unreachable.
    pub fn is_transient(&self) -> bool {
        matches!(self, EwsError::Busy(_) | EwsError::Network(_))
    }

    fn from_outcome(o: &Outcome, mailbox: &str) -> Self {
        match o.code.as_str() {
            "ErrorServerBusy" => EwsError::Busy(Duration::from_millis(o.back_off_ms.unwrap_or(1000))),
            "ErrorImpersonateUserDenied" | "ErrorImpersonationDenied" | "ErrorNonExistentMailbox" => {
                EwsError::NoImpersonation(mailbox.to_string())
            }
            "ErrorIrresolvableConflict" | "ErrorChangeKeyRequiredForWriteOperations" => EwsError::Conflict,
            "ErrorSubscriptionNotFound" | "ErrorInvalidSubscription" => EwsError::SubscriptionGone,
            _ => EwsError::Exchange { code: o.code.clone(), message: o.message.clone() },
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
    Ntlm(std::sync::Arc<super::ntlm::NtlmAuth>),
}

impl std::fmt::Debug for EwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EwsClient").field("url", &self.url).finish_non_exhaustive()
    }
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
        let auth = Auth::Ntlm(std::sync::Arc::new(super::ntlm::NtlmAuth::new(user, password, lanes)));
        Self { http: super::ntlm::lane_client(), url: url.to_string(), auth }
    }

    /// The request without authentication (added by [`Self::send`]).
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

    async fn post(&self, mailbox: &str, body: &str, cookie: Option<&str>) -> Result<(String, Option<String>), EwsError> {
        let envelope = ews::envelope(Some(mailbox), body);
        let build = |http: &reqwest::Client| self.request(http, mailbox, &envelope, cookie);
        let (res, lane) = match &self.auth {
            Auth::Basic(a) => (build(&self.http).header(AUTHORIZATION, a).send().await.map_err(net)?, None),
            Auth::Ntlm(n) => {
                let super::ntlm::LaneResponse { response, lane } = n.send(build).await?;
                (response, Some(lane))
            }
        };
        if res.status().as_u16() == 401 {
            return Err(EwsError::Unauthorized);
        }
        let affinity = backend_cookie(res.headers());
        let text = res.text().await.map_err(net)?;
        drop(lane);
        Ok((text, affinity))
    }

    async fn call(&self, mailbox: &str, body: &str) -> Result<String, EwsError> {
        let (xml, _) = self.post(mailbox, body, None).await?;
        let o = ews::outcome(&xml).map_err(EwsError::Protocol)?;
        if !o.ok() {
            return Err(EwsError::from_outcome(&o, mailbox));
        }
        Ok(xml)
    }

    /// A streaming subscription to the mailbox's calendar; returns its id and the affinity
    /// cookie Exchange set (to send on the group's later requests).
    pub async fn subscribe(&self, mailbox: &str, cookie: Option<&str>) -> Result<(String, Option<String>), EwsError> {
        let (xml, affinity) = self.post(mailbox, &ews::subscribe_calendar(), cookie).await?;
        let (o, id) = ews::subscription_id(&xml).map_err(EwsError::Protocol)?;
        if !o.ok() {
            return Err(EwsError::from_outcome(&o, mailbox));
        }
        Ok((id.ok_or_else(|| EwsError::Protocol("Subscribe answered without a SubscriptionId".into()))?, affinity))
    }

    pub async fn item(&self, mailbox: &str, id: &str) -> Result<Item, EwsError> {
        let xml = self.call(mailbox, &ews::get_item(id)).await?;
        let (_, it) = ews::item(&xml).map_err(EwsError::Protocol)?;
        it.ok_or_else(|| EwsError::Protocol("GetItem answered without the item".into()))
    }

    /// Writes the body and marker; `Conflict` when the ChangeKey is stale.
    pub async fn update_body(&self, mailbox: &str, id: &str, change_key: &str, html: &str, marker: &str) -> Result<String, EwsError> {
        let xml = self.call(mailbox, &ews::update_body(id, change_key, html, marker)).await?;
        let (_, ck) = ews::updated_change_key(&xml).map_err(EwsError::Protocol)?;
        Ok(ck.unwrap_or_default())
    }

    /// One page of changes since `state` (None: from the beginning).
    pub async fn sync(&self, mailbox: &str, state: Option<&str>) -> Result<SyncPage, EwsError> {
        let xml = self.call(mailbox, &ews::sync_folder_items(state, 200)).await?;
        ews::sync_page(&xml).map_err(EwsError::Protocol)
    }

    /// A streaming connection for up to 200 subscriptions (as the group's first mailbox): the
    /// SOAP documents as they arrive. The stream ends when Exchange closes the connection.
    pub async fn stream(
        &self,
        anchor: &str,
        subscription_ids: &[String],
        timeout_minutes: u32,
        cookie: Option<&str>,
    ) -> Result<impl Stream<Item = Result<StreamDoc, EwsError>>, EwsError> {
        let envelope = ews::envelope(Some(anchor), &ews::get_streaming_events(subscription_ids, timeout_minutes));
        let timeout = Duration::from_secs(u64::from(timeout_minutes.clamp(1, 30)) * 60 + 60);
        let build = |http: &reqwest::Client| self.request(http, anchor, &envelope, cookie).timeout(timeout);
        let res = match &self.auth {
            Auth::Basic(a) => build(&self.http).header(AUTHORIZATION, a).send().await.map_err(net)?,
            Auth::Ntlm(n) => n.send_alone(build).await?,
        };
        if res.status().as_u16() == 401 {
            return Err(EwsError::Unauthorized);
        }
        let bytes = res.bytes_stream();
        let start = (bytes, String::new(), Vec::<u8>::new(), std::collections::VecDeque::<String>::new());
        let docs = futures::stream::unfold(start, |(mut bytes, mut buf, mut partial, mut ready)| async move {
            loop {
                if let Some(doc) = ready.pop_front() {
                    let parsed = ews::stream_doc(&doc).map_err(EwsError::Protocol);
                    return Some((parsed, (bytes, buf, partial, ready)));
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => {
                        // A chunk may end inside a UTF-8 character: keep those bytes for the next one.
                        partial.extend_from_slice(&chunk);
                        let valid = match std::str::from_utf8(&partial) {
                            Ok(s) => s.len(),
                            Err(e) => e.valid_up_to(),
                        };
                        buf.push_str(std::str::from_utf8(&partial[..valid]).unwrap_or_default());
                        partial.drain(..valid);
                        ready.extend(ews::take_documents(&mut buf));
                    }
                    Some(Err(e)) => return Some((Err(EwsError::Network(e.without_url().to_string())), (bytes, buf, partial, ready))),
                    None => return None,
                }
            }
        });
        Ok(docs)
    }
}

fn net(e: reqwest::Error) -> EwsError {
    EwsError::Network(e.without_url().to_string())
}

/// Exchange's affinity cookie (`X-BackEndOverrideCookie=…`) from a response, as a Cookie value.
fn backend_cookie(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|v| {
        let pair = v.split(';').next()?.trim();
        pair.starts_with("X-BackEndOverrideCookie=").then(|| pair.to_string())
    })
}
