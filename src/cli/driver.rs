//! `teld driver list|update|rollback`: asks the running daemon over its HTTP API
//! (updates change running processes, so the daemon, not the CLI, must do them).
//! The token comes from `TELD_TOKEN` (admin for update and rollback).

use std::fmt::Write as _;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, header};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;

/// Where the daemon listens: `http://host:port` (plain HTTP only: the CLI runs on the
/// telescope's own machine, where teld listens on loopback).
pub struct Daemon {
    pub authority: String,
    pub token: Option<String>,
}

impl Daemon {
    pub fn parse(url: &str, token: Option<String>) -> anyhow::Result<Daemon> {
        let rest = url.strip_prefix("http://").with_context(|| {
            format!("`{url}`: give the daemon as http://HOST:PORT (e.g. http://127.0.0.1:8080)")
        })?;
        let authority = rest.trim_end_matches('/').to_string();
        if authority.is_empty() || authority.contains('/') {
            bail!("`{url}`: give the daemon as http://HOST:PORT without a path");
        }
        Ok(Daemon { authority, token })
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let stream = TcpStream::connect(&self.authority).await.with_context(|| {
            format!("cannot reach teld at {}; is it running? (--url)", self.authority)
        })?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        let driver = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority)
            .header(header::USER_AGENT, crate::SOFTWARE);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let bytes = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let response = sender.send_request(req.body(Full::new(bytes))?).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        driver.abort();
        let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if !status.is_success() {
            let msg = json["error"]["message"].as_str().map(str::to_string).unwrap_or_else(|| {
                String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned()
            });
            if status == hyper::StatusCode::UNAUTHORIZED || status == hyper::StatusCode::FORBIDDEN {
                bail!(
                    "{status}: {msg} (set TELD_TOKEN to an admin token: `teld token create --role admin`)"
                );
            }
            bail!("{status}: {msg}");
        }
        Ok(json)
    }

    pub async fn list(&self) -> anyhow::Result<String> {
        let drivers = self.call(Method::GET, "/api/v1/drivers", None).await?;
        Ok(render_list(&drivers))
    }

    pub async fn update(&self, name: &str, version: Option<&str>) -> anyhow::Result<String> {
        let body = serde_json::json!({ "version": version });
        let path = format!("/api/v1/drivers/{name}/update");
        let answer = self.call(Method::POST, &path, Some(body)).await?;
        Ok(answer["accepted"].as_str().unwrap_or("accepted").to_string())
    }

    pub async fn rollback(&self, name: &str) -> anyhow::Result<String> {
        let path = format!("/api/v1/drivers/{name}/rollback");
        let answer = self.call(Method::POST, &path, None).await?;
        Ok(answer["accepted"].as_str().unwrap_or("accepted").to_string())
    }
}

/// One line per driver, then its update state when updates are on.
pub fn render_list(drivers: &Value) -> String {
    let mut out = String::new();
    for d in drivers.as_array().into_iter().flatten() {
        let s = |k: &str| d[k].as_str().unwrap_or("-").to_string();
        let _ = writeln!(
            out,
            "{:<12} {:<8} {:<9} version {}",
            s("name"),
            s("kind"),
            s("status"),
            s("version")
        );
        let u = &d["update"];
        if u.is_null() {
            continue;
        }
        let build = |v: &Value| {
            v["version"].as_str().map_or("-".to_string(), |ver| {
                format!(
                    "{ver} ({})",
                    &v["sha256"].as_str().unwrap_or("")
                        [..12.min(v["sha256"].as_str().unwrap_or("").len())]
                )
            })
        };
        let _ = writeln!(
            out,
            "    installed {}  previous {}  available {}",
            if u["installed"].is_null() { "shipped".into() } else { build(&u["installed"]) },
            build(&u["previous"]),
            build(&u["available"]),
        );
        if !u["trial"].is_null() {
            let _ = writeln!(
                out,
                "    trial {} since {}",
                build(&u["trial"]["build"]),
                u["trial"]["started"].as_str().unwrap_or("?")
            );
        }
        for b in u["bad"].as_array().into_iter().flatten() {
            let _ = writeln!(
                out,
                "    bad {}: {}",
                b["version"].as_str().unwrap_or("?"),
                b["why"].as_str().unwrap_or("?")
            );
        }
        for k in ["waiting", "last_result"] {
            if let Some(t) = u[k].as_str() {
                let _ = writeln!(out, "    {}: {t}", k.replace('_', " "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_plain_http_host_port() {
        assert_eq!(
            Daemon::parse("http://127.0.0.1:8080/", None).unwrap().authority,
            "127.0.0.1:8080"
        );
        assert!(Daemon::parse("127.0.0.1:8080", None).is_err());
        assert!(Daemon::parse("http://127.0.0.1:8080/api", None).is_err());
    }

    #[test]
    fn the_list_shows_installed_trial_and_bad_builds() {
        let v: Value = serde_json::json!([{
            "name": "sim", "kind": "sim", "status": "up", "version": "0.2.0",
            "update": {
                "installed": {"version": "0.2.0", "sha256": "ab12cd34ef56ab12cd34", "git_sha": "x"},
                "previous": null, "available": null,
                "trial": {"build": {"version": "0.3.0", "sha256": "ffeeddccbbaa99887766", "git_sha": "y"}, "started": "2026-12-06T22:00:00Z"},
                "bad": [{"version": "0.2.5", "sha256": "00", "why": "exited at once", "at": "t"}],
                "waiting": "telescope t1 is observing"
            }
        }]);
        let text = render_list(&v);
        for want in [
            "0.2.0 (ab12cd34ef56)",
            "trial 0.3.0 (ffeeddccbbaa)",
            "bad 0.2.5: exited at once",
            "waiting: telescope t1 is observing",
            "available -",
        ] {
            assert!(text.contains(want), "{want} not in\n{text}");
        }
    }
}
