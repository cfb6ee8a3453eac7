//! `/incidents`: the Webex org grant, the directory's state, the response spaces the signed-in
//! Webex user may run incidents in, and the history.

use super::directory::ExternalDirectory;
use super::{space_href, when};
use crate::components::{Frame, LocalTime};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use switchboard::model::incident::{IncidentsHome, SpaceChoice};
use switchboard::model::{display_time, IncidentAction};

#[server(endpoint = "incidents/get_incidents_home", input = server_fn::codec::Json)]
pub async fn get_incidents_home() -> Result<IncidentsHome, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(IncidentAction::View).await?;
        let commander = ssr::commander().await.ok();
        let Some(i) = ssr::services()?.incidents().cloned() else {
            return Ok(IncidentsHome::unavailable(switchboard::incident::IncidentError::NotConfigured.to_string(), user.role));
        };
        Ok(i.home(commander.as_ref(), user.role).await?)
    })
    .await
}

#[server(endpoint = "incidents/refresh_directory", input = server_fn::codec::Json)]
pub async fn refresh_directory() -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(IncidentAction::ReloadDirectory).await?;
        Ok(ssr::incidents()?.refresh_directory(&user.actor()).await?)
    })
    .await
}

/// The group spaces the connected admin is in, to choose the responders' space from (admins).
#[server(endpoint = "incidents/responders_space_choices", input = server_fn::codec::Json)]
pub async fn responders_space_choices() -> Result<Vec<SpaceChoice>, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::permit(IncidentAction::ChooseRespondersSpace).await?;
        Ok(ssr::incidents()?.responders_space_choices().await?)
    })
    .await
}

/// Makes the space with this room id the responders' space (admins).
#[server(endpoint = "incidents/choose_responders_space", input = server_fn::codec::Json)]
pub async fn choose_responders_space(room_id: String) -> Result<SpaceChoice, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(IncidentAction::ChooseRespondersSpace).await?;
        Ok(ssr::incidents()?.choose_responders_space(&user.actor(), &room_id).await?)
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
        {(h.configured && g.connected).then(|| view! { <RespondersSpace current=h.responders_space.clone() role=h.role/> })}
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
        {(h.configured && IncidentAction::EditDirectory.allowed(h.role)).then(|| view! { <ExternalDirectory/> })}
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

/// Whose members run incidents: the space by title and room id; admins choose it from the
/// group spaces the connected admin is in (a title alone names no one space).
#[component]
fn RespondersSpace(current: Option<SpaceChoice>, role: switchboard::model::Role) -> impl IntoView {
    // What Save stores: the current space until another is picked.
    let picked = RwSignal::new(current.as_ref().map(|c| c.room_id.clone()));
    let current = RwSignal::new(current);
    let load = Action::new(|_: &()| responders_space_choices());
    let choose = Action::new(move |id: &String| {
        let id = id.clone();
        async move {
            let r = choose_responders_space(id).await;
            if let Ok(c) = &r {
                current.set(Some(c.clone()));
            }
            r
        }
    });
    let show = |c: &SpaceChoice| format!("{} (id {})", c.title, c.room_id);
    view! {
        <section class="card" data-testid="responders-space">
            <h2>"Who runs incidents"</h2>
            <p data-testid="responders-space-current">{move || match current.get() {
                Some(c) => format!("Members of the Webex space {}.", show(&c)),
                None => "Nobody yet: no responders' space is chosen.".to_string(),
            }}</p>
            {IncidentAction::ChooseRespondersSpace.allowed(role).then(|| view! {
                <button class="secondary" data-testid="choose-responders-space" on:click=move |_| { load.dispatch(()); }
                    disabled=move || load.pending().get()>"Choose the responders' space…"</button>
                {move || load.value().get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="space-choices">
                            {list.into_iter().map(|c| {
                                let id = c.room_id.clone();
                                let checked = current.with_untracked(|cur| cur.as_ref().is_some_and(|cur| cur.room_id == c.room_id));
                                view! {
                                    <li><label data-testid="space-choice" data-room-id=c.room_id.clone()>
                                        <input type="radio" name="responders-space" prop:checked=checked on:change=move |_| picked.set(Some(id.clone()))/>
                                        " "<strong>{c.title.clone()}</strong>" "<code class="muted">{c.room_id.clone()}</code>
                                    </label></li>
                                }
                            }).collect_view()}
                        </ul>
                        <button class="primary" data-testid="save-responders-space" disabled=move || picked.get().is_none()
                            on:click=move |_| { if let Some(id) = picked.get_untracked() { choose.dispatch(id); } }>"Save"</button>
                        {move || choose.value().get().map(|r| match r {
                            Ok(c) => view! { <p class="alert info" data-testid="responders-space-saved">{format!("Saved: {}.", show(&c))}</p> }.into_any(),
                            Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                        })}
                    }.into_any(),
                })}
            })}
        </section>
    }
}
