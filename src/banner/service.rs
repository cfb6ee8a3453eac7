//! The banner service owns the rules: it reads them at start, validates, stores, applies
//! (the enforcer is told at once) and audits every change, and it builds the `/calls` view of
//! meetings with the banner each should show.

use super::rules::{desired_banner, is_restricted, leg_level, parse_form};
use super::store::BannerStore;
use crate::cdr::CdrService;
use crate::model::AuditAction;
use crate::model::{BannerEvent, BannerRules, BannerRulesForm, CallsOverview, Meeting, MeetingView, SecurityLevel};
use crate::store::{AuditLog, AuditRecord, AuditResult, Store, StoreError};
use crate::sync::{read, write};
use std::sync::{Arc, RwLock};
use tokio::sync::Notify;

#[derive(Debug, thiserror::Error)]
pub enum BannerError {
    /// The form is wrong; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct BannerService {
    store: BannerStore,
    audit: AuditLog,
    cdr: Arc<CdrService>,
    rules: RwLock<BannerRules>,
    changed: Notify,
}

impl BannerService {
    /// With the saved rules, or the defaults when none were saved.
    pub async fn load(store: Store, cdr: Arc<CdrService>) -> Result<Self, StoreError> {
        let banners = BannerStore::new(store.clone());
        let rules = banners.rules().await?.unwrap_or_default();
        Ok(Self { store: banners, audit: AuditLog::new(store), cdr, rules: RwLock::new(rules), changed: Notify::new() })
    }

    pub fn rules(&self) -> BannerRules {
        read(&self.rules).clone()
    }

    /// Validates, stores, applies to every live call and audits the settings form.
    pub async fn save_rules(&self, actor: &str, form: &BannerRulesForm) -> Result<BannerRules, BannerError> {
        let rules = match parse_form(form) {
            Ok(r) => r,
            Err(msg) => {
                self.audit.record(AuditRecord::new(actor, AuditAction::SettingsBanner, AuditResult::Failed).detail(&msg)).await;
                return Err(BannerError::Invalid(msg));
            }
        };
        self.store.put_rules(&rules, actor).await?;
        self.apply(rules.clone());
        let detail = format!(
            "keywords={:?} secure={:?} internal={:?} position={} duration={}",
            rules.restricted_keywords,
            rules.secure_domains,
            rules.internal_domains,
            rules.position.as_str(),
            rules.duration.as_cms()
        );
        self.audit.record(AuditRecord::new(actor, AuditAction::SettingsBanner, AuditResult::Ok).detail(&detail)).await;
        Ok(rules)
    }

    /// Stores `rules` only when nothing was saved yet (demo mode's starting point).
    pub async fn seed_rules(&self, rules: BannerRules, by: &str) -> Result<(), StoreError> {
        if self.store.rules().await?.is_none() {
            self.store.put_rules(&rules, by).await?;
            self.apply(rules);
        }
        Ok(())
    }

    fn apply(&self, rules: BannerRules) {
        *write(&self.rules) = rules;
        self.changed.notify_one();
    }

    /// Resolves when the rules change (the enforcer then looks at every call).
    pub async fn rules_changed(&self) {
        self.changed.notified().await
    }

    /// The banner a meeting should show under the current rules.
    pub fn desired_for(&self, meeting: &Meeting) -> Option<String> {
        desired_banner(&meeting.instances, &read(&self.rules))
    }

    /// Records one banner attempt in the history; a failed write is logged, not passed on.
    pub async fn record_attempt(&self, call_id: &str, node: &str, call_name: &str, text: &str, result: &str) {
        if let Err(e) = self.store.record(call_id, node, call_name, text, result).await {
            tracing::error!(error = %e, call = call_id, "banner history write failed");
        }
    }

    pub async fn history(&self, limit: i64) -> Result<Vec<BannerEvent>, StoreError> {
        self.store.history(limit).await
    }

    /// Live meetings with their badges and banners, CDR gaps and the banner history: `/calls`.
    pub async fn calls_overview(&self, demo: bool) -> Result<CallsOverview, StoreError> {
        let rules = self.rules();
        let mut meetings: Vec<MeetingView> = self.cdr.meetings().into_iter().map(|m| meeting_view(m, &rules)).collect();
        meetings.sort_by(|a, b| a.name.cmp(&b.name));
        let totals = self.cdr.totals(10).await?;
        Ok(CallsOverview {
            meetings,
            gaps: totals.gaps,
            history: self.history(20).await?,
            dead_letters: totals.dead_letters,
            records_received: totals.records,
            demo,
        })
    }
}

fn meeting_view(m: Meeting, rules: &BannerRules) -> MeetingView {
    let banner = desired_banner(&m.instances, rules);
    let (mut externals, mut lobby, mut participants) = (0, 0, 0);
    for (_, l) in m.people() {
        participants += 1;
        lobby += usize::from(l.in_lobby);
        externals += usize::from(leg_level(l, rules) == Some(SecurityLevel::External));
    }
    MeetingView {
        name: m.name(),
        restricted: m.instances.iter().any(|c| is_restricted(&c.name, rules)),
        banner_shown: m.instances.iter().all(|c| c.shown_banner() == banner.as_deref()),
        banner,
        externals,
        lobby,
        participants,
        key: m.key,
        instances: m.instances,
    }
}
