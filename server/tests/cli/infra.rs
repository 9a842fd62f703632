//! Operator-facing behaviour of issue 11's infrastructure items through the binary: no secret in
//! `check-config` output or the server's log, and metrics on their own listener.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{command, run, stderr};

const SECRETS: &[(&str, &str)] = &[
    ("GATEHOUSE_SECRET_KEY", "secret-key-value-0123456789-abcdefghijkl"),
    ("GATEHOUSE_BOOTSTRAP_TOKEN", "bootstrap-token-value-0123456789"),
    ("GATEHOUSE_BOOTSTRAP_PASSWORD", "bootstrap-password-value-01"),
    ("GATEHOUSE_METRICS_TOKEN", "metrics-token-value-0123456789"),
];

#[track_caller]
fn assert_no_secret(text: &str) {
    for (_, secret) in SECRETS {
        assert!(!text.contains(secret), "secret {secret} printed:\n{text}");
    }
}

fn free_addr() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

#[test]
fn check_config_prints_no_secret() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), SECRETS, &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_no_secret(&stdout);
    assert_no_secret(&stderr(&out));
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    for key in [
        "secret_key",
        "bootstrap_token",
        "bootstrap_password",
        "metrics_token",
    ] {
        assert_eq!(summary[key], "********", "{key}");
    }
    assert_eq!(summary["trusted_proxy_hops"], 1);
    // A rejected value is named by its key, not echoed.
    let mut env = SECRETS.to_vec();
    env.push(("GATEHOUSE_METRICS_TOKEN", "short-secret"));
    let out = run(dir.path(), &env, &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`metrics_token`"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("short-secret"), "{}", stderr(&out));
    let out = run(
        dir.path(),
        &[("GATEHOUSE_TRUSTED_PROXY_HOPS", "0")],
        &["check-config"],
    );
    assert!(stderr(&out).contains("`trusted_proxy_hops`"), "{}", stderr(&out));
}

/// `gatehouse serve` with every secret set and debug logging: metrics only on `metrics_listen`
/// (with the token), and no secret anywhere in the log.
#[tokio::test]
async fn serve_logs_no_secret_and_serves_metrics_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let (listen, metrics) = (free_addr(), free_addr());
    let mut env = SECRETS.to_vec();
    env.extend([
        ("GATEHOUSE_LISTEN", listen.as_str()),
        ("GATEHOUSE_METRICS_LISTEN", metrics.as_str()),
        ("GATEHOUSE_LOG_LEVEL", "debug"),
    ]);
    let mut child = command(dir.path(), &env, &["serve"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let scrape = loop {
        if let Ok(res) = client
            .get(format!("http://{metrics}/metrics"))
            .bearer_auth("metrics-token-value-0123456789")
            .send()
            .await
        {
            break res;
        }
        assert!(Instant::now() < deadline, "the metrics listener did not answer");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(scrape.status(), 200);
    let res = client
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "{listen} {metrics} {:?}", res.text().await);
    let res = client
        .get(format!("http://{listen}/metrics"))
        .bearer_auth("metrics-token-value-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client
        .get(format!("http://{listen}/api/v3/core/users/me/"))
        .bearer_auth("bootstrap-token-value-0123456789")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(log.contains("metrics are served on their own listener"), "{log}");
    assert_no_secret(&log);
}
