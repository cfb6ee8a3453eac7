//! One incident's panel: the meeting, progress of the deliveries, acknowledgements, each
//! delivery (a failed one may be retried, one whose outcome is unknown resent) and the timeline.

use crate::components::LocalTime;
use crate::error::AppError;
use leptos::prelude::*;
use switchboard::model::display_time;
use switchboard::model::incident::{AckAnswer, DeliveryStatus, IncidentView};

#[server(endpoint = "incidents/retry_delivery", input = server_fn::codec::Json)]
pub async fn retry_delivery(delivery_id: i64) -> Result<(), AppError> {
    use crate::api::ssr;
    ssr::edge(async {
        let (i, c, _) = ssr::commanding().await?;
        Ok(i.retry_delivery(&c, delivery_id).await?)
    })
    .await
}

#[component]
pub(super) fn IncidentPanel(v: IncidentView, room_id: String, can_act: bool, on_change: Callback<()>) -> impl IntoView {
    let (done, total) = v.progress();
    let sent = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Sent).count();
    let failed = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Failed).count();
    let unknown = v.deliveries.iter().filter(|d| d.status == DeliveryStatus::Unknown).count();
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
                <span>{format!(" {done} of {total} done · {sent} sent · {failed} failed")}{(unknown > 0).then(|| format!(" · {unknown} outcome unknown"))}</span>
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
                                <td>{if d.address.is_empty() { "—".to_string() } else { d.address.chars().take(40).collect::<String>() }}</td>
                                <td>{if d.round == 0 { "start".to_string() } else { format!("reminder {}", d.round) }}</td>
                                <td class=class>{d.status.label()}{(d.attempts > 1).then(|| format!(" ({} attempts)", d.attempts))}</td>
                                <td>{d.reason.clone().unwrap_or_default()}</td>
                                <td>{(can_act && v.summary.stopped_at.is_none()).then(|| match d.status {
                                    DeliveryStatus::Failed => Some(view! {
                                        <button class="secondary" data-testid="retry" on:click=move |_| { retry.dispatch(id); }>"Retry"</button>
                                    }.into_any()),
                                    DeliveryStatus::Unknown => Some(view! {
                                        <button class="secondary" data-testid="resend" title="It may have arrived: send it again anyway" on:click=move |_| { retry.dispatch(id); }>"Resend"</button>
                                    }.into_any()),
                                    _ => None,
                                }).flatten()}</td>
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
