//! The responders of a space: who they are, SMS / voice switched per person, reminders while an
//! incident runs, and removal from the space.

use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::incident::{Channel, ResponderView, SpacePage};

#[server(endpoint = "incidents/remove_responder", input = server_fn::codec::Json)]
pub async fn remove_responder(room_id: String, responder_id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.remove_responder(&c, &room_id, responder_id).await?)
    })
    .await
}

#[server(endpoint = "incidents/set_channel", input = server_fn::codec::Json)]
pub async fn set_channel(room_id: String, responder_id: i64, channel: Channel, on: bool) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let user = ssr::permit(switchboard::model::IncidentAction::SetChannels).await?;
        Ok(ssr::incidents()?.set_channel(&user.actor(), &room_id, responder_id, channel, on).await?)
    })
    .await
}

#[server(endpoint = "incidents/remind_responder", input = server_fn::codec::Json)]
pub async fn remind_responder(room_id: String, responder_id: i64, channels: Vec<Channel>) -> Result<usize, AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.remind(&c, &room_id, responder_id, &channels).await?)
    })
    .await
}

#[component]
pub(super) fn Responders(
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
    // Only those the matrix lets switch channels get live checkboxes; others see the state.
    let fixed = !switchboard::model::IncidentAction::SetChannels.allowed(p.role);
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
                                    Some(n) => view! { <label><input type="checkbox" data-testid="toggle-sms" prop:checked=r.send_sms disabled=fixed
                                        on:change=move |ev| { toggle.dispatch((id, Channel::Sms, event_target_checked(&ev))); }/>" "{n}</label> }.into_any(),
                                    None => view! { <span class="muted">"no number"</span> }.into_any(),
                                }}</td>
                                <td>{match voice.clone() {
                                    Some(n) => view! { <label><input type="checkbox" data-testid="toggle-voice" prop:checked=r.send_voice disabled=fixed
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
