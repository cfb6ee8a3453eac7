//! `/login`: a plain HTML form posted to the server's `POST /login`, so it works without
//! JavaScript. A failed attempt re-renders this page with the reason (and the right status).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// Why the last attempt failed; provided as context when the server re-renders the page.
#[derive(Clone, Debug)]
pub struct LoginFeedback {
    pub message: String,
    pub username: String,
}

/// The feedback for this render. Read through a resource so the browser hydrates with the
/// same message the server rendered.
#[server]
pub async fn get_login_feedback() -> Result<Option<(String, String)>, crate::error::AppError> {
    Ok(use_context::<LoginFeedback>().map(|f| (f.message, f.username)))
}

/// Only same-site absolute paths are followed after login. Browsers drop tabs and newlines from
/// URLs and read `\\` as `/`, so `/\t/evil.example` or `/\\evil.example` would leave the site:
/// any control character or backslash refuses the target.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/login")
                && !n.chars().any(|c| c.is_control() || c == '\\') =>
        {
            n
        }
        _ => "/".to_string(),
    }
}

/// Whether "Sign in with Webex" is offered.
#[server]
pub async fn webex_sign_in_enabled() -> Result<bool, crate::error::AppError> {
    Ok(crate::api::ssr::services()?.webex.is_some())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    crate::components::mark_hydrated();
    let query = use_query_map();
    let next = move || safe_next(query.read().get("next"));
    let notice = move || match query.read().get("reason").as_deref() {
        Some("expired") => Some("Your session expired. Sign in again."),
        Some("signed-out") => Some("You are signed out."),
        _ => None,
    };
    let feedback = Resource::new_blocking(|| (), |_| get_login_feedback());
    let show_password = RwSignal::new(false);
    let webex = Resource::new_blocking(|| (), |_| webex_sign_in_enabled());

    view! {
        <main class="login">
            <form method="post" action="/login" class="card" data-testid="login-form">
                <h1>"Switchboard"</h1>
                <p class="muted">"Sign in to manage calls, lobbies and branding."</p>
                <Suspense fallback=|| ()>
                    {move || {
                        let fb = feedback.get().and_then(|r| r.ok()).flatten();
                        match fb {
                            Some((message, _)) => Some(view! {
                                <p class="alert error" role="alert" data-testid="login-error">{message}</p>
                            }.into_any()),
                            None => notice().map(|n| view! { <p class="alert info">{n}</p> }.into_any()),
                        }
                    }}
                    <label>
                        "User name"
                        <input
                            name="username"
                            autocomplete="username"
                            required
                            autofocus
                            value=move || feedback.get().and_then(|r| r.ok()).flatten().map(|f| f.1).unwrap_or_default()
                        />
                    </label>
                </Suspense>
                <label>
                    "Password"
                    <span class="password-row">
                        <input
                            name="password"
                            autocomplete="current-password"
                            required
                            type=move || if show_password.get() { "text" } else { "password" }
                        />
                        <button
                            type="button"
                            class="secondary"
                            data-testid="toggle-password"
                            aria-pressed=move || show_password.get().to_string()
                            on:click=move |_| show_password.update(|s| *s = !*s)
                        >
                            {move || if show_password.get() { "Hide" } else { "Show" }}
                        </button>
                    </span>
                </label>
                <input type="hidden" name="next" value=next/>
                <button type="submit" class="primary">"Sign in"</button>
                <Suspense fallback=|| ()>
                    {move || webex.get().and_then(|r| r.ok()).filter(|on| *on).map(|_| view! {
                        <p class="or">"or"</p>
                        <a class="button secondary webex" rel="external" data-testid="webex-sign-in"
                            href=move || format!("/auth/webex?next={}", switchboard::url::query_value(&next()))>
                            "Sign in with Webex"
                        </a>
                    })}
                </Suspense>
            </form>
        </main>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_login() {
        assert_eq!(safe_next(Some("/calls?x=1".into())), "/calls?x=1");
        assert_eq!(safe_next(Some("//evil.example/".into())), "/");
        assert_eq!(safe_next(Some("https://evil.example/".into())), "/");
        assert_eq!(safe_next(Some("/\\evil.example".into())), "/");
        assert_eq!(safe_next(Some("/login".into())), "/");
        assert_eq!(safe_next(None), "/");
        // Browsers drop tabs and newlines and read `\` as `/`: these would leave the site.
        for bad in ["/\t/evil.example", "/\n/evil.example", "/\r//evil.example", "/a\\b"] {
            assert_eq!(safe_next(Some(bad.into())), "/", "{bad:?}");
        }
    }
}
