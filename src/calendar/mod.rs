//! Calendar join details (in progress): `@cms` in an Outlook meeting's Location → the
//! organiser's CMS personal-space join details in the invitation. So far: the rules that decide
//! what to write ([`rules`]), the CMS user sync ([`users`]) and its daily schedule
//! ([`schedule`]), and EWS's SOAP requests and answers ([`ews`], pure). The HTTP side of EWS
//! (streaming connections, catch-up), Graph, the service that ties them together, the page and
//! demo mode are not built yet.

pub mod ews;
pub mod ews_client;
pub mod rules;
pub mod schedule;
pub mod service;
pub mod templates;
pub mod users;
