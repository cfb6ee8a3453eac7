//! `/incidents`: the Webex org grant, the response spaces the signed-in Webex user may run
//! incidents in, and the history. `/incidents/{space}` (the Webex room id, percent-encoded): one
//! space — responders (internal from the org directory, external phone-only), the incident's
//! start, deliveries live by push, acknowledgements, reminders and stop (`/incidents/space?id=…`,
//! the old address, redirects there). `/incidents/history?id=…`: a past incident.

use crate::components::LocalTime;
use crate::components::{live_refresh, Frame};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};
use switchboard::model::display_time;
use switchboard::model::incident::{
    AckAnswer, Channel, DeliveryStatus, DirectoryPerson, ExternalResponder, IncidentView, IncidentsHome, ResponderView, SpacePage,
};

#[server(endpoint = "incidents/get_incidents_home", input = server_fn::codec::Json)]
pub async fn get_incidents_home() -> Result<IncidentsHome, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        let commander = ssr::commander().await.ok();
        let Some(i) = ssr::services()?.incidents().cloned() else {
            return Ok(IncidentsHome {
                grant: Default::default(),
                configured: false,
                webex_user: false,
                blocked: Some(switchboard::incident::IncidentError::NotConfigured.to_string()),
                spaces: vec![],
                history: vec![],
                directory_size: 0,
                directory_refreshed: None,
            });
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
        Ok(ssr::incidents()?.refresh_directory(&user.name).await?)
    })
    .await
}

/// Opens a space: the commander becomes its moderator and its members are synced.
#[server(endpoint = "incidents/open_space", input = server_fn::codec::Json)]
pub async fn open_space(room_id: String) -> Result<SpacePage, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.open_space(&c, &room_id).await?)
    })
    .await
}

#[server(endpoint = "incidents/get_space", input = server_fn::codec::Json)]
pub async fn get_space(room_id: String) -> Result<SpacePage, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        let c = ssr::commander().await.ok();
        Ok(ssr::incidents()?.page(&room_id, c.as_ref().map(|c| c.person_id.as_str())).await?)
    })
    .await
}

#[server(endpoint = "incidents/save_incident_name", input = server_fn::codec::Json)]
pub async fn save_incident_name(room_id: String, name: String) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Operator).await?;
        ssr::commander().await?;
        Ok(ssr::incidents()?.set_incident_name(&room_id, &name).await?)
    })
    .await
}

#[server(endpoint = "incidents/search_people", input = server_fn::codec::Json)]
pub async fn search_people(q: String) -> Result<Vec<DirectoryPerson>, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::incidents()?.search_directory(&q).await?)
    })
    .await
}

#[server(endpoint = "incidents/add_internal", input = server_fn::codec::Json)]
pub async fn add_internal(room_id: String, person_id: String) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.add_internal(&c, &room_id, &person_id).await?)
    })
    .await
}

#[server(endpoint = "incidents/remove_responder", input = server_fn::codec::Json)]
pub async fn remove_responder(room_id: String, responder_id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.remove_responder(&c, &room_id, responder_id).await?)
    })
    .await
}

/// Creates (no id) or updates an external responder.
#[server(endpoint = "incidents/save_external", input = server_fn::codec::Json)]
pub async fn save_external(
    id: Option<i64>,
    name: String,
    email: String,
    mobile: String,
    voice: String,
) -> Result<ExternalResponder, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Operator).await?;
        let form = switchboard::incident::ExternalForm { name, email, mobile, voice };
        let i = ssr::incidents()?;
        Ok(match id {
            Some(id) => i.update_external(&user.name, id, &form).await?,
            None => i.create_external(&user.name, &form).await?,
        })
    })
    .await
}

#[server(endpoint = "incidents/delete_external", input = server_fn::codec::Json)]
pub async fn delete_external(id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::incidents()?.delete_external(&user.name, id).await?)
    })
    .await
}

#[server(endpoint = "incidents/link_external", input = server_fn::codec::Json)]
pub async fn link_external(room_id: String, id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.link_external(&c, &room_id, id).await?)
    })
    .await
}

#[server(endpoint = "incidents/set_channel", input = server_fn::codec::Json)]
pub async fn set_channel(room_id: String, responder_id: i64, channel: Channel, on: bool) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::incidents()?.set_channel(&room_id, responder_id, channel, on).await?)
    })
    .await
}

#[server(endpoint = "incidents/start_incident", input = server_fn::codec::Json)]
pub async fn start_incident(room_id: String, name: String) -> Result<IncidentView, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.start(&c, &room_id, &name).await?)
    })
    .await
}

#[server(endpoint = "incidents/remind_responder", input = server_fn::codec::Json)]
pub async fn remind_responder(room_id: String, responder_id: i64, channels: Vec<Channel>) -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.remind(&c, &room_id, responder_id, &channels).await?)
    })
    .await
}

#[server(endpoint = "incidents/retry_delivery", input = server_fn::codec::Json)]
pub async fn retry_delivery(delivery_id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.retry_delivery(&c, delivery_id).await?)
    })
    .await
}

#[server(endpoint = "incidents/stop_incident", input = server_fn::codec::Json)]
pub async fn stop_incident(room_id: String) -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c) = ssr::commanding().await?;
        Ok(i.stop(&c, &room_id).await?)
    })
    .await
}

#[server(endpoint = "incidents/get_incident", input = server_fn::codec::Json)]
pub async fn get_incident(id: i64) -> Result<IncidentView, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        Ok(ssr::incidents()?.incident(id).await?)
    })
    .await
}

fn when(t: &Option<time::OffsetDateTime>) -> String {
    t.as_ref().map(display_time).unwrap_or_else(|| "—".into())
}

/// The address of a space's page. Webex room ids are base64 and may hold `/` and `+`, so the
/// id is percent-encoded into one path segment (the router decodes the parameter).
pub fn space_href(room_id: &str) -> String {
    format!("/incidents/{}", encode(room_id))
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
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
                    <p><a class="button secondary" href="/incidents/connect" rel="external">"Connect again"</a></p>
                }.into_any()
            } else {
                view! {
                    <p data-testid="grant-state">
                        <span class="pill pill-down">{if g.needs_grant { "Admin grant needed" } else { "Not connected" }}</span>
                        {g.last_error.clone().map(|e| format!(" {e}"))}
                    </p>
                    <p class="muted">"An org administrator must connect the Webex org once: Switchboard then reads the directory and manages the response spaces' members."</p>
                    <p><a class="button primary" href="/incidents/connect" rel="external" data-testid="connect-org">"Connect Webex org"</a></p>
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

#[component]
pub fn IncidentHistoryPage() -> impl IntoView {
    let query = use_query_map();
    let id = move || query.read().get("id").and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
    let pushed = live_refresh("/events/incidents", "incident");
    let data = Resource::new(move || (id(), pushed.get()), |(id, _)| get_incident(id));
    view! {
        <Frame title="Incident">
            <p><a href="/incidents">"← Incidents"</a></p>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(v) => view! { <IncidentPanel v room_id=String::new() can_act=false on_change=Callback::new(|_| ())/> }.into_any(),
                })}
            </Transition>
        </Frame>
    }
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
        <Externals externals=Signal::derive(move || page.with(|p| p.externals.clone())) room_id=room.clone() report/>
    }
}

#[component]
fn IncidentPanel(v: IncidentView, room_id: String, can_act: bool, on_change: Callback<()>) -> impl IntoView {
    let (done, total) = v.progress();
    let sent = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Sent).count();
    let failed = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Failed).count();
    let retry = Action::new(move |id: &i64| {
        let id = *id;
        async move {
            let _ = retry_delivery(id).await;
            on_change.run(());
        }
    });
    let _ = room_id;
    view! {
        <div class="incident" data-testid="incident">
            <p>
                <strong>{v.summary.name.clone()}</strong>" · commander "{v.summary.commander.clone()}" · started "<LocalTime at=v.summary.started_at/>
                {v.summary.stopped_at.as_ref().map(|t| format!(" · stopped {}", display_time(t)))}
            </p>
            {(!v.meeting_link.is_empty()).then(|| view! {
                <p><a class="button primary" href=v.meeting_link.clone() target="_blank" rel="noreferrer" data-testid="meeting-link">"Open the meeting"</a>
                   " "<span class="muted">{format!("Meeting {} · dial in {}", v.meeting_number, v.toll_number)}</span></p>
            })}
            <div class="progress" data-testid="progress" data-done=done.to_string() data-total=total.to_string()>
                <progress max=total.max(1).to_string() value=done.to_string()></progress>
                <span>{format!(" {done} of {total} done · {sent} sent · {failed} failed")}</span>
            </div>
            <h3>"Acknowledgements"</h3>
            <ul class="acks" data-testid="acks">
                {v.acks.iter().map(|a| {
                    let (label, class) = match a.answer {
                        Some(AckAnswer::Coming) => ("On my way", "state-in"),
                        Some(AckAnswer::Declined) => ("Can't join", "result-failed"),
                        None => ("no answer yet", "muted"),
                    };
                    view! { <li data-testid="ack" data-name=a.responder_name.clone()><span>{a.responder_name.clone()}</span>": "<span class=class>{label}</span></li> }
                }).collect_view()}
            </ul>
            <h3>"Deliveries"</h3>
            <table class="grid" data-testid="deliveries">
                <thead><tr><th>"Responder"</th><th>"Channel"</th><th>"To"</th><th>"Round"</th><th>"Status"</th><th>"Reason"</th><th></th></tr></thead>
                <tbody>
                    {v.deliveries.iter().map(|d| {
                        let id = d.id;
                        let class = match d.status { DeliveryStatus::Sent => "state-in", DeliveryStatus::Failed => "result-failed", _ => "state-ivr" };
                        view! {
                            <tr data-testid="delivery" data-status=d.status.as_str() data-channel=d.channel.as_str()>
                                <td>{d.responder_name.clone()}</td>
                                <td>{d.channel.label()}</td>
                                <td>{d.address.chars().take(40).collect::<String>()}</td>
                                <td>{if d.round == 0 { "start".to_string() } else { format!("reminder {}", d.round) }}</td>
                                <td class=class>{d.status.as_str()}{(d.attempts > 1).then(|| format!(" ({} attempts)", d.attempts))}</td>
                                <td>{d.reason.clone().unwrap_or_default()}</td>
                                <td>{(can_act && d.status == DeliveryStatus::Failed && v.summary.stopped_at.is_none()).then(|| view! {
                                    <button class="secondary" data-testid="retry" on:click=move |_| { retry.dispatch(id); }>"Retry"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <h3>"Timeline"</h3>
            <ol class="timeline" data-testid="timeline">
                {v.timeline.iter().map(|t| view! { <li><LocalTime at=t.at/>" · "{t.detail.clone()}</li> }).collect_view()}
            </ol>
        </div>
    }
}

#[component]
fn Responders(
    p: SpacePage,
    on_change: Callback<()>,
    report: impl Fn(Result<String, AppError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let running = p.incident.is_some();
    let room = p.room_id.clone();
    let toggle = {
        let room = room.clone();
        Action::new(move |(id, ch, on): &(i64, Channel, bool)| {
            let (room, id, ch, on) = (room.clone(), *id, *ch, *on);
            async move {
                if let Err(e) = set_channel(room, id, ch, on).await {
                    report(Err(e));
                } else {
                    on_change.run(());
                }
            }
        })
    };
    let remove = {
        let room = room.clone();
        Action::new(move |id: &i64| {
            let (room, id) = (room.clone(), *id);
            async move { report(remove_responder(room, id).await.map(|_| "Removed from the space.".to_string())) }
        })
    };
    let remind = {
        let room = room.clone();
        Action::new(move |(id, chs): &(i64, Vec<Channel>)| {
            let (room, id, chs) = (room.clone(), *id, chs.clone());
            async move { report(remind_responder(room, id, chs).await.map(|n| format!("Reminder queued ({n} notification(s))."))) }
        })
    };
    let sms_enabled = p.sms_enabled;
    let voice_enabled = p.voice_enabled;
    view! {
        <section class="card">
            <h2>"Responders in this space"</h2>
            {(!sms_enabled || !voice_enabled).then(|| view! {
                <p class="muted">{format!("SMS {} · voice {} (Webex Connect).", if sms_enabled { "on" } else { "not configured" }, if voice_enabled { "on" } else { "not configured" })}</p>
            })}
            <table class="grid" data-testid="responders">
                <thead><tr><th>"Name"</th><th>"Kind"</th><th>"SMS"</th><th>"Voice"</th><th></th></tr></thead>
                <tbody>
                    {p.responders.into_iter().map(|r: ResponderView| {
                        let id = r.id;
                        let remind_to = RwSignal::new("all".to_string());
                        let kind = match (r.internal, r.pre_existing, r.is_commander) {
                            (_, _, true) => "commander",
                            (true, true, _) => "Webex member (before)",
                            (true, false, _) => "Webex, added",
                            (false, _, _) => "external",
                        };
                        let sms = r.sms_number.clone();
                        let voice = r.voice_number.clone();
                        view! {
                            <tr data-testid="responder" data-name=r.name.clone()>
                                <td>{r.name.clone()}<br/><span class="muted">{r.email.clone().unwrap_or_default()}</span></td>
                                <td>{kind}</td>
                                <td>{match sms.clone() {
                                    Some(n) => view! { <label><input type="checkbox" data-testid="toggle-sms" prop:checked=r.send_sms
                                        on:change=move |ev| { toggle.dispatch((id, Channel::Sms, event_target_checked(&ev))); }/>" "{n}</label> }.into_any(),
                                    None => view! { <span class="muted">"no number"</span> }.into_any(),
                                }}</td>
                                <td>{match voice.clone() {
                                    Some(n) => view! { <label><input type="checkbox" data-testid="toggle-voice" prop:checked=r.send_voice
                                        on:change=move |ev| { toggle.dispatch((id, Channel::Voice, event_target_checked(&ev))); }/>" "{n}</label> }.into_any(),
                                    None => view! { <span class="muted">"no number"</span> }.into_any(),
                                }}</td>
                                <td class="actions">
                                    {(running && !r.is_commander).then(|| view! {
                                        <select on:change=move |ev| remind_to.set(event_target_value(&ev)) aria-label="Remind on">
                                            <option value="all">"all channels"</option>
                                            {r.internal.then(|| view! { <option value="webex">"Webex message"</option> })}
                                            {sms.is_some().then(|| view! { <option value="sms">"SMS"</option> })}
                                            {voice.is_some().then(|| view! { <option value="voice">"Voice call"</option> })}
                                        </select>
                                        <button class="secondary" data-testid="remind" on:click=move |_| {
                                            let chs = match remind_to.get_untracked().as_str() {
                                                "all" => Channel::ALL.to_vec(),
                                                c => c.parse::<Channel>().ok().into_iter().collect(),
                                            };
                                            remind.dispatch((id, chs));
                                        }>"Remind"</button>
                                    })}
                                    {(!r.is_commander).then(|| view! {
                                        <button class="link" data-testid="remove" on:click=move |_| { remove.dispatch(id); }>"Remove"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn AddInternal(room_id: String, report: impl Fn(Result<String, AppError>) + Copy + Send + Sync + 'static) -> impl IntoView {
    let q = RwSignal::new(String::new());
    let results = Resource::new(
        move || q.get(),
        |q| async move {
            if q.trim().len() < 2 {
                Ok(vec![])
            } else {
                search_people(q).await
            }
        },
    );
    let add = Action::new(move |(room, pid, name): &(String, String, String)| {
        let (room, pid, name) = (room.clone(), pid.clone(), name.clone());
        async move { report(add_internal(room, pid).await.map(|_| format!("{name} added to the space."))) }
    });
    view! {
        <section class="card">
            <h2>"Add people of the org"</h2>
            <input type="search" placeholder="Type a name or email…" data-testid="people-search"
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            <Transition fallback=|| ()>
                {move || results.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(list) => view! {
                        <ul class="search-results" data-testid="people-results">
                            {list.into_iter().map(|p| {
                                let item = (room_id.clone(), p.person_id.clone(), p.display_name.clone());
                                view! {
                                    <li data-testid="person" data-name=p.display_name.clone()>
                                        {p.display_name.clone()}" "<span class="muted">{p.email.clone()}</span>" "
                                        <button class="secondary" data-testid="add-person" on:click=move |_| { add.dispatch(item.clone()); }>"Add"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Externals(
    externals: Signal<Vec<ExternalResponder>>,
    room_id: String,
    report: impl Fn(Result<String, AppError>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let editing = RwSignal::new(None::<i64>);
    let (name, email, mobile, voice) =
        (RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()), RwSignal::new(String::new()));
    let error = RwSignal::new(None::<String>);
    let save = Action::new(move |_: &()| async move {
        let r = save_external(
            editing.get_untracked(),
            name.get_untracked(),
            email.get_untracked(),
            mobile.get_untracked(),
            voice.get_untracked(),
        )
        .await;
        match r {
            Ok(e) => {
                error.set(None);
                editing.set(None);
                for s in [name, email, mobile, voice] {
                    s.set(String::new());
                }
                report(Ok(format!("{} saved.", e.name)));
            }
            Err(e) => error.set(Some(e.to_string())),
        }
    });
    let delete = Action::new(move |id: &i64| {
        let id = *id;
        async move { report(delete_external(id).await.map(|_| "External responder deleted.".to_string())) }
    });
    let link = Action::new(move |(room, id): &(String, i64)| {
        let (room, id) = (room.clone(), *id);
        async move { report(link_external(room, id).await.map(|_| "Added to the space.".to_string())) }
    });
    view! {
        <section class="card">
            <h2>"External responders (phone only)"</h2>
            <form class="external-form" data-testid="external-form" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
                <input placeholder="Name" data-testid="ext-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <input placeholder="Email (optional)" data-testid="ext-email" prop:value=move || email.get() on:input=move |ev| email.set(event_target_value(&ev))/>
                <input placeholder="Mobile (SMS)" data-testid="ext-mobile" prop:value=move || mobile.get() on:input=move |ev| mobile.set(event_target_value(&ev))/>
                <input placeholder="Voice number" data-testid="ext-voice" prop:value=move || voice.get() on:input=move |ev| voice.set(event_target_value(&ev))/>
                <button type="submit" class="primary" data-testid="ext-save">{move || if editing.get().is_some() { "Save changes" } else { "Create" }}</button>
                {move || editing.get().is_some().then(|| view! {
                    <button type="button" class="link" on:click=move |_| editing.set(None)>"Cancel"</button>
                })}
            </form>
            {move || error.get().map(|e| view! { <p class="alert error" role="alert" data-testid="ext-error">{e}</p> })}
            <table class="grid" data-testid="externals">
                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Mobile"</th><th>"Voice"</th><th></th></tr></thead>
                <tbody>
                    {move || externals.get().into_iter().map(|e| {
                        let id = e.id;
                        let item = (room_id.clone(), id);
                        let fill = e.clone();
                        view! {
                            <tr data-testid="external" data-name=e.name.clone()>
                                <td>{e.name.clone()}</td>
                                <td>{e.email.clone().unwrap_or_default()}</td>
                                <td>{e.sms_number.clone().unwrap_or_default()}</td>
                                <td>{e.voice_number.clone().unwrap_or_default()}</td>
                                <td class="actions">
                                    <button class="secondary" data-testid="ext-add" on:click=move |_| { link.dispatch(item.clone()); }>"Add to space"</button>
                                    <button class="link" on:click=move |_| {
                                        editing.set(Some(id));
                                        name.set(fill.name.clone());
                                        email.set(fill.email.clone().unwrap_or_default());
                                        mobile.set(fill.sms_number.clone().unwrap_or_default());
                                        voice.set(fill.voice_number.clone().unwrap_or_default());
                                    }>"Edit"</button>
                                    <button class="link" data-testid="ext-delete" on:click=move |_| { delete.dispatch(id); }>"Delete"</button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}
