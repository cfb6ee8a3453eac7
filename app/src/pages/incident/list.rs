//! `/incidents`: the Webex org grant, the directory's state, the response spaces the signed-in
//! Webex user may run incidents in, and the history.

use super::{space_href, when};
use crate::components::{Frame, LocalTime};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchboard::model::display_time;
use switchboard::model::incident::IncidentsHome;

#[server(endpoint = "incidents/get_incidents_home", input = server_fn::codec::Json)]
pub async fn get_incidents_home() -> Result<IncidentsHome, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        let commander = ssr::commander().await.ok();
        let Some(i) = ssr::services()?.incidents().cloned() else {
            return Ok(IncidentsHome::unavailable(switchboard::incident::IncidentError::NotConfigured.to_string()));
        };
        Ok(i.home(commander.as_ref(), true).await?)
    })
    .await
}

#[server(endpoint = "incidents/refresh_directory", input = server_fn::codec::Json)]
pub async fn refresh_directory() -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::incidents()?.refresh_directory(&user.actor()).await?)
    })
    .await
}

#[component]
pub fn IncidentsPage() -> impl IntoView {
    let refresh = Action::new(|_: &()| async { refresh_directory().await });
    let home = Resource::new(move || refresh.version().get(), |_| get_incidents_home());
    let query = use_query_map();
    let connected = move || query.read().get("connected").is_some();
    view! {
        <Frame title="Incidents">
            {move || connected().then(|| view! { <p class="alert info" data-testid="grant-connected">"The Webex org is connected."</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || home.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(h) => view! { <Home h refresh/> }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn Home(h: IncidentsHome, refresh: Action<(), Result<usize, AppError>>) -> impl IntoView {
    let g = h.grant.clone();
    view! {
        <section class="card" data-testid="grant">
            <h2>"Webex org"</h2>
            {if !h.configured {
                view! { <p class="muted">"Webex is not configured on this Switchboard ([webex] in the configuration)."</p> }.into_any()
            } else if g.connected {
                view! {
                    <p data-testid="grant-state">
                        <span class="pill pill-up">"Connected"</span>" as "<strong>{g.display_name.clone()}</strong>" ("{g.email.clone()}")"
                        " · token renews itself, current one valid until "{when(&g.expires_at)}
                    </p>
                    <p class="muted">{format!("Granted by {} on {}.", g.granted_by, when(&g.granted_at))}</p>
                    {g.last_error.clone().map(|e| view! { <p class="alert error">{format!("Last refresh failed: {e}")}</p> })}
                    <form method="post" action="/incidents/connect"><button type="submit" class="secondary">"Connect again"</button></form>
                }.into_any()
            } else {
                view! {
                    <p data-testid="grant-state">
                        <span class="pill pill-down">{if g.needs_grant { "Admin grant needed: sign in with Webex again" } else { "Not connected" }}</span>
                        {g.last_error.clone().map(|e| format!(" {e}"))}
                    </p>
                    <p class="muted">"An org administrator must connect the Webex org once: Switchboard then reads the directory and manages the response spaces' members."</p>
                    <form method="post" action="/incidents/connect">
                        <button type="submit" class="primary" data-testid="connect-org">{if g.needs_grant { "Sign in with Webex again" } else { "Connect Webex org" }}</button>
                    </form>
                }.into_any()
            }}
            {h.configured.then(|| view! {
                <p class="muted" data-testid="directory">
                    {format!("Directory: {} people, loaded {}. ", h.directory_size, when(&h.directory_refreshed))}
                    <button class="secondary" on:click=move |_| { refresh.dispatch(()); } disabled=move || refresh.pending().get()>
                        {move || if refresh.pending().get() { "Loading the directory…" } else { "Reload directory" }}
                    </button>
                    {move || refresh.value().get().and_then(|r| r.err()).map(|e| view! { <span class="result-failed">" "{e.to_string()}</span> })}
                </p>
            })}
        </section>
        <section class="card" data-testid="spaces">
            <h2>"Response spaces"</h2>
            {match h.blocked.clone() {
                Some(why) => view! { <p class="alert info" data-testid="blocked">{why}</p> }.into_any(),
                None if h.spaces.is_empty() => view! { <p class="muted">"No group space whose title starts with the response prefix."</p> }.into_any(),
                None => view! {
                    <ul class="spaces">
                        {h.spaces.iter().map(|s| view! {
                            <li data-testid="space">
                                <a href=space_href(&s.room_id)>{s.title.clone()}</a>
                                {s.open_incident.clone().map(|n| view! { " " <span class="badge badge-external">{format!("incident running: {n}")}</span> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
        <section class="card">
            <h2>"History"</h2>
            <table class="grid" data-testid="history">
                <thead><tr><th>"Incident"</th><th>"Space"</th><th>"Commander"</th><th>"Started"</th><th>"Stopped"</th></tr></thead>
                <tbody>
                    {h.history.iter().map(|i| view! {
                        <tr>
                            <td><a href=format!("/incidents/history?id={}", i.id)>{i.name.clone()}</a></td>
                            <td>{i.space_title.clone()}</td>
                            <td>{i.commander.clone()}</td>
                            <td><LocalTime at=i.started_at/></td>
                            <td>{i.stopped_at.as_ref().map(display_time).unwrap_or_else(|| "running".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
