//! Calendar join details (in progress): `@cms` in an Outlook meeting's Location → the
//! organiser's CMS personal-space join details in the invitation. So far: the rules that decide
//! what to write ([`rules`]). The Exchange (EWS/Graph) adapters, the CMS user sync and the page
//! are not built yet.

pub mod rules;
