//! Calendar join details (in progress): `@cms` in an Outlook meeting's Location → the
//! organiser's CMS personal-space join details in the invitation. Built so far: the rules that
//! decide what to write ([`rules`]), the join-details templates ([`templates`]), the CMS user
//! sync ([`users`]) and its daily schedule ([`schedule`]), EWS's SOAP ([`ews`], pure) and HTTP
//! client ([`ews_client`]), the service that processes one meeting ([`service`]) and the
//! streaming watcher with catch-up ([`watcher`]). Not built yet: the EWS simulator and the tests
//! over HTTP against it, Graph, NTLM, the wiring into `Services`/workers/config, the `/calendar`
//! page and demo mode.

pub mod ews;
pub mod ews_client;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod templates;
pub mod users;
pub mod watcher;
