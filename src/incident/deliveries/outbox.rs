//! What the delivery job needs besides its rows: the commanders' Webex tokens (in memory
//! only, never stored) and a wake-up when work is queued.

use crate::sync::lock;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::Notify;

/// What the job needs besides the rows: the commanders' Webex tokens (in memory only) and a
/// wake-up when work is queued.
#[derive(Default)]
pub struct Outbox {
    wake: Notify,
    user_tokens: Mutex<HashMap<i64, String>>,
}

impl Outbox {
    pub fn wake(&self) {
        self.wake.notify_one();
    }
    pub(super) async fn woken(&self) {
        self.wake.notified().await
    }
    pub fn set_user_token(&self, incident_id: i64, token: &str) {
        lock(&self.user_tokens).insert(incident_id, token.to_string());
    }
    pub fn forget(&self, incident_id: i64) {
        lock(&self.user_tokens).remove(&incident_id);
    }
    pub(super) fn user_token(&self, incident_id: i64) -> Option<String> {
        lock(&self.user_tokens).get(&incident_id).cloned()
    }
}
