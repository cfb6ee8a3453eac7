//! The Microsoft Graph adapter (Exchange Online, ../shared/reference/exchange.md §3): the
//! app-token client ([`client`]), one event read and written ([`events`]), the calendar delta
//! ([`delta`]), change-notification subscriptions ([`notify`]) and the time zones Graph's
//! times come in ([`zones`]).

pub mod client;
pub mod delta;
pub mod events;
pub mod notify;
pub mod zones;

pub use client::GraphClient;
pub use delta::DeltaPage;
pub use notify::{Lifecycle, Notice};
