//! Frame messages POSTed as JSON to an operator's HTTP endpoint. A 2xx answer is a
//! delivery; anything else (connection refused, timeout, 4xx, 5xx) is retried — the
//! receiver deduplicates by the `Idempotency-Key` header, so a retry after a lost
//! answer is harmless.
//!
//! Plain HTTP/1.1 only: the receiver is expected on the site network or loopback (a
//! local relay can add TLS); teld carries no TLS stack for one POST per frame.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Uri, header};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How much of a refusal's body is quoted in the error, for the operator.
const QUOTE: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum WebhookUrlError {
    #[error(
        "`{0}` is not an http:// URL with a host; write it as http://host:port/path (https is not supported: use a local relay)"
    )]
    Invalid(String),
}

/// Where to POST: `host:port` to connect to and the request target.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookTarget {
    pub authority: String,
    pub path: String,
    pub url: String,
}

impl WebhookTarget {
    pub fn parse(url: &str) -> Result<Self, WebhookUrlError> {
        let bad = || WebhookUrlError::Invalid(url.to_string());
        let uri: Uri = url.parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let auth = uri.authority().ok_or_else(bad)?;
        if auth.host().is_empty() || auth.as_str().contains('@') {
            return Err(bad());
        }
        let authority = format!("{}:{}", auth.host(), auth.port_u16().unwrap_or(80));
        let path = uri.path_and_query().map_or("/".to_string(), |p| p.as_str().to_string());
        Ok(WebhookTarget { authority, path, url: url.to_string() })
    }
}

pub struct WebhookSink {
    target: WebhookTarget,
    timeout: Duration,
}

impl WebhookSink {
    pub fn new(target: WebhookTarget, timeout: Duration) -> Self {
        WebhookSink { target, timeout }
    }

    pub async fn deliver(&mut self, key: &str, payload: &str) -> Result<(), String> {
        let url = &self.target.url;
        match tokio::time::timeout(self.timeout, self.post(key, payload)).await {
            Ok(r) => r.map_err(|e| format!("webhook {url}: {e}")),
            Err(_) => Err(format!(
                "webhook {url} did not answer within {:.0} s",
                self.timeout.as_secs_f64()
            )),
        }
    }

    async fn post(&self, key: &str, payload: &str) -> Result<(), String> {
        let t = &self.target;
        let stream = TcpStream::connect(&t.authority).await.map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        // One request per connection: frames come seconds apart.
        let driver = tokio::spawn(conn);
        let request = Request::builder()
            .method(Method::POST)
            .uri(&t.path)
            .header(header::HOST, &t.authority)
            .header(header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", key)
            .header(header::USER_AGENT, crate::SOFTWARE)
            .body(Full::new(Bytes::from(payload.to_string())))
            .map_err(|e| format!("request could not be built: {e}"))?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        driver.abort();
        if status.is_success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&body[..body.len().min(QUOTE)]).trim().to_string();
        Err(format!("answered {status}: {text}"))
    }
}

#[cfg(test)]
mod tests {
    use super::WebhookTarget;

    #[test]
    fn urls_parse_to_an_address_and_a_path() {
        let t = WebhookTarget::parse("http://127.0.0.1:8099/frames?site=a").unwrap();
        assert_eq!(t.authority, "127.0.0.1:8099");
        assert_eq!(t.path, "/frames?site=a");
        let t = WebhookTarget::parse("http://pipeline.local/").unwrap();
        assert_eq!(t.authority, "pipeline.local:80");
        let t = WebhookTarget::parse("http://[::1]:9000").unwrap();
        assert_eq!((t.authority.as_str(), t.path.as_str()), ("[::1]:9000", "/"));
        for bad in ["https://x/", "ftp://x/", "127.0.0.1:80", "http://user:pw@x/", "", "http:///p"]
        {
            let e = WebhookTarget::parse(bad).unwrap_err().to_string();
            assert!(e.contains("http://host:port/path"), "{bad}: {e}");
        }
    }
}
