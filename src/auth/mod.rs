//! Operator authentication: argon2id password hashes and the login failure limiter.
//! Sessions themselves live in the web layer (tower-sessions); this is the pure part.

mod limiter;
mod password;

pub use limiter::{LoginLimiter, LimitDecision};
pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_LEN};
