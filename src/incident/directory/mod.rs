//! The people who respond: the org directory (cached from `GET /people`, reloaded by a worker
//! and on demand, searched as you type), the responders made from it (internal: Webex people)
//! and the external (phone-only) responders typed in by operators.

mod export;
pub mod phone;
pub(crate) mod store;

use super::{IncidentConfig, IncidentError, IncidentService};
use crate::model::incident::{mask_number, DirectoryPerson, ExternalResponder};
use crate::model::{AuditAction, Role};
use crate::store::{AuditRecord, AuditResult, Store, StoreError};
use crate::webex::{OrgGrant, Person, WebexApi};
use std::sync::Arc;
use std::time::Duration;
use store::DirectoryStore;
use time::OffsetDateTime;

/// An external responder as typed in the form.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExternalForm {
    pub name: String,
    pub email: String,
    pub mobile: String,
    pub voice: String,
}

/// A responder (internal with a `person_id`, or external), as the other parts read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Responder {
    pub id: i64,
    pub person_id: Option<String>,
    pub name: String,
    pub email: Option<String>,
    pub sms_number: Option<String>,
    pub voice_number: Option<String>,
}

pub struct Directory {
    db: DirectoryStore,
    grant: Arc<OrgGrant>,
    api: WebexApi,
    default_region: Option<phonenumber::country::Id>,
    sms_phone_type: String,
    voice_phone_type: String,
    /// Wakes the directory worker (a new grant: load the directory now).
    wake: tokio::sync::Notify,
}

impl Directory {
    pub fn new(store: Store, grant: Arc<OrgGrant>, api: WebexApi, cfg: &IncidentConfig) -> Self {
        Self {
            db: DirectoryStore::new(store),
            grant,
            api,
            default_region: cfg.default_region,
            sms_phone_type: cfg.sms_phone_type.clone(),
            voice_phone_type: cfg.voice_phone_type.clone(),
            wake: tokio::sync::Notify::new(),
        }
    }

    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Reloads the org directory from `GET /people` (all pages); returns how many people.
    pub async fn reload(&self) -> Result<usize, IncidentError> {
        let token = self.grant.access_token().await?;
        let people = self.api.people(&token, &crate::webex::Retry::default()).await?;
        let entries: Vec<DirectoryPerson> = people.iter().map(|p| self.entry(p)).collect();
        self.db.replace_directory(&entries).await?;
        Ok(entries.len())
    }

    fn entry(&self, p: &Person) -> DirectoryPerson {
        let norm = |n: Option<&str>| n.and_then(|n| phone::normalise(n, self.default_region).ok().flatten());
        DirectoryPerson {
            person_id: p.id.clone(),
            display_name: p.display_name.clone(),
            email: p.email().to_string(),
            sms_number: norm(p.phone(&self.sms_phone_type)),
            voice_number: norm(p.phone(&self.voice_phone_type)),
        }
    }

    /// (people in the directory, when it was last loaded).
    pub async fn state(&self) -> Result<(i64, Option<OffsetDateTime>), StoreError> {
        self.db.directory_state().await
    }

    pub async fn person(&self, person_id: &str) -> Result<Option<DirectoryPerson>, StoreError> {
        self.db.directory_person(person_id).await
    }

    pub async fn responders(&self, ids: &[i64]) -> Result<Vec<Responder>, StoreError> {
        self.db.responders(ids).await
    }

    pub async fn externals(&self) -> Result<Vec<ExternalResponder>, StoreError> {
        self.db.externals().await
    }

    pub async fn external(&self, id: i64) -> Result<Option<ExternalResponder>, StoreError> {
        Ok(self.db.externals().await?.into_iter().find(|e| e.id == id))
    }

    fn parse_external(&self, id: i64, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let name = f.name.trim();
        if name.is_empty() {
            return Err(IncidentError::Invalid("An external responder needs a name.".into()));
        }
        let email = f.email.trim();
        if !email.is_empty() && (!email.contains('@') || email.contains(char::is_whitespace)) {
            return Err(IncidentError::Invalid(format!("'{email}' is not an email address.")));
        }
        let sms = phone::normalise(&f.mobile, self.default_region).map_err(|e| IncidentError::Invalid(format!("Mobile number: {e}.")))?;
        let voice = phone::normalise(&f.voice, self.default_region).map_err(|e| IncidentError::Invalid(format!("Voice number: {e}.")))?;
        if sms.is_none() && voice.is_none() {
            return Err(IncidentError::Invalid("An external responder needs a mobile or a voice number.".into()));
        }
        Ok(ExternalResponder {
            id,
            name: name.to_string(),
            email: (!email.is_empty()).then(|| email.to_string()),
            sms_number: sms,
            voice_number: voice,
        })
    }
}

fn no_such_external() -> IncidentError {
    IncidentError::NotFound("No such external responder.".into())
}

/// An external responder as the audit log keeps it: numbers masked to their last 4 digits.
fn audited(e: &ExternalResponder) -> String {
    let n = |n: &Option<String>| n.as_deref().map(mask_number).unwrap_or_else(|| "none".into());
    format!(
        "name \"{}\", email {}, mobile {}, voice {}",
        e.name,
        e.email.as_deref().unwrap_or("none"),
        n(&e.sms_number),
        n(&e.voice_number)
    )
}

impl IncidentService {
    /// Reloads the org directory from `GET /people` (all pages).
    pub async fn refresh_directory(&self, by: &str) -> Result<usize, IncidentError> {
        let n = self.directory.reload().await?;
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentDirectory, AuditResult::Ok).detail(&format!("{n} people"))).await;
        Ok(n)
    }

    pub async fn directory_refreshed(&self) -> Result<Option<OffsetDateTime>, StoreError> {
        Ok(self.directory.state().await?.1)
    }

    /// People of the org directory matching `q`, their numbers as `role` may see them.
    pub async fn search_directory(&self, q: &str, role: Role) -> Result<Vec<DirectoryPerson>, IncidentError> {
        let q = q.trim();
        if q.is_empty() {
            return Ok(vec![]);
        }
        Ok(self.directory.db.search_directory(q, 20).await?.into_iter().map(|p| p.for_role(role)).collect())
    }

    /// Every external responder, in full (for those who may edit or export the directory).
    pub async fn externals(&self) -> Result<Vec<ExternalResponder>, IncidentError> {
        Ok(self.directory.externals().await?)
    }

    pub async fn create_external(&self, by: &str, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let mut e = self.directory.parse_external(0, f)?;
        e.id = self.directory.db.insert_external(&e).await?;
        let detail = format!("before: none; after: {}", audited(&e));
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalCreate, AuditResult::Ok).target(&e.name).detail(&detail)).await;
        Ok(e)
    }

    /// Saves an external responder; a channel left without a number is turned off in every space.
    pub async fn update_external(&self, by: &str, id: i64, f: &ExternalForm) -> Result<ExternalResponder, IncidentError> {
        let e = self.directory.parse_external(id, f)?;
        let before = self.directory.external(id).await?.ok_or_else(no_such_external)?;
        if !self.directory.db.update_external(&e).await? {
            return Err(no_such_external());
        }
        let detail = format!("before: {}; after: {}", audited(&before), audited(&e));
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalUpdate, AuditResult::Ok).target(&e.name).detail(&detail)).await;
        Ok(e)
    }

    pub async fn delete_external(&self, by: &str, id: i64) -> Result<(), IncidentError> {
        let e = self.directory.external(id).await?.ok_or_else(no_such_external)?;
        self.directory.db.delete_external(id).await?;
        let detail = format!("before: {}; after: none", audited(&e));
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentExternalDelete, AuditResult::Ok).target(&e.name).detail(&detail)).await;
        Ok(())
    }

    /// The external responders as CSV (name, email, mobile, voice), audited.
    pub async fn export_directory(&self, by: &str) -> Result<String, IncidentError> {
        let externals = self.directory.externals().await?;
        let csv = export::csv(&externals);
        let detail = format!("{} external responders", externals.len());
        self.audit.record(AuditRecord::new(by, AuditAction::IncidentDirectoryExport, AuditResult::Ok).detail(&detail)).await;
        Ok(csv)
    }

    /// The worker: reloads the org directory when it is older than `every` (at start, then as
    /// it ages); waits quietly while no org is connected.
    pub async fn run_directory_refresh(self: Arc<Self>, every: Duration, ctx: crate::workers::WorkerCtx) {
        let mut woken = false;
        loop {
            let due = match self.directory_refreshed().await {
                Ok(Some(at)) => OffsetDateTime::now_utc() - at >= every || woken,
                Ok(None) => true,
                Err(_) => false,
            };
            if due && self.grant().status().await.map(|g| g.connected).unwrap_or(false) {
                match self.refresh_directory("switchboard").await {
                    Ok(n) => tracing::info!(people = n, "Webex org directory reloaded"),
                    Err(e) => tracing::warn!(error = %e, "could not reload the Webex org directory"),
                }
            }
            woken = false;
            tokio::select! {
                _ = ctx.cancelled() => return,
                _ = self.directory.wake.notified() => woken = true,
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            }
        }
    }
}
