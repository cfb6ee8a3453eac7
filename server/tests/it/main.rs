//! The server's integration tests in one binary (built and linked once): the real application
//! over real HTTP, against the simulators and a SQLite file in a temporary directory.

mod branding;
mod calendar;
mod cdr;
mod cli;
mod common;
mod dashboard;
mod demo;
mod headers;
mod incident_permissions;
mod incidents;
mod lobby;
mod login;
mod sim_world;
mod unauth;
