//! The Webex API and Webex Connect clients against servers that misbehave: one that never
//! answers (a timeout), one that streams without end (the answer cap), and a `Link` to another
//! host (not followed, the token never sent there).

use super::{ApiError, ConnectApi, Retry, WebexApi};
use crate::outbound::testing::{endless_server, silent_server, Canned};
use crate::outbound::HttpLimits;
use std::time::Duration;

fn limits(timeout: Duration) -> HttpLimits {
    HttpLimits { connect_timeout: Duration::from_secs(2), request_timeout: timeout, max_answer_bytes: 64 * 1024 }
}

fn api(addr: std::net::SocketAddr, l: HttpLimits) -> WebexApi {
    WebexApi::new(l.client().unwrap(), &format!("http://{addr}/v1")).with_limits(l)
}

fn connect(addr: std::net::SocketAddr, l: HttpLimits) -> ConnectApi {
    ConnectApi::new(l.client().unwrap(), &format!("http://{addr}"), "service-key").with_limits(l)
}

#[tokio::test]
async fn webex_and_connect_give_up_on_a_server_that_never_answers_with_a_timeout() {
    let (addr, _s) = silent_server().await;
    let l = limits(Duration::from_millis(300));
    let err = api(addr, l).me("tok").await.unwrap_err();
    assert!(matches!(&err, ApiError::TimedOut(m) if m.contains("0.3 s")), "{err:?}");
    let err = connect(addr, l).sms("+14155550100", "+14155550101", "hi").await.unwrap_err();
    assert!(matches!(&err, ApiError::TimedOut(m) if m.contains("0.3 s")), "{err:?}");
}

#[tokio::test]
async fn a_webex_answer_that_streams_forever_is_refused_at_the_cap_and_connect_reads_no_further() {
    let (addr, _s) = endless_server().await;
    let l = limits(Duration::from_secs(30));
    assert_eq!(api(addr, l).me("tok").await.unwrap_err(), ApiError::TooLarge { limit: 64 * 1024 });
    // Connect accepted the send (200): that stands, without its unreadable id.
    assert_eq!(connect(addr, l).sms("+14155550100", "+14155550101", "hi").await, Ok(String::new()));
}

#[tokio::test]
async fn a_webex_link_to_another_host_is_refused_and_never_gets_the_token() {
    let elsewhere = Canned::new(&Canned::json(200, "", r#"{"items":[]}"#));
    let (other, _o) = elsewhere.start().await;
    let webex = Canned::new(&Canned::json(
        200,
        &format!("link: <http://{other}/v1/people?cursor=2&max=100>; rel=\"next\"\r\n"),
        r#"{"items":[{"id":"P1"}]}"#,
    ));
    let (addr, _w) = webex.start().await;
    let err = api(addr, limits(Duration::from_secs(10))).people("tok", &Retry::none()).await.unwrap_err();
    assert!(matches!(&err, ApiError::ForeignLink(f) if f.origin == format!("http://{other}")), "{err:?}");
    assert!(!err.to_string().contains("cursor"), "{err}");
    assert!(webex.requests()[0].contains("authorization: Bearer tok"));
    assert!(elsewhere.requests().is_empty(), "the other host got no request: {:?}", elsewhere.requests());
}

#[tokio::test]
async fn a_webex_link_on_the_api_host_is_followed() {
    let webex =
        Canned::new(&Canned::json(200, "link: <http://{self}/v1/people?cursor=2&max=100>; rel=\"next\"\r\n", r#"{"items":[{"id":"P1"}]}"#))
            .on("/v1/people?cursor=2", &Canned::json(200, "", r#"{"items":[{"id":"P2"}]}"#));
    let (addr, _w) = webex.start().await;
    let people = api(addr, limits(Duration::from_secs(10))).people("tok", &Retry::none()).await.unwrap();
    assert_eq!(people.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["P1", "P2"]);
    assert!(webex.requests().iter().all(|r| r.contains("authorization: Bearer tok")));
}
