//! The spaces' tables: the response spaces opened here (`response_spaces`) and who responds in
//! each (`space_responders`: membership, pre-existing or added, SMS / voice on or off). The SQL
//! is per backend (`store/sqlite.rs`, `store/postgres.rs`); each step that changes several rows
//! (a sync, an addition) is one transaction inside its implementation.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use crate::model::incident::{Channel, DirectoryPerson, SpaceChoice};
use crate::store::{Backend, Store, StoreError};
use std::sync::Arc;

/// Where the responders' space chosen on the page is kept (a setting: its room id and title).
const RESPONDERS_SPACE_KEY: &str = "incident.responders_space";

/// A responder's place in a space.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub responder_id: i64,
    pub membership_id: Option<String>,
    pub pre_existing: bool,
    pub send_sms: bool,
    pub send_voice: bool,
}

/// How a responder joins a space.
#[derive(Debug, Clone, Copy, Default)]
pub struct NewLink<'a> {
    pub membership_id: Option<&'a str>,
    pub pre_existing: bool,
    pub send_sms: bool,
    pub send_voice: bool,
}

/// A Webex member found in the space by a sync.
#[derive(Debug, Clone)]
pub struct SyncedMember {
    pub person: DirectoryPerson,
    pub membership_id: String,
    /// Pre-existing when the space was never synced before (everyone there is)…
    pub pre_existing_if_first: bool,
    /// …and when it was.
    pub pre_existing_otherwise: bool,
}

/// The spaces' rows, one implementation per backend.
#[async_trait::async_trait]
pub(crate) trait SpacesRepo: Send + Sync {
    async fn space_title(&self, room_id: &str) -> Result<Option<(String, String)>, StoreError>;
    async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<bool, StoreError>;
    async fn members(&self, room_id: &str) -> Result<Vec<MemberRow>, StoreError>;
    async fn set_channel(&self, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), StoreError>;
    /// One sync, in one transaction: the space recorded as synced now, every member a responder
    /// linked to it (a known link keeps all but a new membership id), `gone` unlinked.
    async fn sync_space(&self, room_id: &str, title: &str, members: &[SyncedMember], gone: &[i64], by: &str) -> Result<(), StoreError>;
    /// A Webex person made a responder (or refreshed) and linked to the space, in one transaction.
    async fn add_internal(&self, room_id: &str, person: &DirectoryPerson, link: NewLink<'_>, by: &str) -> Result<(), StoreError>;
    async fn link(&self, room_id: &str, responder_id: i64, link: NewLink<'_>, by: &str) -> Result<(), StoreError>;
    async fn unlink(&self, room_id: &str, responder_id: i64) -> Result<(), StoreError>;
}

#[derive(Clone)]
pub struct SpacesStore {
    store: Store,
    repo: Arc<dyn SpacesRepo>,
}

impl SpacesStore {
    pub fn new(store: Store) -> Self {
        let repo: Arc<dyn SpacesRepo> = match store.backend() {
            Backend::Sqlite(pool) => Arc::new(sqlite::SqliteSpaces(pool.clone())),
            Backend::Postgres(pool) => Arc::new(postgres::PgSpaces(pool.clone())),
        };
        Self { store, repo }
    }

    /// The responders' space an admin chose, if one did.
    pub async fn responders_space(&self) -> Result<Option<SpaceChoice>, StoreError> {
        self.store.setting(RESPONDERS_SPACE_KEY).await
    }

    pub async fn set_responders_space(&self, choice: &SpaceChoice, by: &str) -> Result<(), StoreError> {
        self.store.put_setting(RESPONDERS_SPACE_KEY, choice, by).await
    }

    pub async fn space_title(&self, room_id: &str) -> Result<Option<(String, String)>, StoreError> {
        self.repo.space_title(room_id).await
    }

    pub async fn set_incident_name(&self, room_id: &str, name: &str) -> Result<bool, StoreError> {
        self.repo.set_incident_name(room_id, name).await
    }

    pub async fn members(&self, room_id: &str) -> Result<Vec<MemberRow>, StoreError> {
        self.repo.members(room_id).await
    }

    pub async fn set_channel(&self, room_id: &str, responder_id: i64, channel: Channel, on: bool) -> Result<(), StoreError> {
        self.repo.set_channel(room_id, responder_id, channel, on).await
    }

    pub async fn sync_space(&self, room_id: &str, title: &str, members: &[SyncedMember], gone: &[i64], by: &str) -> Result<(), StoreError> {
        self.repo.sync_space(room_id, title, members, gone, by).await
    }

    pub async fn add_internal(&self, room_id: &str, person: &DirectoryPerson, link: NewLink<'_>, by: &str) -> Result<(), StoreError> {
        self.repo.add_internal(room_id, person, link, by).await
    }

    /// Links a responder to a space (if already linked, only a new membership id is kept).
    pub async fn link(&self, room_id: &str, responder_id: i64, link: NewLink<'_>, by: &str) -> Result<(), StoreError> {
        self.repo.link(room_id, responder_id, link, by).await
    }

    pub async fn unlink(&self, room_id: &str, responder_id: i64) -> Result<(), StoreError> {
        self.repo.unlink(room_id, responder_id).await
    }
}
