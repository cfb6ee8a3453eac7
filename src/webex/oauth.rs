//! The Webex integration's OAuth (authorization code with `state` and PKCE S256), through the
//! `oauth2` crate. Two kinds of login share it: the org admin grant (kept, sealed, refreshed in
//! the background) and "Sign in with Webex" (a Switchboard session). Base URLs come from the
//! configuration so the simulator can stand in for `webexapis.com`.

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use time::OffsetDateTime;

/// The tokens of a grant or a sign-in. Sealed at rest; never printed.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSet").field("expires_at", &self.expires_at).finish_non_exhaustive()
    }
}

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// What the integration is and where Webex is.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    pub client_id: String,
    pub client_secret: String,
    /// `https://webexapis.com/v1/authorize`
    pub authorize_url: String,
    /// `https://webexapis.com/v1/access_token`
    pub token_url: String,
    /// `<public url>/auth/webex/callback`
    pub redirect_url: String,
    pub org_scopes: Vec<String>,
    pub user_scopes: Vec<String>,
}

impl OAuthConfig {
    /// The scopes the sample asks for (../shared/reference/webex.md §1).
    pub fn default_org_scopes() -> Vec<String> {
        [
            "spark:all",
            "spark-admin:people_read",
            "spark-admin:telephony_config_read",
            "spark-admin:organizations_read",
            "spark-admin:roles_read",
        ]
        .map(String::from)
        .to_vec()
    }
    pub fn default_user_scopes() -> Vec<String> {
        vec!["spark:all".into()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginKind {
    /// An admin connects the Webex org: the token is kept for the directory, rooms and memberships.
    OrgGrant,
    /// A person signs in to Switchboard with Webex.
    SignIn,
}

/// A login under way: kept in the browser's server-side session between the redirect and the
/// callback. A callback whose `state` is not this one's is refused.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingLogin {
    pub kind: LoginKind,
    pub state: String,
    pub verifier: String,
    /// Unix seconds; a login older than [`PENDING_LIFETIME`] is refused.
    pub started: i64,
    /// Where to go after a sign-in.
    pub next: String,
    /// The Switchboard user who started an org grant.
    pub by: Option<String>,
}

pub const PENDING_LIFETIME: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("Webex sign-in is not configured on this Switchboard.")]
    NotConfigured,
    #[error("Webex says the sign-in was not allowed ({0}). Nothing was stored.")]
    Denied(String),
    #[error("This sign-in answer does not belong to a sign-in started here (the state does not match). Nothing was stored; start again.")]
    StateMismatch,
    #[error("This sign-in took too long or was already used. Nothing was stored; start again.")]
    Stale,
    #[error("Webex refused the sign-in code ({0}). Nothing was stored; start again.")]
    Exchange(String),
    #[error("the refresh token was refused: an admin must connect the Webex org again")]
    RefreshDead,
    #[error("cannot reach Webex: {0}")]
    Network(String),
    #[error("{0}")]
    Config(String),
}

#[derive(Clone)]
pub struct WebexOAuth {
    client: Client,
    /// The token endpoint's client, with the outbound limits (timeouts, answer cap).
    http: crate::outbound::BoundedOAuthHttp,
    org_scopes: Vec<String>,
    user_scopes: Vec<String>,
}

impl WebexOAuth {
    pub fn new(cfg: &OAuthConfig, http: crate::outbound::BoundedOAuthHttp) -> Result<Self, OAuthError> {
        let bad = |what: &str, e: oauth2::url::ParseError| OAuthError::Config(format!("webex: the {what} is not a URL ({e})"));
        let client = BasicClient::new(ClientId::new(cfg.client_id.clone()))
            .set_client_secret(ClientSecret::new(cfg.client_secret.clone()))
            .set_auth_uri(AuthUrl::new(cfg.authorize_url.clone()).map_err(|e| bad("authorize URL", e))?)
            .set_token_uri(TokenUrl::new(cfg.token_url.clone()).map_err(|e| bad("token URL", e))?)
            .set_redirect_uri(RedirectUrl::new(cfg.redirect_url.clone()).map_err(|e| bad("redirect URL", e))?);
        Ok(Self { client, http, org_scopes: cfg.org_scopes.clone(), user_scopes: cfg.user_scopes.clone() })
    }

    /// The URL to send the browser to, and what to remember until the callback.
    pub fn begin(&self, kind: LoginKind, next: &str, now: OffsetDateTime) -> (String, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = match kind {
            LoginKind::OrgGrant => &self.org_scopes,
            LoginKind::SignIn => &self.user_scopes,
        };
        let (url, state) = self
            .client
            .authorize_url(CsrfToken::new_random)
            .add_scopes(scopes.iter().map(|s| Scope::new(s.clone())))
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingLogin {
            kind,
            state: state.secret().clone(),
            verifier: verifier.secret().clone(),
            started: now.unix_timestamp(),
            next: next.to_string(),
            by: None,
        };
        (url.to_string(), pending)
    }

    /// Checks the callback against the login under way and trades the code for tokens.
    pub async fn finish(&self, pending: &PendingLogin, state: &str, code: &str, now: OffsetDateTime) -> Result<TokenSet, OAuthError> {
        if !constant_eq(state, &pending.state) {
            return Err(OAuthError::StateMismatch);
        }
        if now.unix_timestamp() - pending.started > PENDING_LIFETIME.as_secs() as i64 {
            return Err(OAuthError::Stale);
        }
        let res = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(r) => OAuthError::Exchange(r.error().to_string()),
                RequestTokenError::Request(e) => OAuthError::Network(e.to_string()),
                other => OAuthError::Exchange(other.to_string()),
            })?;
        Ok(token_set(&res, None, now))
    }

    /// A new access token from a refresh token.
    pub async fn refresh(&self, refresh_token: &str, now: OffsetDateTime) -> Result<TokenSet, OAuthError> {
        let res =
            self.client.exchange_refresh_token(&RefreshToken::new(refresh_token.to_string())).request_async(&self.http).await.map_err(
                |e| match e {
                    RequestTokenError::ServerResponse(r) if matches!(r.error(), BasicErrorResponseType::InvalidGrant) => {
                        OAuthError::RefreshDead
                    }
                    RequestTokenError::ServerResponse(r) => OAuthError::Exchange(r.error().to_string()),
                    RequestTokenError::Request(e) => OAuthError::Network(e.to_string()),
                    other => OAuthError::Exchange(other.to_string()),
                },
            )?;
        Ok(token_set(&res, Some(refresh_token), now))
    }
}

fn token_set(res: &oauth2::basic::BasicTokenResponse, old_refresh: Option<&str>, now: OffsetDateTime) -> TokenSet {
    let expires_in = res.expires_in().unwrap_or(Duration::from_secs(3600));
    TokenSet {
        access_token: res.access_token().secret().clone(),
        refresh_token: res.refresh_token().map(|r| r.secret().clone()).or_else(|| old_refresh.map(String::from)),
        expires_at: now + expires_in,
    }
}

fn constant_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
