//! The one bounded reader for outbound answers: refused at once when `Content-Length` says it is
//! too long, otherwise read chunk by chunk and stopped as soon as it passes the limit, so a
//! service that streams without end costs at most the limit in memory.

use super::{HttpError, HttpLimits};

/// The whole body of `res`, at most `limits.max_answer_bytes`.
pub async fn read_body(mut res: reqwest::Response, limits: &HttpLimits) -> Result<Vec<u8>, HttpError> {
    let limit = limits.max_answer_bytes;
    if res.content_length().is_some_and(|n| n > limit as u64) {
        return Err(HttpError::TooLarge { limit });
    }
    let mut body = Vec::new();
    while let Some(chunk) = res.chunk().await.map_err(|e| limits.error(e))? {
        if body.len() + chunk.len() > limit {
            return Err(HttpError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{endless_server, silent_server, Canned};
    use super::*;
    use std::time::Duration;

    fn limits() -> HttpLimits {
        HttpLimits { connect_timeout: Duration::from_secs(2), request_timeout: Duration::from_millis(300), max_answer_bytes: 64 * 1024 }
    }

    #[tokio::test]
    async fn a_server_that_accepts_and_never_answers_is_given_up_with_a_timeout() {
        let (addr, _server) = silent_server().await;
        let l = limits();
        let err = l.fetch(l.client().unwrap().get(format!("http://{addr}/"))).await.unwrap_err();
        assert_eq!(err, HttpError::TimedOut(Duration::from_millis(300)));
        assert!(err.to_string().contains("no complete answer within 0.3 s"), "{err}");
    }

    #[tokio::test]
    async fn an_answer_that_streams_forever_is_cut_at_the_cap_and_a_long_content_length_at_once() {
        let (addr, _server) = endless_server().await;
        let l = HttpLimits { request_timeout: Duration::from_secs(30), ..limits() };
        let err = l.fetch(l.client().unwrap().get(format!("http://{addr}/"))).await.unwrap_err();
        assert_eq!(err, HttpError::TooLarge { limit: 64 * 1024 });

        let (addr, _server) = Canned::new("HTTP/1.1 200 OK\r\ncontent-length: 99999999\r\n\r\n").start().await;
        let err = l.fetch(l.client().unwrap().get(format!("http://{addr}/"))).await.unwrap_err();
        assert_eq!(err, HttpError::TooLarge { limit: 64 * 1024 });
    }

    #[tokio::test]
    async fn an_answer_within_the_cap_is_read_whole() {
        let (addr, _server) = Canned::new("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").start().await;
        let l = limits();
        let a = l.fetch(l.client().unwrap().get(format!("http://{addr}/"))).await.unwrap();
        assert_eq!((a.status.as_u16(), a.text().as_str()), (200, "hello"));
    }
}
