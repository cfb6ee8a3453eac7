//! One module per page.

pub mod audit;
pub mod branding;
pub mod calendar;
pub mod calls;
pub mod dashboard;
pub mod incident;
pub mod lobby;
pub mod login;
pub mod settings;

use leptos::prelude::*;

#[component]
pub fn NotFound() -> impl IntoView {
    crate::components::mark_hydrated();
    #[cfg(feature = "ssr")]
    if let Some(r) = use_context::<leptos_axum::ResponseOptions>() {
        r.set_status(axum::http::StatusCode::NOT_FOUND);
    }
    view! {
        <main class="page">
            <h1>"Not found"</h1>
            <p>"There is no page at this address. " <a href="/">"Back to the dashboard"</a></p>
        </main>
    }
}
