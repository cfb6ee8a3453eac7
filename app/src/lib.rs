//! Switchboard's web UI: the page shell, routes, pages and the server functions they call.
//! Server functions are thin: check the session's role, call one service of `switchboard`
//! (received through Leptos context), and let `api::ssr::edge` map the error.

#![recursion_limit = "256"]

pub mod api;
mod components;
pub mod error;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

pub use pages::login::{safe_next, LoginFeedback};

/// The HTML document around the app; rendered only on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    api::ssr::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The bundle's directory is named by its contents (server::assets): cached for good.
                <link rel="stylesheet" id="switchboard" href=format!("/{}/switchboard.css", options.site_pkg_dir)/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    components::mark_hydrated();
    view! {
        <Title text="Switchboard"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <Route path=path!("/") view=pages::dashboard::DashboardPage/>
                <Route path=path!("/audit") view=pages::audit::AuditPage/>
                <Route path=path!("/calls") view=pages::calls::CallsPage/>
                <Route path=path!("/lobby") view=pages::lobby::LobbyPage/>
                <Route path=path!("/settings") view=pages::settings::SettingsPage/>
                <Route path=path!("/branding") view=pages::branding::BrandingPage/>
                <Route path=path!("/calendar") view=pages::calendar::CalendarPageView/>
                <Route path=path!("/incidents") view=pages::incidents::IncidentsPage/>
                // The fixed paths first: they are not space ids.
                <Route path=path!("/incidents/history") view=pages::incidents::IncidentHistoryPage/>
                <Route path=path!("/incidents/space") view=pages::incidents::LegacySpaceRedirect/>
                <Route path=path!("/incidents/:space") view=pages::incidents::SpacePageView/>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
