//! `/lobby`: every active meeting across the cluster, who waits in its lobby (since when, how
//! they joined) and who is in; admit one person, everyone waiting in a meeting, or a selection
//! across meetings, with progress and a result per person. Live by push from the CDR-fed state.

use crate::components::{live_refresh, Frame};
use crate::error::AppError;
use leptos::prelude::*;
use std::collections::HashSet;
use switchboard::model::{AdmitJob, AdmitTarget, LobbyMeeting, LobbyPage, LobbyPerson};

#[server]
pub async fn get_lobby() -> Result<LobbyPage, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Viewer).await?;
        Ok(ssr::services()?.lobby.page(user.role))
    })
    .await
}

/// Starts admitting; returns the job id to follow with `get_admit_job`.
#[server(input = server_fn::codec::Json)]
pub async fn start_admit(targets: Vec<AdmitTarget>) -> Result<String, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::services()?.lobby.start_admit(&user.actor(), targets)?)
    })
    .await
}

#[server]
pub async fn get_admit_job(id: String) -> Result<AdmitJob, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Operator).await?;
        Ok(ssr::services()?.lobby.job(&id)?)
    })
    .await
}

fn target(p: &LobbyPerson) -> AdmitTarget {
    AdmitTarget { call_id: p.call_id.clone(), leg_id: p.leg_id.clone() }
}

#[component]
pub fn LobbyPage() -> impl IntoView {
    let pushed = live_refresh("/events/calls", "calls");
    let data = Resource::new(move || pushed.get(), |_| get_lobby());
    let query = RwSignal::new(String::new());
    let selected = RwSignal::new(HashSet::<AdmitTarget>::new());
    let job_id = RwSignal::new(None::<String>);
    let poll = RwSignal::new(0u32);
    let job = Resource::new(
        move || (job_id.get(), poll.get()),
        |(id, _)| async move {
            match id {
                Some(id) => get_admit_job(id).await.ok(),
                None => None,
            }
        },
    );
    let start = Action::new(move |targets: &Vec<AdmitTarget>| {
        let targets = targets.clone();
        async move {
            match start_admit(targets).await {
                Ok(id) => {
                    job_id.set(Some(id));
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            }
        }
    });
    // Follow a running job until it finishes.
    Effect::new(move |_| {
        if let Some(Some(j)) = job.get() {
            if !j.finished {
                set_timeout(move || poll.update(|n| *n += 1), std::time::Duration::from_millis(250));
            } else {
                selected.update(|s| s.clear());
            }
        }
    });
    let admit = move |targets: Vec<AdmitTarget>| {
        start.dispatch(targets);
    };

    view! {
        <Frame title="Lobby">
            <section class="toolbar">
                <label>"Search "
                    <input type="search" placeholder="meeting or person" data-testid="lobby-search"
                        on:input=move |ev| query.set(event_target_value(&ev)) prop:value=move || query.get()/>
                </label>
                <button class="primary narrow" data-testid="admit-selected"
                    disabled=move || selected.with(|s| s.is_empty())
                    on:click=move |_| admit(selected.get().into_iter().collect())>
                    {move || format!("Admit selected ({})", selected.with(|s| s.len()))}
                </button>
            </section>
            {move || start.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert error">{e}</p> })}
            {move || job.get().flatten().map(|j| view! { <JobPanel j/> })}
            <Transition fallback=|| view! { <p class="muted">"Loading lobbies…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(page) => {
                        let can = page.can_admit;
                        let as_of = page.as_of;
                        let meetings = switchboard::lobby::view::search(page.meetings.clone(), &query.get());
                        let waiting_total: usize = page.meetings.iter().map(|m| m.waiting.len()).sum();
                        view! {
                            {(!page.cms_configured).then(|| view! {
                                <p class="alert info">"No CMS nodes are configured: the lobby shows what CDRs report, and nobody can be admitted from here."</p>
                            })}
                            {(page.cms_configured && !can).then(|| view! { <p class="muted">"Your role can see the lobby but not admit people."</p> })}
                            <p class="muted" data-testid="lobby-summary">{format!("{} meeting(s), {} waiting", page.meetings.len(), waiting_total)}</p>
                            {meetings.is_empty().then(|| view! { <p class="card muted">"Nothing matches."</p> })}
                            {meetings.into_iter().map(|m| view! { <MeetingLobby m can as_of selected admit/> }).collect_view()}
                        }.into_any()
                    }
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn MeetingLobby(
    m: LobbyMeeting,
    can: bool,
    /// The server's clock for this view: waiting times count to it.
    as_of: time::OffsetDateTime,
    selected: RwSignal<HashSet<AdmitTarget>>,
    admit: impl Fn(Vec<AdmitTarget>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let all: Vec<AdmitTarget> = m.waiting.iter().map(target).collect();
    let n = all.len();
    view! {
        <article class="card meeting" data-testid="lobby-meeting" data-name=m.name.clone()>
            <header class="meeting-head">
                <h3>{m.name.clone()}</h3>
                <span class="badges">
                    <span class="badge badge-lobby">{format!("{} waiting", m.waiting.len())}</span>
                    <span class="badge">{format!("{} in call", m.in_call.len())}</span>
                    {(m.calls.len() > 1).then(|| view! { <span class="badge">{format!("on {} bridges", m.calls.len())}</span> })}
                </span>
                {(can && n > 0).then(|| {
                    let all = all.clone();
                    view! { <button class="secondary" data-testid="admit-all" on:click=move |_| admit(all.clone())>{format!("Admit all waiting ({n})")}</button> }
                })}
            </header>
            {(n > 0 && m.in_call.is_empty()).then(|| view! {
                <p class="muted" data-testid="no-host">"Nobody who can start this meeting is in it yet: CMS lets people in once a host joins, and cannot admit anyone before."</p>
            })}
            {(n > 0).then(|| view! {
                <table class="grid">
                    <thead><tr><th></th><th>"Waiting"</th><th>"Joined with"</th><th>"Address"</th><th>"Waiting for"</th><th></th></tr></thead>
                    <tbody>
                        {m.waiting.iter().map(|p| {
                            let t = target(p);
                            let t2 = t.clone();
                            let t3 = t.clone();
                            view! {
                                <tr data-testid="waiting" data-name=p.name.clone()>
                                    <td><input type="checkbox" disabled=!can aria-label=format!("select {}", p.name)
                                        prop:checked=move || selected.with(|s| s.contains(&t))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            selected.update(|s| { if on { s.insert(t2.clone()); } else { s.remove(&t2); } });
                                        }/></td>
                                    <td>{p.name.clone()}</td>
                                    <td>{p.joined_with.clone()}</td>
                                    <td class="muted">{p.address.clone()}</td>
                                    <td>{p.since.map(|t| switchboard::model::waiting_for(&t, &as_of)).unwrap_or_else(|| "—".into())}</td>
                                    <td>{can.then(|| view! { <button class="secondary" data-testid="admit-one" on:click=move |_| admit(vec![t3.clone()])>"Admit"</button> })}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <details open=n == 0>
                <summary>{format!("In the call ({})", m.in_call.len())}</summary>
                <ul class="people">
                    {m.in_call.iter().map(|p| view! { <li data-testid="in-call" data-name=p.name.clone()>{p.name.clone()}<span class="muted">{format!(" · {}", p.joined_with)}</span></li> }).collect_view()}
                </ul>
            </details>
        </article>
    }
}

#[component]
fn JobPanel(j: AdmitJob) -> impl IntoView {
    let pct = (j.done * 100).checked_div(j.total).unwrap_or(100);
    let ok = j.results.iter().filter(|r| r.outcome.ok()).count();
    view! {
        <section class="card" data-testid="admit-job">
            {if j.finished {
                view! { <p data-testid="admit-done"><strong>{format!("Done: {ok} of {} admitted or already in.", j.total)}</strong></p> }.into_any()
            } else {
                view! { <p>{format!("Admitting… {} of {}", j.done, j.total)}</p> }.into_any()
            }}
            <progress max=j.total.to_string() value=j.done.to_string() aria-label="admit progress">{format!("{pct}%")}</progress>
            <ul class="results">
                {j.results.iter().map(|r| {
                    let class = if r.outcome.ok() { "ok" } else { "result-failed" };
                    view! { <li class=class data-testid="admit-result">{format!("{}: {}", r.name, r.outcome.label())}</li> }
                }).collect_view()}
            </ul>
        </section>
    }
}
