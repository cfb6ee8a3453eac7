//! CDR receiver registration at start: Switchboard's `/cdr` added to every node that lacks it.
//! (The cluster itself is built by the `[cms]` config section.)

use switchboard::cms::CmsCluster;

/// Adds Switchboard's CDR URL on every node that lacks it, logging each node's outcome.
pub async fn register_cdr_receiver(cluster: &CmsCluster, url: &str) {
    // The URL may carry the receiver's secret (`?token=`): log it without the query.
    let shown = url.split('?').next().unwrap_or(url);
    for r in cluster.ensure_cdr_receiver(url).await {
        match r.result {
            Ok(true) => tracing::info!(node = %r.node, url = %shown, "registered as CDR receiver"),
            Ok(false) => tracing::info!(node = %r.node, url = %shown, "already a CDR receiver"),
            Err(e) => tracing::error!(node = %r.node, error = %e, "could not register as CDR receiver"),
        }
    }
}
