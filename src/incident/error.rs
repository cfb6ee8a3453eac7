//! How an incident action fails: one error for every part, mapped to HTTP and server-function
//! errors at the edge.

use super::directory::phone::PhoneError;
use crate::store::StoreError;
use crate::webex::grant::GrantError;
use crate::webex::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum IncidentError {
    #[error("Webex is not configured on this Switchboard.")]
    NotConfigured,
    #[error("Only people signed in with Webex can run incidents; sign out and use \"Sign in with Webex\".")]
    NotWebexUser,
    #[error("Only members of the Webex space \"{0}\" may run incidents.")]
    NotResponder(String),
    #[error("No responders' space is chosen yet: an admin chooses, on the Incidents page, the Webex space whose members run incidents.")]
    NoRespondersSpace,
    #[error("That is not a response space (its title must start with \"{0}\", and the connected admin must be in it).")]
    NotResponseSpace(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Grant(#[from] GrantError),
    #[error("Webex: {0}")]
    Api(#[from] ApiError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for IncidentError {
    fn from(e: sqlx::Error) -> Self {
        IncidentError::Store(e.into())
    }
}

impl From<PhoneError> for IncidentError {
    fn from(e: PhoneError) -> Self {
        IncidentError::Invalid(e.to_string())
    }
}
