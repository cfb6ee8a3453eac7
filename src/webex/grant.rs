//! The org admin grant: the Webex token an admin of Switchboard obtained once ("Connect Webex
//! org"), kept sealed in the database, refreshed before it expires by a worker, and handed to
//! whoever needs to read the directory, list rooms or manage memberships. When the refresh
//! token is dead the grant says "admin grant needed" instead of failing somewhere later. Its row's
//! SQL is per backend (`grant/sqlite.rs`, `grant/postgres.rs`).

mod postgres;
mod sqlite;

use super::oauth::{OAuthError, TokenSet, WebexOAuth};
use super::{ApiError, WebexApi};
use crate::model::incident::GrantStatus;
use crate::model::AuditAction;
use crate::secret::SecretBox;
use crate::store::{time_text, AuditLog, AuditRecord, AuditResult, Backend, Store, StoreError};
use std::sync::Arc;
use time::OffsetDateTime;

const PURPOSE: &str = "webex-org-grant";
/// The background refresh acts as Switchboard itself.
const SYSTEM_ACTOR: &str = "system:switchboard";

#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("No Webex org is connected: an admin must connect it on the Incidents page.")]
    Missing,
    #[error(
        "The Webex org grant has expired or was revoked: an admin must sign in with Webex again (Connect Webex org on the Incidents page)."
    )]
    Dead,
    #[error("The Webex account that connected is not an org administrator; connect with an admin account.")]
    NotAdmin,
    #[error("{0}")]
    Sealed(#[from] super::SecretError),
    #[error("Webex: {0}")]
    Api(#[from] ApiError),
    #[error("Webex: {0}")]
    OAuth(#[from] OAuthError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for GrantError {
    fn from(e: sqlx::Error) -> Self {
        GrantError::Store(e.into())
    }
}

pub struct OrgGrant {
    repo: Arc<dyn GrantRepo>,
    secrets: SecretBox,
    oauth: WebexOAuth,
    api: WebexApi,
    audit: AuditLog,
}

/// The `webex_grant` row (one at most), one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait GrantRepo: Send + Sync {
    async fn row(&self) -> Result<Option<GrantRow>, StoreError>;
    /// Keeps a new grant (replacing any), alive and refreshed at `at`.
    async fn put(&self, g: &NewGrant<'_>) -> Result<(), StoreError>;
    /// The row, locked against every other refresh (in this process and, on PostgreSQL, in
    /// other instances) until the lock is finished or dropped: a refresh token is spent once.
    async fn lock_for_refresh(&self) -> Result<Box<dyn RefreshLock>, StoreError>;
}

/// A refresh in progress, holding the lock; each way of finishing writes and releases it.
#[async_trait::async_trait]
pub(crate) trait RefreshLock: Send {
    /// The row as read under the lock.
    fn row(&self) -> Option<GrantRow>;
    async fn refreshed(self: Box<Self>, sealed_tokens: &str, expires_at: OffsetDateTime, at: OffsetDateTime) -> Result<(), StoreError>;
    async fn failed(self: Box<Self>, error: &str) -> Result<(), StoreError>;
    async fn dead(self: Box<Self>, why: &str) -> Result<(), StoreError>;
}

/// A grant as stored by [`GrantRepo::put`].
pub(crate) struct NewGrant<'a> {
    pub sealed_tokens: &'a str,
    pub person_id: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
    pub org_id: &'a str,
    pub granted_by: &'a str,
    pub at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

#[derive(Clone, sqlx::FromRow)]
pub(crate) struct GrantRow {
    sealed_tokens: String,
    email: String,
    display_name: String,
    org_id: String,
    person_id: String,
    granted_by: String,
    granted_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    refreshed_at: OffsetDateTime,
    dead: bool,
    last_error: Option<String>,
}

impl OrgGrant {
    pub fn new(store: Store, secrets: SecretBox, oauth: WebexOAuth, api: WebexApi, audit: AuditLog) -> Self {
        let repo: Arc<dyn GrantRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteGrant(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgGrant(pool.clone())),
        };
        Self { repo, secrets, oauth, api, audit }
    }

    async fn row(&self) -> Result<Option<GrantRow>, StoreError> {
        self.repo.row().await
    }

    pub async fn status(&self) -> Result<GrantStatus, StoreError> {
        Ok(match self.row().await? {
            None => GrantStatus::default(),
            Some(r) => GrantStatus {
                connected: !r.dead,
                needs_grant: r.dead,
                display_name: r.display_name,
                email: r.email,
                org_id: r.org_id,
                granted_by: r.granted_by,
                granted_at: Some(r.granted_at),
                expires_at: Some(r.expires_at),
                refreshed_at: Some(r.refreshed_at),
                last_error: r.last_error,
            },
        })
    }

    /// The org the grant belongs to (people from other orgs may not sign in by default).
    pub async fn org_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self.row().await?.filter(|r| !r.dead).map(|r| r.org_id))
    }

    /// The admin's person id (who the grant acts as).
    pub async fn person_id(&self) -> Result<Option<String>, StoreError> {
        Ok(self.row().await?.map(|r| r.person_id))
    }

    /// Keeps a fresh grant: checks it belongs to an org admin, seals and stores it.
    pub async fn store_grant(&self, tokens: TokenSet, by: &str) -> Result<GrantStatus, GrantError> {
        let me = self.api.me(&tokens.access_token).await?;
        if me.roles.is_empty() {
            self.audit
                .record(
                    AuditRecord::new(by, AuditAction::WebexGrant, AuditResult::Denied)
                        .target(me.email())
                        .detail("not an org administrator"),
                )
                .await;
            return Err(GrantError::NotAdmin);
        }
        let now = OffsetDateTime::now_utc();
        let sealed = self.secrets.seal(PURPOSE, &serde_json::to_string(&tokens).unwrap_or_default());
        self.repo
            .put(&NewGrant {
                sealed_tokens: &sealed,
                person_id: &me.id,
                email: me.email(),
                display_name: &me.display_name,
                org_id: &me.org_id,
                granted_by: by,
                at: now,
                expires_at: tokens.expires_at,
            })
            .await?;
        self.audit.record(AuditRecord::new(by, AuditAction::WebexGrant, AuditResult::Ok).target(me.email()).detail(&me.display_name)).await;
        Ok(self.status().await?)
    }

    /// The org token, refreshed first when it is about to expire.
    pub async fn access_token(&self) -> Result<String, GrantError> {
        let row = self.row().await?.ok_or(GrantError::Missing)?;
        if row.dead {
            return Err(GrantError::Dead);
        }
        let now = OffsetDateTime::now_utc();
        if row.expires_at - now > time::Duration::seconds(30) {
            let tokens: TokenSet = self.open(&row.sealed_tokens)?;
            return Ok(tokens.access_token);
        }
        Ok(self.refresh().await?.access_token)
    }

    fn open(&self, sealed: &str) -> Result<TokenSet, GrantError> {
        let json = self.secrets.open(PURPOSE, sealed)?;
        serde_json::from_str(&json).map_err(|_| GrantError::Sealed(super::SecretError::Unreadable))
    }

    /// Whether the worker should refresh now: in the last quarter of the token's life (at most a day before).
    pub async fn refresh_due(&self) -> Result<bool, StoreError> {
        Ok(match self.row().await? {
            Some(r) if !r.dead => {
                let life = r.expires_at - r.refreshed_at;
                let margin: time::Duration = (life / 4_i32).min(time::Duration::days(1));
                OffsetDateTime::now_utc() >= r.expires_at - margin
            }
            _ => false,
        })
    }

    /// Trades the refresh token for a new access token. A refused refresh token marks the
    /// grant dead ("admin grant needed"); a network failure leaves it as it was.
    pub async fn refresh(&self) -> Result<TokenSet, GrantError> {
        let lock = self.repo.lock_for_refresh().await?;
        let row = lock.row().ok_or(GrantError::Missing)?;
        if row.dead {
            return Err(GrantError::Dead);
        }
        let tokens = self.open(&row.sealed_tokens)?;
        let now = OffsetDateTime::now_utc();
        if row.expires_at - now > time::Duration::seconds(30) && row.refreshed_at + time::Duration::seconds(5) > now {
            return Ok(tokens); // someone refreshed it a moment ago (while this one waited for the lock)
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            self.mark_dead(lock, "the grant has no refresh token").await?;
            return Err(GrantError::Dead);
        };
        match self.oauth.refresh(&refresh_token, now).await {
            Ok(fresh) => {
                let sealed = self.secrets.seal(PURPOSE, &serde_json::to_string(&fresh).unwrap_or_default());
                lock.refreshed(&sealed, fresh.expires_at, now).await?;
                tracing::info!(expires_at = %time_text(fresh.expires_at), "Webex org grant refreshed");
                Ok(fresh)
            }
            Err(OAuthError::RefreshDead) => {
                self.mark_dead(lock, "Webex refused the refresh token (expired or revoked)").await?;
                Err(GrantError::Dead)
            }
            Err(e) => {
                lock.failed(&e.to_string()).await?;
                self.audit
                    .record(AuditRecord::new(SYSTEM_ACTOR, AuditAction::WebexGrantRefresh, AuditResult::Failed).detail(&e.to_string()))
                    .await;
                Err(e.into())
            }
        }
    }

    async fn mark_dead(&self, lock: Box<dyn RefreshLock>, why: &str) -> Result<(), StoreError> {
        lock.dead(why).await?;
        tracing::warn!("{why}: the Webex org grant is needed again");
        self.audit.record(AuditRecord::new(SYSTEM_ACTOR, AuditAction::WebexGrantRefresh, AuditResult::Failed).detail(why)).await;
        Ok(())
    }
}

impl OrgGrant {
    /// The worker: refreshes the grant in the last quarter of its life; a dead refresh token
    /// marks it "admin grant needed" and the worker waits for a new grant.
    pub async fn run_refresh(self: std::sync::Arc<Self>, ctx: crate::workers::WorkerCtx) {
        loop {
            ctx.beat();
            match self.refresh_due().await {
                Ok(true) => match self.refresh().await {
                    Ok(_) | Err(GrantError::Dead) => {}
                    Err(e) => tracing::warn!(error = %e, "Webex org grant refresh failed; will try again"),
                },
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "could not read the Webex org grant"),
            }
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(5)) => {}
            }
        }
    }
}

#[cfg(all(test, feature = "sim"))]
mod tests {
    use super::*;
    use crate::outbound::{BoundedOAuthHttp, HttpLimits};
    use crate::sim::webex::{SimWebex, WebexSimConfig};
    use crate::store::testing::{TestBackend, TestDb};
    use crate::webex::oauth::OAuthConfig;
    use crate::webex::LoginKind;

    /// One instance's grant: its own store (pool) on the shared database, the same key.
    fn instance(store: Store, sim: &SimWebex, secrets: &SecretBox) -> OrgGrant {
        let cfg = OAuthConfig {
            client_id: sim.client_id().into(),
            client_secret: sim.client_secret().into(),
            authorize_url: format!("{}/v1/authorize", sim.url()),
            token_url: format!("{}/v1/access_token", sim.url()),
            redirect_url: "http://127.0.0.1:5500/callback".into(),
            org_scopes: OAuthConfig::default_org_scopes(),
            user_scopes: OAuthConfig::default_user_scopes(),
        };
        let limits = HttpLimits::default();
        let http = limits.client().unwrap();
        let oauth = WebexOAuth::new(&cfg, BoundedOAuthHttp::new(http.clone(), limits)).unwrap();
        let api = WebexApi::new(http, &format!("{}/v1", sim.url()));
        OrgGrant::new(store.clone(), secrets.clone(), oauth, api, AuditLog::new(store))
    }

    /// The demo org with an integration secret of this run's own.
    fn sim_config() -> WebexSimConfig {
        WebexSimConfig { client_secret: uuid::Uuid::new_v4().simple().to_string(), ..WebexSimConfig::demo() }
    }

    fn token_requests(sim: &SimWebex) -> usize {
        sim.requests().iter().filter(|r| r.path.starts_with("/v1/access_token")).count()
    }

    async fn two_instances_refreshing_at_once_spend_the_refresh_token_once(backend: TestBackend) {
        let sim = SimWebex::start("127.0.0.1:0".parse().unwrap(), sim_config()).await.unwrap();
        let db = TestDb::fresh(backend).await;
        let other = Store::connect(&db.url).await.unwrap();
        let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
        let (a, b) = (instance(db.store.clone(), &sim, &secrets), instance(other.clone(), &sim, &secrets));
        let now = OffsetDateTime::now_utc();
        let (url, pending) = a.oauth.begin(LoginKind::OrgGrant, "/", now);
        let back = reqwest::Url::parse(&sim.consent(&url, "admin@example.com").await.unwrap()).unwrap();
        let q: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
        let tokens = a.oauth.finish(&pending, &q["state"], &q["code"], now).await.unwrap();
        // About to expire, so both instances' next use refreshes it.
        a.store_grant(TokenSet { expires_at: now + time::Duration::seconds(10), ..tokens }, "ann").await.unwrap();

        let before = token_requests(&sim);
        let (ra, rb) = tokio::join!(a.refresh(), b.refresh());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert_eq!(token_requests(&sim) - before, 1, "the refresh token went to Webex once");
        assert_eq!(ra.access_token, rb.access_token, "the instance that waited got the other's fresh token");
        assert_eq!(b.access_token().await.unwrap(), ra.access_token);
        assert!(a.status().await.unwrap().expires_at.unwrap() > now + time::Duration::days(1));
        other.close().await;
    }

    #[tokio::test]
    async fn two_instances_refreshing_at_once_on_sqlite_spend_the_refresh_token_once() {
        two_instances_refreshing_at_once_spend_the_refresh_token_once(TestBackend::Sqlite).await;
    }

    #[tokio::test]
    async fn two_instances_refreshing_at_once_on_postgres_spend_the_refresh_token_once() {
        two_instances_refreshing_at_once_spend_the_refresh_token_once(TestBackend::Postgres).await;
    }

    crate::both_backends! {
        async fn a_refused_refresh_token_marks_the_grant_needed_again(store) {
            let sim = SimWebex::start("127.0.0.1:0".parse().unwrap(), sim_config()).await.unwrap();
            let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
            let g = instance(store, &sim, &secrets);
            assert!(matches!(g.access_token().await, Err(GrantError::Missing)));
            let now = OffsetDateTime::now_utc();
            let (url, pending) = g.oauth.begin(LoginKind::OrgGrant, "/", now);
            let back = reqwest::Url::parse(&sim.consent(&url, "admin@example.com").await.unwrap()).unwrap();
            let q: std::collections::HashMap<String, String> = back.query_pairs().into_owned().collect();
            let tokens = g.oauth.finish(&pending, &q["state"], &q["code"], now).await.unwrap();
            let st = g.store_grant(TokenSet { expires_at: now + time::Duration::seconds(10), ..tokens }, "ann").await.unwrap();
            assert!(st.connected && !st.needs_grant);
            assert_eq!(st.granted_by, "ann");
            assert!(g.org_id().await.unwrap().is_some());
            sim.revoke_refresh_tokens();
            assert!(matches!(g.access_token().await, Err(GrantError::Dead)));
            let st = g.status().await.unwrap();
            assert!(st.needs_grant && !st.connected);
            assert!(st.last_error.unwrap().contains("refused the refresh token"));
            assert_eq!(g.org_id().await.unwrap(), None);
            assert!(!g.refresh_due().await.unwrap());
        }
    }
}
