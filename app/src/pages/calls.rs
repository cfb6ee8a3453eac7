//! `/calls`: live calls across the cluster from CDRs, grouped into meetings by callCorrelator,
//! with security badges, each participant, the banner each call shows, CDR gaps and the banner
//! history. Updates by push (SSE) as CDRs arrive.

use crate::components::LocalTime;
use crate::components::{live_refresh, Frame};
use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::{CallsOverview, LiveLeg, MeetingView};

#[server]
pub async fn get_calls_overview() -> Result<CallsOverview, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        ssr::require(switchboard::model::Role::Viewer).await?;
        let s = ssr::services()?;
        Ok(s.banners.calls_overview(s.demo.is_some()).await?)
    })
    .await
}

fn leg_state(l: &LiveLeg) -> (&'static str, &'static str) {
    if l.in_ivr {
        ("in IVR", "state-ivr")
    } else if l.in_lobby {
        ("waiting in lobby", "state-lobby")
    } else if l.connected {
        ("in call", "state-in")
    } else {
        ("connecting", "state-ivr")
    }
}

#[component]
pub fn CallsPage() -> impl IntoView {
    let pushed = live_refresh("/events/calls", "calls");
    let data = Resource::new(move || pushed.get(), |_| get_calls_overview());
    view! {
        <Frame title="Live calls">
            <Transition fallback=|| view! { <p class="muted">"Loading calls…"</p> }>
                {move || data.get().map(|r| match r {
                    Err(e) => view! { <p class="alert error">{e.to_string()}</p> }.into_any(),
                    Ok(o) => view! { <Overview o/> }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn Overview(o: CallsOverview) -> impl IntoView {
    let count = o.meetings.len();
    view! {
        <p class="muted" data-testid="calls-summary">
            {format!("{count} meeting(s) live · {} CDR records stored", o.records_received)}
            {(o.dead_letters > 0).then(|| format!(" · {} malformed CDR post(s) kept for inspection", o.dead_letters))}
        </p>
        {(!o.gaps.is_empty()).then(|| view! {
            <div class="alert error" data-testid="cdr-gaps">
                <strong>"CMS lost CDR records while Switchboard was unreachable. "</strong>
                "Calls may be missing participants until the next check against the CMS API. "
                <ul>
                    {o.gaps.iter().map(|g| view! {
                        <li>{format!("{}: {} record(s) missing (bridge {}, session {})", switchboard::model::display_time(&g.at), g.missing, if g.bridge.is_empty() { "single node" } else { &g.bridge }, g.session)}</li>
                    }).collect_view()}
                </ul>
            </div>
        })}
        {(count == 0).then(|| view! { <p class="card muted">"No calls right now."</p> })}
        <div class="meetings">
            {o.meetings.into_iter().map(|m| view! { <Meeting m demo=o.demo/> }).collect_view()}
        </div>
        <section class="card">
            <h2>"Banner history"</h2>
            <table class="grid" data-testid="banner-history">
                <thead><tr><th>"When (UTC)"</th><th>"Call"</th><th>"Node"</th><th>"Banner"</th><th>"Result"</th></tr></thead>
                <tbody>
                    {o.history.into_iter().map(|h| {
                        let class = if h.result == "ok" { "" } else { "result-failed" };
                        view! { <tr><td><LocalTime at=h.at/></td><td>{h.call_name}</td><td>{h.node}</td><td>{h.text}</td><td class=class>{h.result}</td></tr> }
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Meeting(m: MeetingView, demo: bool) -> impl IntoView {
    let first_call = m.instances.first().map(|c| c.id.clone()).unwrap_or_default();
    let join = Action::new(move |call: &String| {
        let call = call.clone();
        async move { crate::api::demo_guest_joins(call).await.map_err(|e| e.to_string()) }
    });
    let nodes: Vec<String> = m.instances.iter().map(|c| c.node.clone().unwrap_or_else(|| "node ?".into())).collect();
    let legs: Vec<(String, LiveLeg)> = m
        .instances
        .iter()
        .flat_map(|c| {
            c.legs.iter().filter(|l| !l.is_distribution_link()).map(move |l| (c.node.clone().unwrap_or_else(|| "—".into()), l.clone()))
        })
        .collect();
    let banner = m.banner.clone();
    view! {
        <article class="card meeting" data-testid="meeting" data-name=m.name.clone()>
            <header class="meeting-head">
                <h3>{m.name.clone()}</h3>
                <span class="badges">
                    {m.restricted.then(|| view! { <span class="badge badge-restricted" data-testid="badge-restricted">"Restricted"</span> })}
                    {(m.externals > 0).then(|| view! { <span class="badge badge-external" data-testid="badge-external">{format!("{} external", m.externals)}</span> })}
                    {(m.lobby > 0).then(|| view! { <span class="badge badge-lobby" data-testid="badge-lobby">{format!("{} in lobby", m.lobby)}</span> })}
                    <span class="badge">{format!("{} participant(s)", m.participants)}</span>
                    {(nodes.len() > 1).then(|| view! { <span class="badge">{format!("on {} bridges", nodes.len())}</span> })}
                </span>
                {demo.then(|| view! {
                    <button class="secondary demo" data-testid="demo-guest" title="Demo mode: a web-app guest joins this meeting in the simulated CMS"
                        on:click=move |_| { join.dispatch(first_call.clone()); }>
                        "Demo: a guest joins"
                    </button>
                    {move || join.value().get().map(|r| match r {
                        Ok(name) => view! { <span class="muted">{format!("{name} is joining…")}</span> }.into_any(),
                        Err(e) => view! { <span class="result-failed">{e}</span> }.into_any(),
                    })}
                })}
            </header>
            <p class="banner-line" data-testid="banner">
                {match (banner, m.banner_shown) {
                    (Some(t), true) => view! { <span class="banner-on">"Banner shown: " <q>{t}</q></span> }.into_any(),
                    (Some(t), false) => view! { <span class="banner-pending">"Banner pending: " <q>{t}</q></span> }.into_any(),
                    (None, true) => view! { <span class="muted">"No banner"</span> }.into_any(),
                    (None, false) => view! { <span class="banner-pending">"Clearing banner…"</span> }.into_any(),
                }}
            </p>
            <table class="grid">
                <thead><tr><th>"Participant"</th><th>"Address"</th><th>"Joined with"</th><th>"State"</th><th>"Node"</th></tr></thead>
                <tbody>
                    {legs.into_iter().map(|(node, l)| {
                        let (state, class) = leg_state(&l);
                        view! {
                            <tr data-testid="leg">
                                <td>{l.shown_name()}</td>
                                <td>{l.remote_address.clone().unwrap_or_default()}</td>
                                <td>{l.joined_with()}</td>
                                <td class=class>{state}</td>
                                <td>{node}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </article>
    }
}
