//! Several instances may share one database: each watches the change counter the database
//! keeps and drops its cache when another instance (or the command line) changed something.

use super::service::BrandingService;
use crate::sync::write;
use crate::workers::WorkerCtx;
use std::time::Duration;

/// How often an instance checks whether another instance changed something.
pub(super) const WATCH_INTERVAL: Duration = Duration::from_secs(1);

impl BrandingService {
    /// The change-watcher worker (beats every tick).
    pub async fn watch_changes(&self, ctx: WorkerCtx) {
        let mut tick = tokio::time::interval(WATCH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            ctx.beat();
            match self.store().generation().await {
                Ok(g) => {
                    let mut c = write(&self.inner.cache);
                    if c.generation != Some(g) {
                        if c.generation.is_some() {
                            c.clear();
                        }
                        c.generation = Some(g);
                    }
                }
                Err(e) => tracing::debug!(error = %e, "branding change check failed"),
            }
        }
    }
}
