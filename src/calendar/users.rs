//! The CMS user sync: every CMS user (paged to `total`), their mailbox, and their personal space
//! with its join details. The personal space is the user's own (`/users/<id>/usercoSpaces`,
//! preferring the one LDAP generated); the sample's `<login>.<suffix>` naming is only the
//! fallback, and then the name or URI must match exactly (CMS's `filter` is a substring match,
//! so `jdoe.space` also finds `ajdoe.space`). Each run records its diff: added, changed, gone,
//! no space found.

pub use super::model::{CalendarUser, SyncReport};
use super::store::CalendarStore;
use crate::cms::{model, CmsError, CmsNode};
pub use crate::model::calendar::DiffLine;
use crate::model::calendar::{DiffKind, SyncRunView};
use crate::secret::SecretBox;
use crate::store::{Store, StoreError};
use futures::stream::{self, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How users map to mailboxes and spaces.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Mailbox domain for users without an email: `<jid local part>@<mail_domain>`.
    pub mail_domain: String,
    /// The sample's personal-space naming `<login>.<suffix>`, used only as a fallback.
    pub space_suffix: String,
    /// Web app base, e.g. `https://join.example.com`: links are `<base>/meeting/<callId>?secret=…`.
    pub web_app_url: String,
    /// CMS requests in flight at once.
    pub concurrency: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("CMS: {0}")]
    Cms(#[from] CmsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a sync is already running")]
    Busy,
}

/// Progress of the run under way: (done, total).
#[derive(Debug, Default)]
pub struct Progress {
    done: AtomicUsize,
    total: AtomicUsize,
    running: std::sync::atomic::AtomicBool,
}

impl Progress {
    pub fn get(&self) -> Option<(usize, usize)> {
        self.running.load(Ordering::Relaxed).then(|| (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed)))
    }
}

pub struct UserSync {
    store: CalendarStore,
    cfg: SyncConfig,
    secrets: SecretBox,
    pub progress: Arc<Progress>,
    one: tokio::sync::Mutex<()>,
}

/// The mailbox of a user: their email, else the JID's local part at the mail domain.
pub fn mailbox_of(jid: &str, email: Option<&str>, mail_domain: &str) -> String {
    match email.map(str::trim).filter(|e| e.contains('@')) {
        Some(e) => e.to_ascii_lowercase(),
        None => format!("{}@{}", jid.split('@').next().unwrap_or(jid), mail_domain).to_ascii_lowercase(),
    }
}

/// The web app link of a space: `<base>/meeting/<callId>`, with `?secret=` where CMS gives one.
pub fn web_link(base: &str, call_id: &str, secret: Option<&str>) -> Option<String> {
    if base.trim().is_empty() || call_id.is_empty() {
        return None;
    }
    let base = base.trim_end_matches('/');
    Some(match secret.filter(|s| !s.is_empty()) {
        Some(s) => format!("{base}/meeting/{call_id}?secret={s}"),
        None => format!("{base}/meeting/{call_id}"),
    })
}

impl UserSync {
    pub fn new(store: Store, cfg: SyncConfig, secrets: SecretBox) -> Self {
        Self { store: CalendarStore::new(store), cfg, secrets, progress: Arc::new(Progress::default()), one: tokio::sync::Mutex::new(()) }
    }

    /// The personal space of a user, or `None`.
    async fn personal_space(&self, node: &CmsNode, user: &model::User) -> Result<Option<model::CoSpace>, CmsError> {
        let own = node.user_co_spaces(&user.id).await?;
        let pick = own.iter().find(|u| u.auto_generated == Some(true)).or(if own.len() == 1 { own.first() } else { None });
        if let Some(u) = pick {
            let id = u.co_space_id.clone().unwrap_or_else(|| u.id.clone());
            return Ok(Some(node.co_space(&id).await?));
        }
        // Fallback: the sample's naming, with an exact check.
        let local = user.user_jid.split('@').next().unwrap_or("");
        if local.is_empty() || self.cfg.space_suffix.is_empty() {
            return Ok(None);
        }
        let wanted = format!("{local}.{}", self.cfg.space_suffix);
        let found = node.co_spaces(Some(&wanted)).await?;
        match found
            .into_iter()
            .find(|s| s.name.eq_ignore_ascii_case(&wanted) || s.uri.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&wanted)))
        {
            Some(s) => Ok(Some(node.co_space(&s.id).await?)),
            None => Ok(None),
        }
    }

    async fn read_user(&self, node: &CmsNode, summary: model::User) -> Result<CalendarUser, CmsError> {
        let detail = node.user(&summary.id).await.unwrap_or(summary);
        let space = self.personal_space(node, &detail).await?;
        let mailbox = mailbox_of(&detail.user_jid, detail.email.as_deref(), &self.cfg.mail_domain);
        let mut u = CalendarUser {
            jid: detail.user_jid.clone(),
            cms_id: detail.id.clone(),
            name: detail.name.clone().unwrap_or_else(|| detail.user_jid.clone()),
            mailbox,
            space_id: None,
            space_name: None,
            uri: None,
            secondary_uri: None,
            call_id: None,
            passcode: None,
            secret: None,
            web_link: None,
        };
        if let Some(s) = space {
            u.web_link = s.call_id.as_deref().and_then(|c| web_link(&self.cfg.web_app_url, c, s.secret.as_deref()));
            u.space_id = Some(s.id);
            u.space_name = Some(s.name);
            u.uri = s.uri;
            u.secondary_uri = s.secondary_uri;
            u.call_id = s.call_id;
            u.passcode = s.passcode;
            u.secret = s.secret;
        }
        Ok(u)
    }

    /// One run: reads every user from CMS, stores them, and records the diff.
    pub async fn run(&self, node: &CmsNode, trigger: &str) -> Result<SyncReport, SyncError> {
        let _one = self.one.try_lock().map_err(|_| SyncError::Busy)?;
        let run_id = self.store.start_run(trigger).await?;
        self.progress.running.store(true, Ordering::Relaxed);
        let result = self.sync(node).await;
        self.progress.running.store(false, Ordering::Relaxed);
        match &result {
            Ok(r) => self.store.finish_run(run_id, r).await?,
            Err(e) => self.store.fail_run(run_id, &e.to_string()).await?,
        }
        result
    }

    async fn sync(&self, node: &CmsNode) -> Result<SyncReport, SyncError> {
        let users = node.users().await?;
        self.progress.total.store(users.len(), Ordering::Relaxed);
        self.progress.done.store(0, Ordering::Relaxed);
        let progress = self.progress.clone();
        let read: Vec<Result<CalendarUser, CmsError>> = stream::iter(users)
            .map(|u| {
                let p = progress.clone();
                async move {
                    let r = self.read_user(node, u).await;
                    p.done.fetch_add(1, Ordering::Relaxed);
                    r
                }
            })
            .buffer_unordered(self.cfg.concurrency.max(1))
            .collect()
            .await;
        // A failure leaves the stored users as they were (a half-read CMS must not make people "gone").
        let fresh: Vec<CalendarUser> = read.into_iter().collect::<Result<_, _>>()?;
        let old: HashMap<String, CalendarUser> = self.users().await?.into_iter().map(|u| (u.jid.to_ascii_lowercase(), u)).collect();
        let mut report = SyncReport { users: fresh.len(), ..Default::default() };
        let mut line = |jid: &str, what| report.diff.push(DiffLine { jid: jid.to_string(), what });
        for u in &fresh {
            match old.get(&u.jid.to_ascii_lowercase()) {
                None => line(&u.jid, DiffKind::Added),
                Some(o) if o != u => line(&u.jid, DiffKind::Changed),
                Some(_) => {}
            }
            if u.space_id.is_none() {
                line(&u.jid, DiffKind::NoSpace);
            }
        }
        let present: std::collections::HashSet<String> = fresh.iter().map(|u| u.jid.to_ascii_lowercase()).collect();
        let gone: Vec<String> = old.iter().filter(|(key, _)| !present.contains(*key)).map(|(_, o)| o.jid.clone()).collect();
        for jid in &gone {
            line(jid, DiffKind::Gone);
        }
        for d in &report.diff {
            match d.what {
                DiffKind::Added => report.added += 1,
                DiffKind::Changed => report.changed += 1,
                DiffKind::Gone => report.gone += 1,
                DiffKind::NoSpace => report.no_space += 1,
            }
        }
        self.store.replace_users(&fresh, &gone, &self.secrets).await?;
        Ok(report)
    }

    /// The newest runs, newest first, and the diff of the newest finished one.
    pub async fn runs(&self, limit: i64) -> Result<(Vec<SyncRunView>, Vec<DiffLine>), StoreError> {
        self.store.runs(limit).await
    }

    pub async fn users(&self) -> Result<Vec<CalendarUser>, StoreError> {
        self.store.users(&self.secrets).await
    }

    /// The user whose mailbox this is (the organiser of a meeting).
    pub async fn by_mailbox(&self, mailbox: &str) -> Result<Option<CalendarUser>, StoreError> {
        self.store.user_by_mailbox(mailbox, &self.secrets).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_and_web_links_are_built_as_documented() {
        assert_eq!(mailbox_of("jdoe@cms.example.com", Some("John.Doe@Example.com"), "example.com"), "john.doe@example.com");
        assert_eq!(mailbox_of("jdoe@cms.example.com", None, "example.com"), "jdoe@example.com");
        assert_eq!(mailbox_of("jdoe@cms.example.com", Some(" "), "example.com"), "jdoe@example.com");
        assert_eq!(
            web_link("https://join.example.com/", "100200", Some("abc")).as_deref(),
            Some("https://join.example.com/meeting/100200?secret=abc")
        );
        assert_eq!(web_link("https://join.example.com", "100200", None).as_deref(), Some("https://join.example.com/meeting/100200"));
        assert_eq!(web_link("", "100200", None), None);
    }
}
