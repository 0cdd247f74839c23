//! Tokens against the running daemon: what the store keeps (the SHA-256, never the
//! secret), the CLI beside a running teld, per-token rate limits, the audit log the
//! access layer writes, and no secret in the daemon's log or the audit table.

mod common;

use std::time::Duration;

use common::auth::{AUTH_ON, call, create_token};
use common::daemon::{Teld, TestSite};
use serde_json::Value;
use sha2::{Digest, Sha256};

const REQ: &str = r#"{"name": "audited", "target": {"name": "C4X9Z2", "ra_deg": 22.5, "dec_deg": 20.1}, "exposure_s": 10, "count": 1, "window": {"start": "2026-11-24T21:00:00", "end": "2026-11-24T22:00:00"}}"#;

/// Every column of every row of `table`, as text, through the real SQLite.
fn dump(site: &TestSite, table: &str) -> Vec<Vec<String>> {
    let url = format!("sqlite://{}", site.state_dir().join("teld.db").display());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use sqlx::Row;
        let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let pool = sqlx::SqlitePool::connect_with(opts.read_only(true)).await.unwrap();
        let sql = match table {
            "api_tokens" => "SELECT * FROM api_tokens ORDER BY id",
            "audit_log" => "SELECT * FROM audit_log ORDER BY id",
            _ => panic!("not a table this test reads: {table}"),
        };
        let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
        let out = rows
            .iter()
            .map(|r| {
                (0..r.columns().len())
                    .map(|i| {
                        if let Ok(Some(s)) = r.try_get::<Option<String>, _>(i) {
                            s
                        } else if let Ok(Some(n)) = r.try_get::<Option<i64>, _>(i) {
                            n.to_string()
                        } else if let Ok(b) = r.try_get::<Vec<u8>, _>(i) {
                            hex(&b)
                        } else {
                            String::new()
                        }
                    })
                    .collect()
            })
            .collect();
        pool.close().await;
        out
    })
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn the_store_keeps_only_hashes_and_the_cli_works_beside_a_running_teld() {
    let site = TestSite::new("tokhash", &[AUTH_ON], "");
    let admin = create_token(&site, "admin", "ada");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    // Made by the CLI while teld runs (SQLite WAL lets both write) and usable at once.
    let cli = create_token(&site, "observer", "cli-while-running");
    assert_eq!(call(teld.addr, "GET", "/api/v1/whoami", Some(&cli), "").status, 200);
    // Made over the API: the answer carries the secret once.
    let r = call(
        teld.addr,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"name": "api-made", "role": "operator", "expires_days": 1}"#,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let made = r.json();
    let api = made["token"].as_str().unwrap().to_string();
    assert!(made["expires_at"].is_string());
    let who = call(teld.addr, "GET", "/api/v1/whoami", Some(&api), "").json();
    assert_eq!(who["role"], "operator");
    // The same name twice while live is refused.
    let r = call(
        teld.addr,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"name": "api-made", "role": "admin"}"#,
    );
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (409, Some("token_name_taken")));
    let list = call(teld.addr, "GET", "/api/v1/tokens", Some(&admin), "");
    assert!(
        !list.text().contains("teld_") || !list.text().contains(&api[5..]),
        "a list never shows a secret"
    );
    assert!(
        list.json()["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "api-made" && t["created_by"] == "ada")
    );

    let rows = dump(&site, "api_tokens");
    assert_eq!(rows.len(), 3);
    for (secret, name) in [(&admin, "ada"), (&cli, "cli-while-running"), (&api, "api-made")] {
        let row = rows.iter().find(|r| r[1] == name).unwrap();
        // Column 3 is the hash: the standard SHA-256 of the whole token string.
        assert_eq!(row[3], hex(&Sha256::digest(secret.as_bytes())), "{name}");
        assert!(
            !row.iter().any(|c| c.contains(&secret[5..])),
            "no column holds the secret: {row:?}"
        );
    }
    let secrets = [&admin, &cli, &api];
    drop(teld);
    for f in ["teld.db", "teld.db-wal", "teld.db-shm"] {
        let bytes = std::fs::read(site.state_dir().join(f)).unwrap_or_default();
        for s in secrets {
            assert!(
                !contains(&bytes, s) && !contains(&bytes, &s[5..]),
                "a secret's bytes are in {f}"
            );
        }
    }
}

#[test]
fn rate_limits_are_per_token_with_retry_after() {
    let site = TestSite::new(
        "tokrate",
        &[(
            "[http]",
            "[http]\nauth = true\nrate_limit = { observer = { per_s = 1.0, burst = 3 } }",
        )],
        "",
    );
    let ann = create_token(&site, "observer", "ann");
    let bob = create_token(&site, "observer", "bob");
    let admin = create_token(&site, "admin", "ada");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let statuses: Vec<u16> =
        (0..4).map(|_| call(teld.addr, "GET", "/api/v1/whoami", Some(&ann), "").status).collect();
    // Three in the burst; the fourth, milliseconds later, is over the rate of 1/s.
    assert_eq!(&statuses[..3], &[200, 200, 200]);
    let r = call(teld.addr, "GET", "/api/v1/status", Some(&ann), "");
    assert!(statuses[3] == 429 || r.status == 429, "{statuses:?} then {}", r.status);
    let r = if statuses[3] == 429 {
        call(teld.addr, "GET", "/api/v1/whoami", Some(&ann), "")
    } else {
        r
    };
    assert_eq!(r.status, 429);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    let retry: u64 = r.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Bob's bucket is his own; admins are unlimited by default.
    assert_eq!(call(teld.addr, "GET", "/api/v1/whoami", Some(&bob), "").status, 200);
    for _ in 0..50 {
        assert_eq!(call(teld.addr, "GET", "/api/v1/whoami", Some(&admin), "").status, 200);
    }
    // After waiting what Retry-After said, Ann passes again.
    std::thread::sleep(Duration::from_secs(retry));
    assert_eq!(call(teld.addr, "GET", "/api/v1/whoami", Some(&ann), "").status, 200);
}

fn audit(teld: &Teld, admin: &str) -> Vec<Value> {
    let r = call(teld.addr, "GET", "/api/v1/audit?limit=1000", Some(admin), "");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["entries"].as_array().unwrap().clone()
}

#[test]
fn audited_calls_leave_rows_and_no_secret_reaches_the_log_or_the_audit_table() {
    let password = "mqtt-pw-Zq83hN";
    let site = TestSite::new(
        "tokaudit",
        &[AUTH_ON, ("[telemetry]", &format!("[telemetry]\npassword = {password:?}"))],
        "",
    );
    let ann = create_token(&site, "observer", "ann");
    let admin = create_token(&site, "admin", "ada");
    let teld = Teld::start(&site, "2026-11-24T19:30:00", 60.0);
    let wrong = "teld_wrongwrongwrongwrongwrongwrongwrongwrong1";
    let addr = teld.addr;

    let r = call(addr, "POST", "/api/v1/requests", Some(&ann), REQ);
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let r = call(addr, "POST", &format!("/api/v1/requests/{id}/cancel"), Some(&ann), "");
    assert_eq!(r.status, 200, "{}", r.text());
    // Cancelling twice is refused, and that is audited too.
    assert_eq!(
        call(addr, "POST", &format!("/api/v1/requests/{id}/cancel"), Some(&ann), "").status,
        409
    );
    // An observer trying an admin action: 403, audited.
    assert_eq!(
        call(addr, "POST", "/api/v1/tokens", Some(&ann), r#"{"name":"x","role":"admin"}"#).status,
        403
    );
    let r = call(
        addr,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"name": "temp", "role": "observer"}"#,
    );
    assert_eq!(r.status, 201);
    let made = r.json();
    let (tid, temp) = (made["id"].as_i64().unwrap(), made["token"].as_str().unwrap().to_string());
    assert_eq!(call(addr, "GET", "/api/v1/whoami", Some(&temp), "").status, 200);
    assert_eq!(
        call(addr, "POST", &format!("/api/v1/tokens/{tid}/revoke"), Some(&admin), "").status,
        200
    );
    // Wrong and missing tokens: 401, counted but not audited (anyone could flood it).
    for t in [Some(wrong), None, Some("Basic abc")] {
        assert_eq!(call(addr, "GET", "/api/v1/status", t, "").status, 401);
    }
    assert_eq!(call(addr, "POST", "/api/v1/requests", Some(wrong), REQ).status, 401);

    let rows = audit(&teld, &admin);
    let brief: Vec<(String, String, String, u64, String)> = rows
        .iter()
        .map(|r| {
            (
                r["actor"].as_str().unwrap().into(),
                format!("{} {}", r["method"].as_str().unwrap(), r["route"].as_str().unwrap()),
                r["target"].as_str().unwrap_or("").into(),
                r["status"].as_u64().unwrap(),
                r["result"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want = [
        ("ann", "POST /api/v1/requests", format!("request {id}"), 201, "ok"),
        ("ann", "POST /api/v1/requests/{id}/cancel", format!("request {id}"), 200, "ok"),
        (
            "ann",
            "POST /api/v1/requests/{id}/cancel",
            format!("request {id}"),
            409,
            "not_cancellable",
        ),
        ("ann", "POST /api/v1/tokens", String::new(), 403, "forbidden"),
        ("ada", "POST /api/v1/tokens", format!("token {tid}"), 201, "ok"),
        ("ada", "POST /api/v1/tokens/{id}/revoke", format!("token {tid}"), 200, "ok"),
    ];
    let want: Vec<(String, String, String, u64, String)> =
        want.into_iter().map(|(a, r, t, s, res)| (a.into(), r.into(), t, s, res.into())).collect();
    assert_eq!(brief, want, "{rows:#?}");
    for r in &rows {
        assert!(r["peer"].as_str().unwrap().starts_with("127.0.0.1:"), "{r}");
        assert!(r["at"].as_str().unwrap().starts_with("20"), "{r}");
        // The daemon's clock is simulated: a night in 2026-11, not today.
        assert!(r["clock_at"].as_str().unwrap().starts_with("2026-11-2"), "{r}");
        assert!(r["role"].is_string() && r["token_id"].is_i64(), "{r}");
    }
    assert!(rows[2]["detail"]["message"].as_str().unwrap().contains("cancelled"), "{}", rows[2]);

    // No secret anywhere: the daemon's whole log and every audit column.
    let log = teld.log_text();
    assert!(log.contains("audit"), "the log has the audit lines");
    let table: String =
        dump(&site, "audit_log").into_iter().flatten().collect::<Vec<_>>().join("|");
    for secret in [ann.as_str(), admin.as_str(), temp.as_str(), wrong, password] {
        let body = secret.strip_prefix("teld_").unwrap_or(secret);
        assert!(!log.contains(body), "a secret is in the daemon's log");
        assert!(!table.contains(body), "a secret is in the audit table");
    }
}
