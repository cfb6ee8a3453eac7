//! `/incidents/{space}` (the Webex room id, percent-encoded): one space — the incident's name,
//! start and stop, the running incident, its responders and who may be added. The old address
//! `/incidents/space?id=…` redirects here.

use super::directory::{AddInternal, LinkExternals};
use super::panel::IncidentPanel;
use super::responders::Responders;
use super::space_href;
use crate::components::{live_refresh, Frame};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use switchboard::model::incident::{IncidentView, SpacePage};

/// Opens a space: the commander becomes its moderator and its members are synced.
#[server(endpoint = "incidents/open_space", input = server_fn::codec::Json)]
pub async fn open_space(room_id: String) -> Result<SpacePage, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, role) = ssr::commanding().await?;
        Ok(i.open_space(&c, &room_id, role).await?)
    })
    .await
}

#[server(endpoint = "incidents/get_space", input = server_fn::codec::Json)]
pub async fn get_space(room_id: String) -> Result<SpacePage, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::View).await?;
        let c = ssr::commander().await.ok();
        Ok(ssr::incidents()?.page(&room_id, c.as_ref().map(|c| c.person_id.as_str()), user.role).await?)
    })
    .await
}

#[server(endpoint = "incidents/save_incident_name", input = server_fn::codec::Json)]
pub async fn save_incident_name(room_id: String, name: String) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, _, _) = ssr::commanding().await?;
        Ok(i.set_incident_name(&room_id, &name).await?)
    })
    .await
}

#[server(endpoint = "incidents/start_incident", input = server_fn::codec::Json)]
pub async fn start_incident(room_id: String, name: String) -> Result<IncidentView, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.start(&c, &room_id, &name).await?)
    })
    .await
}

#[server(endpoint = "incidents/stop_incident", input = server_fn::codec::Json)]
pub async fn stop_incident(room_id: String) -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.stop(&c, &room_id).await?)
    })
    .await
}

/// `/incidents/space?id=…`, where spaces used to be: sends bookmarks on to `/incidents/{space}`.
#[component]
pub fn LegacySpaceRedirect() -> impl IntoView {
    let query = use_query_map();
    let to = query.read_untracked().get("id").map(|id| space_href(&id)).unwrap_or_else(|| "/incidents".into());
    view! { <leptos_router::components::Redirect path=to/> }
}

#[component]
pub fn SpacePageView() -> impl IntoView {
    let params = use_params_map();
    let room = move || params.read().get("space").unwrap_or_default();
    let pushed = live_refresh("/events/incidents", "incident");
    let changed = RwSignal::new(0u32);
    let on_change = Callback::new(move |_: ()| changed.update(|n| *n += 1));
    // The first load opens the space (moderator, members synced); later loads only read.
    let opened = Resource::new(room, open_space);
    // Later loads only: run beside the first, a read could come before the space is opened
    // (and answer "not opened yet", making the page a 404).
    let data = Resource::new(
        move || (room(), pushed.get(), changed.get()),
        |(room, pushed, changed)| async move {
            if pushed == 0 && changed == 0 {
                return Ok(None);
            }
            get_space(room).await.map(Some)
        },
    );
    view! {
        <Frame title="Incident space">
            <p><a href="/incidents">"← Response spaces"</a></p>
            <Transition fallback=|| view! { <p class="muted">"Opening the space…"</p> }>
                {move || opened.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error" data-testid="space-error">{e.to_string()}</p> }.into_any(),
                    Ok(first) => {
                        let page = Signal::derive(move || data.get().and_then(|r| r.ok()).flatten().unwrap_or_else(|| first.clone()));
                        view! { <Space page on_change/> }.into_any()
                    }
                })}
            </Transition>
        </Frame>
    }
}

/// Built once per visit; only the parts that show server state re-render on a push, so what
/// the commander is typing (name, search, the external form) is never lost.
#[component]
fn Space(page: Signal<SpacePage>, on_change: Callback<()>) -> impl IntoView {
    let first = page.get_untracked();
    let room = first.room_id.clone();
    let name = RwSignal::new(first.incident_name.clone());
    let running = Memo::new(move |_| page.with(|p| p.incident.is_some()));
    let message = RwSignal::new(None::<Result<String, String>>);
    let report = move |r: Result<String, AppError>| {
        message.set(Some(r.map_err(|e| e.to_string())));
        on_change.run(());
    };
    let start = {
        let room = room.clone();
        Action::new(move |n: &String| {
            let (room, n) = (room.clone(), n.clone());
            async move {
                let r = start_incident(room, n).await;
                #[cfg(feature = "hydrate")]
                if let Ok(v) = &r {
                    if !v.meeting_link.is_empty() {
                        let _ = window().open_with_url_and_target(&v.meeting_link, "_blank");
                    }
                }
                report(r.map(|v| format!("Started: {} notification(s) going out.", v.deliveries.len())));
            }
        })
    };
    let stop = {
        let room = room.clone();
        Action::new(move |_: &()| {
            let room = room.clone();
            async move { report(stop_incident(room).await.map(|n| format!("Stopped; {n} added member(s) removed from the space."))) }
        })
    };
    let save_name = {
        let room = room.clone();
        Action::new(move |n: &String| {
            let (room, n) = (room.clone(), n.clone());
            async move { report(save_incident_name(room, n).await.map(|_| "Name saved.".to_string())) }
        })
    };
    let panel_room = room.clone();
    view! {
        <h2 data-testid="space-title">{move || page.with(|p| p.title.clone())}</h2>
        {move || message.get().map(|m| match m {
            Ok(t) => view! { <p class="alert info" data-testid="space-result">{t}</p> }.into_any(),
            Err(t) => view! { <p class="alert error" data-testid="space-result">{t}</p> }.into_any(),
        })}
        <section class="card">
            <div class="incident-controls">
                <label>"Incident name "
                    <input data-testid="incident-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) disabled=move || running.get()/>
                </label>
                {move || if running.get() {
                    view! {
                        <button class="danger" data-testid="stop" disabled=move || stop.pending().get()
                            on:click=move |_| { stop.dispatch(()); }>"Stop incident"</button>
                    }.into_any()
                } else {
                    view! {
                        <button class="secondary" on:click=move |_| { save_name.dispatch(name.get_untracked()); }>"Save name"</button>
                        <button class="primary" data-testid="start" disabled=move || start.pending().get()
                            on:click=move |_| { start.dispatch(name.get_untracked()); }>
                            {move || if start.pending().get() { "Starting…" } else { "Start incident" }}
                        </button>
                    }.into_any()
                }}
            </div>
            {move || page.get().incident.map(|v| view! { <IncidentPanel v room_id=panel_room.clone() can_act=true on_change/> })}
        </section>
        {move || view! { <Responders p=page.get() on_change report/> }}
        <AddInternal room_id=room.clone() report/>
        <LinkExternals externals=Signal::derive(move || page.with(|p| p.externals.clone())) room_id=room.clone() report/>
    }
}
