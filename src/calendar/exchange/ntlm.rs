//! NTLM for EWS (Exchange on premises where Basic is switched off), with `ntlmclient` for the
//! messages and the NTLMv2 response. NTLM authenticates a TCP connection, not a request: the
//! Negotiate, the Challenge and the Authenticate must travel on one connection, and later
//! requests on it need no header. So requests go through "lanes" — each a client that keeps at
//! most one connection, used by one request at a time — and a 401 that offers NTLM is answered
//! with the three-step handshake on that lane. A streaming request gets a lane of its own for
//! as long as the stream lives.

use crate::outbound::{HttpError, HttpLimits};
use base64::Engine;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct NtlmAuth {
    creds: ntlmclient::Credentials,
    workstation: String,
    lanes: Vec<Arc<tokio::sync::Mutex<reqwest::Client>>>,
    next: AtomicUsize,
    limits: HttpLimits,
}

/// A response read while its lane is held (the connection goes back to the lane after).
pub struct LaneResponse {
    pub response: reqwest::Response,
    /// Held until the response is read; dropping it frees the lane.
    pub lane: tokio::sync::OwnedMutexGuard<reqwest::Client>,
}

/// Why a request could not be signed in or sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NtlmError {
    #[error("{0}")]
    Http(HttpError),
    #[error("the server gave no NTLM challenge")]
    NoChallenge,
    #[error("NTLM: {0}")]
    Protocol(String),
}

/// A client that keeps at most one idle connection, HTTP/1.1 (NTLM is per connection).
pub fn lane_client(limits: &HttpLimits) -> Result<reqwest::Client, HttpError> {
    limits
        .client_builder()
        .pool_max_idle_per_host(1)
        .http1_only()
        .build()
        .map_err(|e| HttpError::Network(format!("cannot build the HTTP client: {e}")))
}

/// `DOMAIN\user` → (user, DOMAIN); `user@domain` (a UPN) and `user` are sent as they are.
fn split_account(account: &str) -> (String, String) {
    match account.split_once('\\') {
        Some((domain, user)) => (user.to_string(), domain.to_string()),
        None => (account.to_string(), String::new()),
    }
}

impl NtlmAuth {
    pub fn new(account: &str, password: &str, lanes: usize, limits: HttpLimits) -> Result<Self, HttpError> {
        let (username, domain) = split_account(account);
        let lanes =
            (0..lanes.max(1)).map(|_| lane_client(&limits).map(|c| Arc::new(tokio::sync::Mutex::new(c)))).collect::<Result<_, _>>()?;
        Ok(Self {
            creds: ntlmclient::Credentials { username, password: password.to_string(), domain },
            workstation: "SWITCHBOARD".into(),
            lanes,
            next: AtomicUsize::new(0),
            limits,
        })
    }

    fn net(&self, e: reqwest::Error) -> NtlmError {
        NtlmError::Http(self.limits.error(e))
    }

    /// Sends `build(client)` on a free lane (or the next one), authenticating its connection
    /// when the server asks.
    pub async fn send(&self, build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder) -> Result<LaneResponse, NtlmError> {
        let free = self.lanes.iter().find_map(|l| l.clone().try_lock_owned().ok());
        let lane = match free {
            Some(g) => g,
            None => self.lanes[self.next.fetch_add(1, Ordering::Relaxed) % self.lanes.len()].clone().lock_owned().await,
        };
        let response = self.handshake(&lane, &build).await?;
        Ok(LaneResponse { response, lane })
    }

    /// Sends on a new connection of its own (a stream), authenticated.
    pub async fn send_alone(&self, build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder) -> Result<reqwest::Response, NtlmError> {
        self.handshake(&lane_client(&self.limits).map_err(NtlmError::Http)?, &build).await
    }

    async fn handshake(
        &self,
        client: &reqwest::Client,
        build: &impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, NtlmError> {
        let res = build(client).send().await.map_err(|e| self.net(e))?;
        let offers = |r: &reqwest::Response| {
            r.headers().get_all(WWW_AUTHENTICATE).iter().filter_map(|v| v.to_str().ok()).any(|v| {
                let v = v.trim_start();
                v.starts_with("NTLM") || v.starts_with("Negotiate")
            })
        };
        if res.status() != reqwest::StatusCode::UNAUTHORIZED || !offers(&res) {
            return Ok(res);
        }
        // Read to the end so the connection is free for the next step.
        let _ = crate::outbound::read_body(res, &self.limits).await;
        let negotiate = ntlmclient::Message::Negotiate(ntlmclient::NegotiateMessage {
            flags: ntlmclient::Flags::NEGOTIATE_UNICODE
                | ntlmclient::Flags::REQUEST_TARGET
                | ntlmclient::Flags::NEGOTIATE_NTLM
                | ntlmclient::Flags::NEGOTIATE_WORKSTATION_SUPPLIED,
            supplied_domain: String::new(),
            supplied_workstation: self.workstation.clone(),
            os_version: Default::default(),
        });
        let b64 = |m: &ntlmclient::Message| {
            m.to_bytes()
                .map(|b| base64::engine::general_purpose::STANDARD.encode(b))
                .map_err(|e| NtlmError::Protocol(format!("NTLM message: {e}")))
        };
        let res = build(client).header(AUTHORIZATION, format!("NTLM {}", b64(&negotiate)?)).send().await.map_err(|e| self.net(e))?;
        let challenge = res
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|v| v.strip_prefix("NTLM ").or_else(|| v.strip_prefix("Negotiate ")).map(|t| t.trim().to_string()));
        let _ = crate::outbound::read_body(res, &self.limits).await;
        let Some(challenge) = challenge else { return Err(NtlmError::NoChallenge) };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(challenge)
            .map_err(|_| NtlmError::Protocol("the NTLM challenge is not base64".into()))?;
        let Ok(ntlmclient::Message::Challenge(c)) = ntlmclient::Message::try_from(bytes.as_slice()) else {
            return Err(NtlmError::Protocol("the server's NTLM answer is not a challenge".into()));
        };
        let target_info: Vec<u8> = c.target_information.iter().flat_map(|e| e.to_bytes()).collect();
        let answer = ntlmclient::respond_challenge_ntlm_v2(c.challenge, &target_info, ntlmclient::get_ntlm_time(), &self.creds);
        let authenticate =
            answer.to_message(&self.creds, &self.workstation, ntlmclient::Flags::NEGOTIATE_UNICODE | ntlmclient::Flags::NEGOTIATE_NTLM);
        let res = build(client).header(AUTHORIZATION, format!("NTLM {}", b64(&authenticate)?)).send().await.map_err(|e| self.net(e))?;
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_split_into_user_and_domain_as_windows_writes_them() {
        assert_eq!(split_account("CORP\\svc-switchboard"), ("svc-switchboard".into(), "CORP".into()));
        assert_eq!(split_account("svc@corp.example.com"), ("svc@corp.example.com".into(), String::new()));
    }
}
