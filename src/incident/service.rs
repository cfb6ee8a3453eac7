//! `IncidentService`: the facade the pages and workers call. It holds the five parts and the
//! audit log; a step that spans parts (start, stop, a delivery's outcome) asks each part for its
//! share, inside one transaction where the rows must change together.

use super::acknowledgements::Acknowledgements;
use super::deliveries::Deliveries;
use super::directory::{phone, Directory};
use super::lifecycle::Lifecycle;
use super::spaces::Spaces;
use super::IncidentError;
use crate::model::incident::{GrantStatus, IncidentsHome};
use crate::model::Role;
use crate::store::{AuditLog, Store};
use crate::webex::grant::GrantError;
use crate::webex::{ConnectApi, OrgGrant, TokenSet, WebexApi};
use std::sync::Arc;
use tokio::sync::broadcast;

/// Settings of the incident rooms (`[webex]` and `[connect]` in the configuration).
#[derive(Debug, Clone)]
pub struct IncidentConfig {
    pub space_prefix: String,
    /// The room id of the space whose members run incidents, while none is chosen on the page.
    pub responders_space_id: Option<String>,
    /// Which Webex `phoneNumbers[].type` internal responders are texted / called on.
    pub sms_phone_type: String,
    pub voice_phone_type: String,
    pub default_region: Option<phonenumber::country::Id>,
    pub sms_from: String,
    pub voice_from: String,
    /// Where responders open their acknowledgement links (`https://switchboard.example.com`).
    pub public_url: String,
    /// Deliveries in flight at once.
    pub concurrency: usize,
    /// Attempts of one delivery before it is given up as failed.
    pub max_attempts: i64,
    pub voice: crate::webex::connect::Voice,
}

impl Default for IncidentConfig {
    fn default() -> Self {
        Self {
            space_prefix: "Response".into(),
            responders_space_id: None,
            sms_phone_type: "mobile".into(),
            voice_phone_type: "mobile".into(),
            default_region: phone::region("US"),
            sms_from: String::new(),
            voice_from: String::new(),
            public_url: "http://127.0.0.1:3000".into(),
            concurrency: 32,
            max_attempts: 8,
            voice: Default::default(),
        }
    }
}

/// The person running incidents: a Webex user signed in to Switchboard.
#[derive(Debug, Clone)]
pub struct Commander {
    pub person_id: String,
    pub name: String,
    pub email: String,
    /// Their Webex access token (from the session).
    pub token: String,
}

impl Commander {
    /// The actor the audit log records: this Webex user (see [`crate::model::actor_key`]).
    pub fn actor(&self) -> String {
        crate::model::actor_key(crate::model::IdentityProvider::Webex, &self.email)
    }
}

pub struct IncidentService {
    pub(super) directory: Directory,
    pub(super) spaces: Spaces,
    pub(super) lifecycle: Lifecycle,
    pub(super) deliveries: Deliveries,
    pub(super) acks: Acknowledgements,
    pub(super) audit: AuditLog,
}

impl IncidentService {
    pub fn new(
        store: Store,
        audit: AuditLog,
        grant: Arc<OrgGrant>,
        api: WebexApi,
        connect: Option<ConnectApi>,
        cfg: IncidentConfig,
        ack_key: [u8; 32],
    ) -> Self {
        let changes = broadcast::channel(256).0;
        Self {
            directory: Directory::new(store.clone(), grant.clone(), api.clone(), &cfg),
            spaces: Spaces::new(store.clone(), grant.clone(), api.clone(), &cfg),
            lifecycle: Lifecycle::new(store.clone(), changes),
            deliveries: Deliveries::new(store.clone(), grant, api, connect, &cfg),
            acks: Acknowledgements::new(store, ack_key, &cfg),
            audit,
        }
    }

    pub fn grant(&self) -> &OrgGrant {
        self.spaces.grant()
    }

    pub fn grant_handle(&self) -> Arc<OrgGrant> {
        self.spaces.grant_handle()
    }

    /// Keeps a new org grant and has the directory loaded at once.
    pub async fn connect_org(&self, tokens: TokenSet, by: &str) -> Result<GrantStatus, GrantError> {
        let status = self.spaces.grant().store_grant(tokens, by).await?;
        self.spaces.forget_cached().await;
        self.directory.wake();
        Ok(status)
    }

    /// Incident ids that changed (deliveries, acks, stop), for live pages.
    pub fn subscribe(&self) -> broadcast::Receiver<i64> {
        self.lifecycle.subscribe()
    }

    pub fn sms_enabled(&self) -> bool {
        self.deliveries.sms_enabled()
    }
    pub fn voice_enabled(&self) -> bool {
        self.deliveries.voice_enabled()
    }

    /// Refuses people who are not members of the responders space.
    pub async fn check_responder(&self, person_id: &str) -> Result<(), IncidentError> {
        self.spaces.check_responder(person_id).await
    }

    /// `/incidents` for someone of `role` (signed in with Webex: `commander`).
    pub async fn home(&self, commander: Option<&super::Commander>, role: Role) -> Result<IncidentsHome, IncidentError> {
        let grant = self.spaces.grant().status().await?;
        let (directory_size, directory_refreshed) = self.directory.state().await?;
        let responders_space = if grant.connected { self.spaces.responders_space().await? } else { None };
        let mut home = IncidentsHome {
            role,
            responders_space,
            grant: grant.clone(),
            configured: true,
            webex_user: commander.is_some(),
            blocked: None,
            spaces: vec![],
            history: self.lifecycle.history(50).await?,
            directory_size,
            directory_refreshed,
        };
        let Some(c) = commander else {
            home.blocked = Some(IncidentError::NotWebexUser.to_string());
            return Ok(home);
        };
        if !grant.connected {
            home.blocked = Some(GrantError::Missing.to_string());
            return Ok(home);
        }
        if let Err(e) = self.spaces.check_responder(&c.person_id).await {
            home.blocked = Some(e.to_string());
            return Ok(home);
        }
        let open = self.lifecycle.open_incidents().await?;
        home.spaces = self.spaces.summaries(|room_id| open.iter().find(|i| i.room_id == room_id).map(|i| i.name.clone())).await?;
        Ok(home)
    }
}
