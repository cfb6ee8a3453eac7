//! Who is asking: Basic on every request (unless switched off), or NTLM bound to the connection
//! (Negotiate → 401 with a Challenge → Authenticate checked as NTLMv2 → the connection is signed
//! in for its later requests), with the simulator's own NTLM reader and writer ([`ntlm`]).

use super::{ntlm, Shared, SimAccount};
use crate::sync::lock;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

/// Where a connection stands in NTLM.
#[derive(Debug, Clone)]
pub(super) enum NtlmConn {
    Challenged([u8; 8]),
    Authenticated(SimAccount),
}

/// The 401: with the NTLM challenge, or offering the schemes.
pub(super) fn refusal(s: &Shared, challenge: Option<String>) -> Response {
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    let h = r.headers_mut();
    match challenge {
        Some(c) => {
            h.append(header::WWW_AUTHENTICATE, format!("NTLM {c}").parse().unwrap_or(header::HeaderValue::from_static("NTLM")));
        }
        None => {
            if !s.faults.ntlm_only.load(Ordering::Relaxed) {
                h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Basic realm=\"ews.example.com\""));
            }
            h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Negotiate"));
            h.append(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("NTLM"));
        }
    }
    r
}

/// `Err(Some(challenge))`: answer 401 with that NTLM challenge; `Err(None)`: a plain 401.
pub(super) fn authenticate(s: &Shared, peer: SocketAddr, headers: &HeaderMap) -> Result<SimAccount, Option<String>> {
    let given = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let token = given.strip_prefix("NTLM ").or_else(|| given.strip_prefix("Negotiate "));
    let Some(token) = token else {
        if let Some(NtlmConn::Authenticated(a)) = lock(&s.ntlm).get(&peer) {
            return Ok(a.clone());
        }
        if s.faults.ntlm_only.load(Ordering::Relaxed) {
            return Err(None);
        }
        return check_basic(s, headers).ok_or(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(token.trim()).unwrap_or_default();
    match ntlm::read(&bytes) {
        Some(ntlm::ClientMessage::Negotiate { flags }) => {
            s.faults.ntlm_handshakes.fetch_add(1, Ordering::Relaxed);
            let challenge: [u8; 8] = rand::random();
            lock(&s.ntlm).insert(peer, NtlmConn::Challenged(challenge));
            Err(Some(base64::engine::general_purpose::STANDARD.encode(ntlm::challenge(challenge, flags))))
        }
        Some(ntlm::ClientMessage::Authenticate(a)) => {
            let Some(NtlmConn::Challenged(challenge)) = lock(&s.ntlm).get(&peer).cloned() else {
                // An Authenticate on a connection that was not challenged: start over.
                return Err(None);
            };
            let account = s.cfg.accounts.iter().find(|x| x.user.eq_ignore_ascii_case(&a.user)).cloned();
            match account.filter(|acc| ntlm::v2_valid(&a, challenge, &acc.password)) {
                Some(acc) => {
                    lock(&s.ntlm).insert(peer, NtlmConn::Authenticated(acc.clone()));
                    Ok(acc)
                }
                None => {
                    lock(&s.ntlm).remove(&peer);
                    Err(None)
                }
            }
        }
        None => Err(None),
    }
}

/// The account Basic authentication names, when its password is right.
fn check_basic(s: &Shared, headers: &HeaderMap) -> Option<SimAccount> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
    let raw = String::from_utf8(base64::engine::general_purpose::STANDARD.decode(v.trim()).ok()?).ok()?;
    let (u, p) = raw.split_once(':')?;
    s.cfg.accounts.iter().find(|a| a.user.eq_ignore_ascii_case(u) && a.password == p).cloned()
}
