//! Statements shared by the incident parts' transactions, per backend (`sqlite.rs`,
//! `postgres.rs`): a lower layer under the parts, so that no part's SQL imports another's.

pub(crate) mod postgres;
pub(crate) mod sqlite;
