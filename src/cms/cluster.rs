//! Several Call Bridges as one: per-node health, which node hosts which call (calls are local
//! to a bridge, while spaces and users live in the shared database and any healthy node answers).

use super::error::CmsError;
use super::model::{CallDetail, CallSummary};
use super::node::{CmsNode, NodeConfig, NodeState};
use crate::sync::{read, write};
use futures::future::join_all;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

/// The outcome of one request per node.
#[derive(Debug)]
pub struct NodeResult<T> {
    pub node: String,
    pub result: Result<T, CmsError>,
}

pub struct CmsCluster {
    nodes: Vec<Arc<CmsNode>>,
    /// call id -> index of the node that hosts it.
    call_home: RwLock<HashMap<String, usize>>,
}

impl CmsCluster {
    pub fn new(configs: Vec<NodeConfig>) -> Result<Self, CmsError> {
        let nodes = configs.into_iter().map(|c| CmsNode::new(c).map(Arc::new)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self { nodes, call_home: RwLock::new(HashMap::new()) })
    }

    pub fn nodes(&self) -> &[Arc<CmsNode>] {
        &self.nodes
    }

    pub fn node(&self, name: &str) -> Option<&Arc<CmsNode>> {
        self.nodes.iter().find(|n| n.name() == name)
    }

    /// Checks every node at once; each node keeps its own health.
    pub async fn check_health(&self) {
        join_all(self.nodes.iter().map(|n| n.check_health())).await;
    }

    /// Runs `f` on every node concurrently, keeping each node's outcome.
    pub async fn on_each<'a, T, F, Fut>(&'a self, f: F) -> Vec<NodeResult<T>>
    where
        F: Fn(&'a CmsNode) -> Fut,
        Fut: Future<Output = Result<T, CmsError>> + 'a,
    {
        let futs = self.nodes.iter().map(|n| {
            let fut = f(n);
            async move { NodeResult { node: n.name().to_string(), result: fut.await } }
        });
        join_all(futs).await
    }

    /// Active calls on every node, remembering where each one lives. When every node answered,
    /// calls no node has any more are forgotten, so the memory holds only live calls.
    pub async fn calls(&self) -> Vec<NodeResult<Vec<CallSummary>>> {
        let results = self.on_each(|n| n.calls()).await;
        {
            let mut home = write(&self.call_home);
            if results.iter().all(|r| r.result.is_ok()) {
                home.clear();
            }
            for (i, r) in results.iter().enumerate() {
                if let Ok(calls) = &r.result {
                    for c in calls {
                        home.insert(c.id.clone(), i);
                    }
                }
            }
        }
        results
    }

    /// How many calls' nodes are remembered (bounded by the calls alive at the last listing).
    pub fn remembered_calls(&self) -> usize {
        read(&self.call_home).len()
    }

    /// Forgets where a call lives (it ended, or moved).
    pub fn forget_call(&self, call_id: &str) {
        write(&self.call_home).remove(call_id);
    }

    /// The node hosting a call: from memory, else by asking each reachable node in turn.
    pub async fn node_for_call(&self, call_id: &str) -> Result<(Arc<CmsNode>, CallDetail), CmsError> {
        if self.nodes.is_empty() {
            return Err(CmsError::NoNodes);
        }
        let known = read(&self.call_home).get(call_id).copied();
        if let Some(i) = known {
            match self.nodes[i].call(call_id).await {
                Ok(d) => return Ok((self.nodes[i].clone(), d)),
                Err(CmsError::NotFound { .. }) => self.forget_call(call_id),
                Err(e) => return Err(e),
            }
        }
        let mut last_err = None;
        for (i, n) in self.ordered_nodes() {
            match n.call(call_id).await {
                Ok(d) => {
                    write(&self.call_home).insert(call_id.to_string(), i);
                    return Ok((n.clone(), d));
                }
                Err(e) => last_err = Some(e),
            }
        }
        // Not found anywhere reachable: say "not found" only if every node answered.
        Err(match last_err {
            Some(e @ CmsError::NotFound { .. }) => e,
            Some(e) => e,
            None => CmsError::NoNodes,
        })
    }

    /// Healthy (or unchecked) nodes first, so a down node is tried last.
    fn ordered_nodes(&self) -> Vec<(usize, &Arc<CmsNode>)> {
        let mut v: Vec<(usize, &Arc<CmsNode>)> = self.nodes.iter().enumerate().collect();
        v.sort_by_key(|(_, n)| n.health().state == NodeState::Down);
        v
    }

    /// The node to read cluster-wide data from (coSpaces, users, profiles). Those live in the
    /// cluster's shared database, so any node answers the same; every caller takes the same one
    /// — the first configured node not known to be down (the first node when all are) — so a
    /// read does not depend on who asks.
    pub fn node_for_shared_data(&self) -> Result<Arc<CmsNode>, CmsError> {
        self.ordered_nodes().first().map(|(_, n)| Arc::clone(n)).ok_or(CmsError::NoNodes)
    }

    /// Sets (or with empty text clears) the banner of a call on the node hosting it.
    pub async fn set_call_message(&self, call_id: &str, text: &str, position: &str, duration: &str) -> Result<String, CmsError> {
        let (node, _) = self.node_for_call(call_id).await?;
        node.set_call_message(call_id, text, position, duration).await?;
        Ok(node.name().to_string())
    }

    /// Registers `url` as a CDR receiver on every node (each keeps its own list), skipping
    /// nodes that already have it. Each node's outcome: `Ok(true)` added, `Ok(false)` present.
    pub async fn ensure_cdr_receiver(&self, url: &str) -> Vec<NodeResult<bool>> {
        self.on_each(|n| n.ensure_cdr_receiver(url)).await
    }
}
