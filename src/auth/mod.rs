//! Operator authentication: accounts with argon2id password hashes and the login failure
//! limiter. Sessions themselves live in the web layer (tower-sessions); this is the rest.

mod limiter;
mod password;
mod users;

pub use limiter::{LimitDecision, LoginLimiter};
pub use password::{hash_password, verify_password, PasswordError, MIN_PASSWORD_LEN};
pub use users::{valid_user_name, AuthError, StoredUser, UserError, Users};
