//! Pieces several pages share: the frame with navigation, status pills, time formatting.

use leptos::prelude::*;
use switchboard::model::{ComponentState, Role, UserInfo};

/// Sets `data-hydrated` on <html> once the browser build has taken over the page, so tests (and
/// CSS) can tell a live page from server-rendered HTML. Called by each page (through `Frame`),
/// not by `App`: a page split out of the main bundle is hydrated only after its chunk arrives,
/// and `App`'s own effects run before that.
pub fn mark_hydrated() {
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(el) = document().document_element() {
            let _ = el.set_attribute("data-hydrated", "true");
        }
    });
}

/// A counter that goes up whenever the server pushes `event` on the SSE stream at `url`, so a
/// page can refetch its resources by push instead of polling. Server-side it stays 0.
pub fn live_refresh(url: &'static str, event: &'static str) -> RwSignal<u32> {
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        if let Ok(es) = web_sys::EventSource::new(url) {
            let cb = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| tick.update(|n| *n += 1));
            let _ = es.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
            cb.forget();
            let es = send_wrapper::SendWrapper::new(es);
            on_cleanup(move || es.close());
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, event);
    tick
}

/// Page frame: header with the areas, the signed-in user and logout, then the page.
#[component]
pub fn Frame(title: &'static str, children: Children) -> impl IntoView {
    mark_hydrated();
    let user = Resource::new(|| (), |_| crate::api::whoami());
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Switchboard"</a>
            <nav>
                <a href="/">"Dashboard"</a>
                <a href="/calls">"Calls"</a>
                <a href="/lobby">"Lobby"</a>
                <a href="/branding">"Branding"</a>
                <a href="/incidents">"Incidents"</a>
                <a href="/calendar">"Calendar"</a>
                <a href="/settings">"Settings"</a>
                <Suspense fallback=|| ()>
                    {move || user.get().and_then(|u| u.ok()).flatten().filter(|u| u.role == Role::Admin).map(|_| view! {
                        <a href="/audit">"Audit log"</a>
                    })}
                </Suspense>
            </nav>
            <div class="who">
                <Suspense fallback=|| ()>
                    {move || user.get().and_then(|u| u.ok()).flatten().map(|u: UserInfo| view! {
                        <span class="user" data-testid="current-user">{u.name.clone()}" · "{u.role.to_string()}</span>
                        <form method="post" action="/logout" class="inline">
                            <button type="submit" class="link">"Log out"</button>
                        </form>
                    })}
                </Suspense>
            </div>
        </header>
        <main class="page">
            <h1>{title}</h1>
            {children()}
        </main>
    }
}

#[component]
pub fn StatePill(state: ComponentState) -> impl IntoView {
    let class = format!(
        "pill pill-{}",
        match state {
            ComponentState::Up => "up",
            ComponentState::Down => "down",
            ComponentState::Unknown => "unknown",
            ComponentState::Disabled => "disabled",
        }
    );
    view! { <span class=class>{state.label()}</span> }
}

/// A point in time as the viewer's clock shows it. The server renders UTC; once the page runs in
/// the browser, the browser's offset for that instant (so DST is right) replaces it.
#[component]
pub fn LocalTime(at: time::OffsetDateTime) -> impl IntoView {
    let text = RwSignal::new(switchboard::model::display_time(&at));
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let millis = (at.unix_timestamp_nanos() / 1_000_000) as f64;
        // getTimezoneOffset is UTC minus local, in minutes.
        let minutes = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(millis)).get_timezone_offset();
        if let Ok(offset) = time::UtcOffset::from_whole_seconds(-(minutes as i32) * 60) {
            text.set(switchboard::model::display_time_at(&at, offset));
        }
    });
    let machine = at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    view! { <time datetime=machine>{move || text.get()}</time> }
}

/// "3 d 4 h", "5 h 2 min", "42 s".
pub fn format_duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3_600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d} d {h} h")
    } else if h > 0 {
        format!("{h} h {m} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn durations_read_at_the_right_granularity() {
        assert_eq!(format_duration(42), "42 s");
        assert_eq!(format_duration(125), "2 min 5 s");
        assert_eq!(format_duration(3 * 3600 + 120), "3 h 2 min");
        assert_eq!(format_duration(2 * 86_400 + 5 * 3600), "2 d 5 h");
    }
}
