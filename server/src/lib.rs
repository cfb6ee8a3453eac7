//! The Switchboard server: configuration, command line, HTTP routers and the background
//! workers. `main.rs` only parses the command line and calls in here; tests build the same
//! `Application`.

pub mod assets;
pub mod auth;
pub mod branding;
pub mod calendar;
pub mod cdr;
pub mod cli;
pub mod client_addr;
pub mod cms;
pub mod config;
pub mod demo;
pub mod demo_branding;
pub mod demo_faults;
pub mod http;
pub mod incident;
pub mod metrics;
pub mod ops;
pub mod page;
pub mod rate_limit;
pub mod sessions;
pub mod sim;
pub mod sim_lists;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod webex;
pub mod workers;
