//! The one error type of the web edge. Server functions return it; the browser shows its text;
//! `status()` is the single mapping to HTTP. Domain errors become it in `ssr::edge` (inside the
//! server build): the person gets a message they can act on, the log gets internal causes.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("You are not signed in (or your session expired). Sign in again.")]
    Unauthorized,
    /// Signed in, but the role does not allow it; says what is needed.
    #[error("{0}")]
    Forbidden(String),
    /// The request is wrong; the message says what to change.
    #[error("{0}")]
    Invalid(String),
    /// Well-formed, but the content was refused (e.g. a WAV that is not mono).
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("{0}")]
    NotFound(String),
    /// The state does not allow it now (e.g. an incident already runs).
    #[error("{0}")]
    Conflict(String),
    /// A system Switchboard depends on (Webex, CMS) refused or failed.
    #[error("{0}")]
    Upstream(String),
    /// Temporarily impossible (database busy, shutting down): try again.
    #[error("{0}")]
    Unavailable(String),
    /// Our fault; the cause is in the server log, never on the page.
    #[error("{0} failed; the server log has details.")]
    Internal(String),
    /// The browser could not reach the server function or read its answer.
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    /// The HTTP status this error means.
    pub fn status(&self) -> u16 {
        match self {
            AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::Invalid(_) => 400,
            AppError::Rejected(_) => 422,
            AppError::TooLarge(_) => 413,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Upstream(_) => 502,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) | AppError::Transport(_) => 500,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_error_has_its_own_status_and_internal_causes_stay_out_of_the_message() {
        assert_eq!(AppError::Unauthorized.status(), 401);
        assert_eq!(AppError::Forbidden("x".into()).status(), 403);
        assert_eq!(AppError::Invalid("x".into()).status(), 400);
        assert_eq!(AppError::Rejected("x".into()).status(), 422);
        assert_eq!(AppError::TooLarge("x".into()).status(), 413);
        assert_eq!(AppError::Unavailable("x".into()).status(), 503);
        assert_eq!(AppError::Conflict("x".into()).status(), 409);
        assert_eq!(AppError::Upstream("x".into()).status(), 502);
        assert_eq!(AppError::Internal("Saving the rules".into()).to_string(), "Saving the rules failed; the server log has details.");
    }
}
