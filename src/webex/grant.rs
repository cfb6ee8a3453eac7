//! The org admin grant: the Webex token an admin of Switchboard obtained once ("Connect Webex
//! org"), kept sealed in the database, refreshed before it expires by a worker, and handed to
//! whoever needs to read the directory, list rooms or manage memberships. When the refresh
//! token is dead the grant says "admin grant needed" instead of failing somewhere later.

use super::oauth::{OAuthError, TokenSet, WebexOAuth};
use super::{ApiError, WebexApi};
use crate::model::incident::GrantStatus;
use crate::model::AuditAction;
use crate::secret::SecretBox;
use crate::store::{time_text, AuditLog, AuditRecord, AuditResult, Store, StoreError};
use time::OffsetDateTime;
use tokio::sync::Mutex;

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
    store: Store,
    secrets: SecretBox,
    oauth: WebexOAuth,
    api: WebexApi,
    audit: AuditLog,
    /// Serialises refreshes (a refresh token used twice at once could be rotated away).
    refreshing: Mutex<()>,
}

#[derive(sqlx::FromRow)]
struct Row {
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
        Self { store, secrets, oauth, api, audit, refreshing: Mutex::new(()) }
    }

    async fn row(&self) -> Result<Option<Row>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM webex_grant WHERE id = 1").fetch_optional(self.store.pool()).await?)
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
        sqlx::query(
            "INSERT INTO webex_grant (id, sealed_tokens, person_id, email, display_name, org_id, granted_by, granted_at, expires_at, refreshed_at, dead, last_error)
             VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL)
             ON CONFLICT(id) DO UPDATE SET sealed_tokens = excluded.sealed_tokens, person_id = excluded.person_id, email = excluded.email,
               display_name = excluded.display_name, org_id = excluded.org_id, granted_by = excluded.granted_by, granted_at = excluded.granted_at,
               expires_at = excluded.expires_at, refreshed_at = excluded.refreshed_at, dead = 0, last_error = NULL",
        )
        .bind(self.secrets.seal(PURPOSE, &serde_json::to_string(&tokens).unwrap_or_default()))
        .bind(&me.id)
        .bind(me.email())
        .bind(&me.display_name)
        .bind(&me.org_id)
        .bind(by)
        .bind(time_text(now))
        .bind(time_text(tokens.expires_at))
        .bind(time_text(now))
        .execute(self.store.pool())
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
        let _one = self.refreshing.lock().await;
        let row = self.row().await?.ok_or(GrantError::Missing)?;
        if row.dead {
            return Err(GrantError::Dead);
        }
        let tokens = self.open(&row.sealed_tokens)?;
        let now = OffsetDateTime::now_utc();
        if row.expires_at - now > time::Duration::seconds(30) && row.refreshed_at + time::Duration::seconds(5) > now {
            return Ok(tokens); // someone refreshed it a moment ago
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            self.mark_dead("the grant has no refresh token").await?;
            return Err(GrantError::Dead);
        };
        match self.oauth.refresh(&refresh_token, now).await {
            Ok(fresh) => {
                sqlx::query("UPDATE webex_grant SET sealed_tokens = ?, expires_at = ?, refreshed_at = ?, last_error = NULL WHERE id = 1")
                    .bind(self.secrets.seal(PURPOSE, &serde_json::to_string(&fresh).unwrap_or_default()))
                    .bind(time_text(fresh.expires_at))
                    .bind(time_text(now))
                    .execute(self.store.pool())
                    .await?;
                tracing::info!(expires_at = %time_text(fresh.expires_at), "Webex org grant refreshed");
                Ok(fresh)
            }
            Err(OAuthError::RefreshDead) => {
                self.mark_dead("Webex refused the refresh token (expired or revoked)").await?;
                Err(GrantError::Dead)
            }
            Err(e) => {
                sqlx::query("UPDATE webex_grant SET last_error = ? WHERE id = 1").bind(e.to_string()).execute(self.store.pool()).await?;
                self.audit
                    .record(AuditRecord::new(SYSTEM_ACTOR, AuditAction::WebexGrantRefresh, AuditResult::Failed).detail(&e.to_string()))
                    .await;
                Err(e.into())
            }
        }
    }

    async fn mark_dead(&self, why: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE webex_grant SET dead = 1, last_error = ? WHERE id = 1").bind(why).execute(self.store.pool()).await?;
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
