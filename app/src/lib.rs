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
    lazy_route, path, Lazy, LazyRoute,
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
    view! {
        <Title text="Switchboard"/>
        <Router>
            <Routes fallback=pages::NotFound>
                // The sign-in page is in the main bundle (every first visit starts there); each
                // other page is a chunk of its own, fetched when it is first shown (see `lazy_page!`).
                <Route path=path!("/login") view=pages::login::LoginPage/>
                <Route path=path!("/") view={Lazy::<DashboardRoute>::new()}/>
                <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()}/>
                <Route path=path!("/calls") view={Lazy::<CallsRoute>::new()}/>
                <Route path=path!("/lobby") view={Lazy::<LobbyRoute>::new()}/>
                <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()}/>
                <Route path=path!("/branding") view={Lazy::<BrandingRoute>::new()}/>
                <Route path=path!("/calendar") view={Lazy::<CalendarRoute>::new()}/>
                <Route path=path!("/incidents") view={Lazy::<IncidentsRoute>::new()}/>
                // The fixed paths first: they are not space ids.
                <Route path=path!("/incidents/history") view={Lazy::<IncidentHistoryRoute>::new()}/>
                <Route path=path!("/incidents/space") view=pages::incident::LegacySpaceRedirect/>
                <Route path=path!("/incidents/:space") view={Lazy::<SpaceRoute>::new()}/>
            </Routes>
        </Router>
    }
}

/// A route whose page is split out of the main bundle: `cargo leptos build --split` puts the
/// page's code (its views, and the client side of the server functions only it calls) in a
/// WebAssembly chunk of its own, which the router fetches before it shows the page — on the
/// first page of a visit, before hydrating it (`hydrate_lazy`). The server renders it as usual.
macro_rules! lazy_page {
    ($route:ident => $page:path) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                Self
            }

            fn view(this: Self) -> AnyView {
                let _ = this;
                view! { <$page/> }.into_any()
            }
        }
    };
}

lazy_page!(DashboardRoute => pages::dashboard::DashboardPage);
lazy_page!(AuditRoute => pages::audit::AuditPage);
lazy_page!(CallsRoute => pages::calls::CallsPage);
lazy_page!(LobbyRoute => pages::lobby::LobbyPage);
lazy_page!(SettingsRoute => pages::settings::SettingsPage);
lazy_page!(BrandingRoute => pages::branding::BrandingPage);
lazy_page!(CalendarRoute => pages::calendar::CalendarPageView);
lazy_page!(IncidentsRoute => pages::incident::IncidentsPage);
lazy_page!(IncidentHistoryRoute => pages::incident::IncidentHistoryPage);
lazy_page!(SpaceRoute => pages::incident::SpacePageView);

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // A page's chunk could not be fetched: most often a newer build replaced the bundle while
        // this page stayed open (its chunks live under the old build's directory). The bundle
        // cannot go on; load the page that was asked for afresh (with the new build), at most
        // once in 30 s so a chunk that keeps failing shows the server-rendered page instead of
        // reloading forever. The text is wasm_split_helpers' (leptos 0.8.23 loads chunks without
        // a way to handle failure); the end-to-end test of a missing chunk fails if it changes.
        if info.to_string().contains("load callback should succeed") {
            load_afresh_once_in(30_000.0);
        }
    }));
    remember_link_clicks();
    // `hydrate_lazy`: the first page may be a split-out chunk, fetched before it is hydrated.
    leptos::mount::hydrate_lazy(App);
}

#[cfg(feature = "hydrate")]
thread_local! {
    /// The link last clicked, and when: where the router was going when a chunk failed to
    /// arrive (it changes the address only once the page's code is there).
    static LAST_LINK: std::cell::RefCell<Option<(String, f64)>> = const { std::cell::RefCell::new(None) };
}

#[cfg(feature = "hydrate")]
fn remember_link_clicks() {
    use wasm_bindgen::JsCast;
    let on_click = wasm_bindgen::closure::Closure::<dyn Fn(web_sys::Event)>::new(|ev: web_sys::Event| {
        let href = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a[href]").ok().flatten())
            .and_then(|a| a.get_attribute("href"));
        LAST_LINK.with(|l| *l.borrow_mut() = href.map(|h| (h, js_sys::Date::now())));
    });
    // Capture phase: seen before the router handles (and prevents) the click.
    let _ = leptos::prelude::document().add_event_listener_with_callback_and_bool("click", on_click.as_ref().unchecked_ref(), true);
    on_click.forget();
}

#[cfg(feature = "hydrate")]
fn load_afresh_once_in(ms: f64) {
    const KEY: &str = "switchboard-chunk-reload";
    let window = leptos::prelude::window();
    let now = js_sys::Date::now();
    let storage = window.session_storage().ok().flatten();
    let last = storage.as_ref().and_then(|s| s.get_item(KEY).ok().flatten()).and_then(|v| v.parse::<f64>().ok());
    if last.is_some_and(|t| now - t < ms) {
        return;
    }
    if let Some(s) = storage {
        let _ = s.set_item(KEY, &now.to_string());
    }
    // A click long ago is not where this failing load was going (a navigation made by code).
    let link = LAST_LINK.with(|l| l.borrow_mut().take()).filter(|(_, at)| now - at < 10_000.0);
    let _ = match link {
        Some((href, _)) => window.location().assign(&href),
        None => window.location().reload(),
    };
}
