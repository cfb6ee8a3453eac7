//! Simulators of the systems Switchboard talks to, speaking their documented wire formats over
//! real HTTP, awkward parts included (short pages, resends, faults), for tests and demo mode.

pub mod cms;
pub mod connect;
pub mod ews;
pub mod faults;
pub mod graph;
pub mod webex;
