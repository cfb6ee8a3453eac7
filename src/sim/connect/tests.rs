//! The simulator over HTTP, spoken as any client of the messaging API would.

use super::*;
use serde_json::{json, Value};

async fn sim() -> SimConnect {
    SimConnect::start("127.0.0.1:0".parse().unwrap(), ConnectConfig { service_key: "svc-key".into() }).await.unwrap()
}

async fn post(s: &SimConnect, path: &str, key: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new().post(format!("{}{path}", s.url())).header("authorization", key).json(&body).send().await.unwrap()
}

async fn post_keyed(s: &SimConnect, idempotency_key: &str, body: Value) -> Result<reqwest::Response, reqwest::Error> {
    reqwest::Client::new()
        .post(format!("{}/v1/sms/messages", s.url()))
        .header("authorization", "svc-key")
        .header("idempotency-key", idempotency_key)
        .json(&body)
        .send()
        .await
}

fn sms(to: &str) -> Value {
    json!({"from": "+14155550100", "to": to, "content": "Join", "contentType": "TEXT"})
}

fn audio() -> Value {
    json!({"type": "TTS", "text": "Incident", "textFormat": "TEXT", "voice": "AriaNeural", "engine": "AZURE", "language": "en-US", "gender": "FEMALE"})
}

async fn code_of(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let v: Value = r.json().await.unwrap();
    (status, v["code"].as_str().unwrap_or("").to_string(), v["message"].as_str().unwrap_or("").to_string())
}

async fn inspected(s: &SimConnect) -> Vec<ConnectMessage> {
    reqwest::get(format!("{}/sim/messages", s.url())).await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn sms_and_voice_are_accepted_with_an_id_and_logged() {
    let s = sim().await;
    let r = post(&s, "/v1/sms/messages", "svc-key", sms("+14155550123")).await;
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string();
    let call = json!({"callerId": "+14155550199", "dialedNumber": "+4520304050", "audio": audio()});
    assert_eq!(post(&s, "/v1/voice/messages", "svc-key", call).await.status(), 202);
    let log = s.messages();
    assert_eq!((log[0].channel.as_str(), log[0].id.as_deref(), log[1].text.as_str()), ("sms", Some(id.as_str()), "Incident"));
}

#[tokio::test]
async fn refusals_carry_the_apis_code_and_message() {
    let s = sim().await;
    assert_eq!(code_of(post(&s, "/v1/sms/messages", "nope", sms("+14155550123")).await).await.0, 401);
    let (status, code, message) = code_of(post(&s, "/v1/sms/messages", "Bearer svc-key", sms("+14155550123")).await).await;
    assert_eq!((status, code.as_str(), message.as_str()), (401, "7001", "Authentication failed."), "the key goes raw");
    let (status, code, _) = code_of(post(&s, "/v1/sms/messages", "", sms("+14155550123")).await).await;
    assert_eq!((status, code.as_str()), (401, "7002"));
    let (status, _, message) = code_of(post(&s, "/v1/sms/messages", "svc-key", sms("0455 555")).await).await;
    assert_eq!(status, 400);
    assert!(message.contains("E.164"), "{message}");
    let bad = reqwest::Client::new()
        .post(format!("{}/v1/sms/messages", s.url()))
        .header("authorization", "svc-key")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(bad).await.1, "7000");
    assert_eq!(s.messages().last().unwrap().status, 400);
}

#[tokio::test]
async fn content_types_are_compared_in_any_letter_case() {
    let s = sim().await;
    for kind in ["TEXT", "text", "Text"] {
        let body = json!({"from": "+14155550100", "to": "+14155550123", "content": "x", "contentType": kind});
        assert_eq!(post(&s, "/v1/sms/messages", "svc-key", body).await.status(), 202, "contentType {kind}");
    }
    let send = |ct: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/v1/sms/messages", s.url()))
            .header("authorization", "svc-key")
            .header("content-type", ct)
            .body(sms("+14155550123").to_string())
            .send()
    };
    assert_eq!(send("Application/JSON; charset=UTF-8").await.unwrap().status(), 202);
    assert_eq!(send("text/plain").await.unwrap().status(), 415);
}

#[tokio::test]
async fn a_voice_call_without_a_mandatory_field_is_refused_naming_it() {
    let s = sim().await;
    let full = json!({"callerId": "+14155550199", "dialedNumber": "+4520304050", "audio": audio()});
    for (path, field) in [
        ("", "callerId"),
        ("", "dialedNumber"),
        ("", "audio"),
        ("audio", "language"),
        ("audio", "voice"),
        ("audio", "gender"),
        ("audio", "engine"),
        ("audio", "text"),
    ] {
        let mut body = full.clone();
        match path {
            "" => body.as_object_mut().unwrap().remove(field),
            _ => body["audio"].as_object_mut().unwrap().remove(field),
        };
        let (status, code, message) = code_of(post(&s, "/v1/voice/messages", "svc-key", body).await).await;
        assert_eq!((status, code.as_str()), (400, "7003"), "{field}");
        assert!(message.contains(field), "{field}: {message}");
    }
    let mut sung = full.clone();
    sung["audio"]["type"] = json!("MP3");
    assert_eq!(post(&s, "/v1/voice/messages", "svc-key", sung).await.status(), 400);
    let mut lower = full;
    lower["audio"]["gender"] = json!("female");
    lower["audio"]["type"] = json!("tts");
    assert_eq!(post(&s, "/v1/voice/messages", "svc-key", lower).await.status(), 202, "values in any letter case");
}

#[tokio::test]
async fn an_idempotency_key_accepted_once_is_refused_as_a_duplicate_within_the_hour() {
    let s = sim().await;
    assert_eq!(post_keyed(&s, "delivery-1", sms("+14155550123")).await.unwrap().status(), 202);
    let (status, code, _) = code_of(post_keyed(&s, "delivery-1", sms("+14155550123")).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "DUPLICATE_REQUEST"));
    assert_eq!(post_keyed(&s, "delivery-2", sms("+14155550123")).await.unwrap().status(), 202, "another key is another send");
    assert_eq!(post_keyed(&s, &"k".repeat(65), sms("+14155550123")).await.unwrap().status(), 400, "at most 64 characters");
    let accepted = inspected(&s).await.into_iter().filter(|m| m.status == 202).count();
    assert_eq!(accepted, 2);
}

#[tokio::test]
async fn a_send_whose_answer_is_lost_was_accepted_and_its_retry_is_a_duplicate() {
    let s = sim().await;
    s.faults().set_lose_answer_every(1);
    let body = json!({"from": "+14155550100", "to": "+14155550123", "content": "x", "correlationId": "d-7"});
    let lost = post_keyed(&s, "delivery-7", body.clone()).await;
    assert!(lost.is_err(), "no answer arrives: {lost:?}");
    s.faults().set_lose_answer_every(0);
    let again = post_keyed(&s, "delivery-7", body).await.unwrap();
    assert_eq!(again.status(), 409, "the retry with the same key is not sent again");
    let log = inspected(&s).await;
    let accepted: Vec<_> = log.iter().filter(|m| m.status == 202).collect();
    assert_eq!(accepted.len(), 1, "exactly one SMS: {log:?}");
    assert!(accepted[0].answer_lost);
    assert_eq!(accepted[0].correlation_id.as_deref(), Some("d-7"));
}

#[tokio::test]
async fn throttling_answers_429_with_retry_after_and_failures_503() {
    let s = sim().await;
    s.faults().set_throttle_every(2);
    let body = json!({"from": "+14155550100", "to": "+14155550123", "content": "x"});
    assert_eq!(post(&s, "/v1/sms/messages", "svc-key", body.clone()).await.status(), 202);
    let r = post(&s, "/v1/sms/messages", "svc-key", body.clone()).await;
    assert_eq!((r.status().as_u16(), r.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string())), (429, Some("1".into())));
    s.faults().set_throttle_every(0);
    s.faults().set_fail_every(1);
    assert_eq!(post(&s, "/v1/sms/messages", "svc-key", body).await.status(), 503);
    let statuses: Vec<u16> = s.messages().iter().map(|m| m.status).collect();
    assert_eq!(statuses, vec![202, 429, 503], "refused requests are logged with the status they got; only one was accepted");
}

#[test]
fn e164_numbers_only() {
    assert!(is_e164("+14155550123") && is_e164("+4520304050"));
    for bad in ["14155550123", "+0123456789", "+1 415 555", "+12", "+1234567890123456"] {
        assert!(!is_e164(bad), "{bad}");
    }
}
