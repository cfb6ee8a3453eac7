//! What can go wrong talking to a Call Bridge, in terms an operator can act on.

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum CmsError {
    #[error("CMS node {node} refused the API credentials (HTTP 401)")]
    Unauthorized { node: String },
    #[error("CMS node {node} has no {what}")]
    NotFound { node: String, what: String },
    #[error("CMS node {node} is unreachable: {reason}")]
    Unreachable { node: String, reason: String },
    #[error("CMS node {node} did not answer within {seconds:.1} s")]
    Timeout { node: String, seconds: f64 },
    #[error("CMS node {node} sent an answer that is not valid XML for {what}: {reason}")]
    Malformed { node: String, what: String, reason: String },
    /// The request reached CMS and CMS said no; `detail` is CMS's own reason (failureDetails).
    #[error("CMS node {node} refused the request (HTTP {status}): {detail}")]
    Refused { node: String, status: u16, detail: String },
    #[error("CMS node {node} sent an answer larger than {limit} bytes; it was not read")]
    TooLarge { node: String, limit: usize },
    #[error("no CMS node is configured")]
    NoNodes,
    /// An id that cannot be one path segment (empty, or only dots); never sent.
    #[error("'{0}' is not a usable CMS object id")]
    BadId(String),
    #[error("configuration of CMS node {node}: {reason}")]
    Config { node: String, reason: String },
}

impl CmsError {
    /// Whether repeating the same idempotent request may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CmsError::Unreachable { .. } | CmsError::Timeout { .. } => true,
            CmsError::Refused { status, .. } => matches!(status, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether the node itself (not the request) is the problem, so another node may serve it.
    pub fn is_node_failure(&self) -> bool {
        matches!(self, CmsError::Unreachable { .. } | CmsError::Timeout { .. })
            || matches!(self, CmsError::Refused { status, .. } if *status >= 500)
    }
}
