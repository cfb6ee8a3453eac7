//! What keeps the calendar up to date: the EWS streaming watcher with its catch-up ([`ews`]),
//! the Graph delta poller ([`graph`]) and its change-notification subscriptions
//! ([`subscriptions`]). Each hands every changed meeting to the service.

pub mod ews;
pub mod graph;
pub mod subscriptions;

use super::model::ProviderError;
use crate::store::StoreError;

/// Why a watch round stopped: Exchange, or the calendar's own store.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
