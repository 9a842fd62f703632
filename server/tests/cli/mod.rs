use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

/// A `gatehouse` command in `dir` with only the given `GATEHOUSE_*` variables set.
fn command(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(args);
    for (key, _) in std::env::vars() {
        if key.starts_with("GATEHOUSE_") {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env.iter().copied());
    cmd
}

fn run(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    command(dir, env, args).output().expect("gatehouse runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A running `gatehouse serve`, killed on drop.
struct Served {
    child: Child,
    base: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `gatehouse serve` on port 0 and returns once it has logged the address the system gave
/// it ("Gatehouse is ready", logged after the socket is bound and listening, so requests made
/// from then on are queued until the workers take them). A `serve` that exits early closes its
/// stderr, which ends the wait with a failure: nothing here waits on a clock.
async fn serve(dir: &Path, env: &[(&str, &str)]) -> Served {
    let mut env: Vec<(&str, &str)> = env.to_vec();
    env.extend([
        ("GATEHOUSE_LISTEN", "127.0.0.1:0"),
        ("GATEHOUSE_LOG_FORMAT", "json"),
    ]);
    let mut child = command(dir, &env, &["serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn serve");
    let stderr = child.stderr.take().expect("piped stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads the log to its end, so that the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if entry["fields"]["message"] == "Gatehouse is ready"
                && let Some(listen) = entry["fields"]["listen"].as_str()
            {
                let _ = tx.send(listen.to_owned());
            }
        }
    });
    // Killed on drop, also when the wait below fails.
    let mut served = Served {
        child,
        base: String::new(),
    };
    let listen = rx.recv().expect("gatehouse serve exited before it was ready");
    served.base = format!("http://{listen}");
    let res = reqwest::get(format!("{}/-/health/ready/", served.base))
        .await
        .expect("health request");
    assert_eq!(res.status(), 200);
    served
}

#[test]
fn check_config_reports_the_effective_configuration_with_secrets_masked() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            ("GATEHOUSE_SECRET_KEY", "0123456789012345678901234567890123456789"),
            ("GATEHOUSE_LISTEN", "127.0.0.1:9100"),
        ],
        &["check-config"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["listen"], "127.0.0.1:9100");
    assert_eq!(summary["external_url"], "http://127.0.0.1:9100/");
    assert_eq!(summary["database_url"], "sqlite://./data/gatehouse.db");
    assert_eq!(summary["backend"], "sqlite");
    assert_eq!(summary["secret_key"], "********");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("0123456789012345678901234567890123456789"));
    // Passwords in a PostgreSQL URL are masked too.
    let out = run(
        dir.path(),
        &[("GATEHOUSE_DATABASE_URL", "postgres://gh:hunter2@db.example/gh")],
        &["check-config"],
    );
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hunter2"));
}

#[test]
fn bad_values_stop_the_process_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str)] = &[
        ("GATEHOUSE_LISTEN", "not-an-address", "`listen`"),
        ("GATEHOUSE_EXTERNAL_URL", "ftp://example.com", "`external_url`"),
        ("GATEHOUSE_DATABASE_URL", "mysql://localhost/gh", "`database_url`"),
        ("GATEHOUSE_SECRET_KEY", "too-short", "`secret_key`"),
        ("GATEHOUSE_LOG_FORMAT", "xml", "`log_format`"),
        ("GATEHOUSE_DATABASE_POOL_SIZE", "lots", "`database_pool_size`"),
        ("GATEHOUSE_DATABASE_POOL_SIZE", "0", "`database_pool_size`"),
        ("GATEHOUSE_BOOTSTRAP_PASSWORD", "short", "`bootstrap_password`"),
        ("GATEHOUSE_NO_SUCH_SETTING", "1", "`no_such_setting`"),
    ];
    for (key, value, named) in cases {
        for command in ["check-config", "serve", "migrate"] {
            let out = run(dir.path(), &[(key, value)], &[command]);
            assert_eq!(
                out.status.code(),
                Some(2),
                "{key}={value} {command}: {}",
                stderr(&out)
            );
            assert!(stderr(&out).contains(named), "{key}={value}: {}", stderr(&out));
        }
    }
    assert!(
        !dir.path().join("data").exists(),
        "a refused start created nothing"
    );
}

#[test]
fn config_file_is_read_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "listen = \"127.0.0.1:9555\"\nlog_format = \"json\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &[], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["listen"], "127.0.0.1:9555");
    assert_eq!(summary["log_format"], "json");
    // Environment overrides the file.
    let out = run(
        dir.path(),
        &[("GATEHOUSE_LISTEN", "127.0.0.1:9556")],
        &["check-config"],
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["listen"], "127.0.0.1:9556");

    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "listen = \"127.0.0.1:9555\"\nlisten_port = 4\n",
    )
    .unwrap();
    let out = run(dir.path(), &[], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`listen_port`"), "{}", stderr(&out));
    std::fs::write(dir.path().join("gatehouse.toml"), "workers = \"many\"\n").unwrap();
    let out = run(dir.path(), &[], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`workers`"), "{}", stderr(&out));

    let out = run(dir.path(), &[], &["--config", "missing.toml", "check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.toml"));
}

#[test]
fn every_command_has_help() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["check-config", "--help"],
        vec!["token", "create", "--help"],
    ] {
        let out = run(dir.path(), &[], &args);
        assert!(out.status.success(), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"), "{args:?}");
    }
}

#[tokio::test]
async fn serve_creates_the_embedded_database_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let token = "first-start-bootstrap-token";
    let served = serve(dir.path(), &[("GATEHOUSE_BOOTSTRAP_TOKEN", token)]).await;
    assert!(dir.path().join("data/gatehouse.db").exists());
    let key = dir.path().join("data/secret_key");
    assert!(std::fs::read_to_string(&key).unwrap().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let client = reqwest::Client::new();
    let me: Value = client
        .get(format!("{}/api/v3/core/users/me/", served.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["username"], "admin");
    drop(served);
    // The key survives restarts.
    let before = std::fs::read_to_string(&key).unwrap();
    let _served = serve(dir.path(), &[("GATEHOUSE_BOOTSTRAP_TOKEN", token)]).await;
    assert_eq!(std::fs::read_to_string(&key).unwrap(), before);
}

gatehouse_testkit::needs_postgres! {
/// The same binary and the same API calls on SQLite and on PostgreSQL give the same results.
#[tokio::test]
async fn same_api_results_on_both_backends() {
    let pg = gatehouse_testkit::pg::fresh_database();
    let mut results = Vec::new();
    for database_url in [None, Some(pg.url.clone())] {
        let dir = tempfile::tempdir().unwrap();
        let mut env = vec![("GATEHOUSE_BOOTSTRAP_TOKEN", "cross-backend-token-123")];
        if let Some(url) = &database_url {
            env.push(("GATEHOUSE_DATABASE_URL", url.as_str()));
        }
        let served = serve(dir.path(), &env).await;
        let client = reqwest::Client::new();
        let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
            let mut req = client
                .request(method, format!("{}{path}", served.base))
                .bearer_auth("cross-backend-token-123");
            if let Some(body) = body {
                req = req.json(&body);
            }
            req.send()
        };
        let mut transcript = Vec::new();
        for (method, path, body) in [
            (
                reqwest::Method::POST,
                "/api/v3/core/users/",
                Some(json!({"username": "Zoe", "email": "zoe@x.example"})),
            ),
            (
                reqwest::Method::POST,
                "/api/v3/core/users/",
                Some(json!({"username": "zoe"})),
            ),
            (
                reqwest::Method::POST,
                "/api/v3/core/users/",
                Some(json!({"username": "yann", "bogus": 1})),
            ),
            (
                reqwest::Method::POST,
                "/api/v3/core/groups/",
                Some(json!({"name": "crew", "users": [2]})),
            ),
            (
                reqwest::Method::GET,
                "/api/v3/core/users/?ordering=-username&search=z",
                None,
            ),
            (reqwest::Method::GET, "/api/v3/core/users/99/", None),
        ] {
            let res = call(method, path, body).await.unwrap();
            let status = res.status().as_u16();
            let mut body: Value = res.json().await.unwrap();
            scrub(&mut body);
            transcript.push((status, body));
        }
        results.push(transcript);
        if database_url.is_none() {
            assert!(dir.path().join("data/gatehouse.db").exists());
        } else {
            assert!(
                !dir.path().join("data/gatehouse.db").exists(),
                "PostgreSQL mode writes no SQLite file"
            );
        }
    }
    assert_eq!(results[0], results[1]);
}
}

/// Removes values that legitimately differ between runs (UUIDs, timestamps).
fn scrub(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if matches!(key.as_str(), "uuid" | "date_joined" | "created" | "last_login")
                    || (key == "pk" && v.is_string())
                {
                    *v = Value::Null;
                } else if key == "groups" {
                    *v = json!(v.as_array().map(Vec::len));
                } else {
                    scrub(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        _ => {}
    }
}

#[tokio::test]
async fn token_create_prints_a_key_that_works() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &[], &["token", "create", "--user", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no user named `nobody`"),
        "{}",
        stderr(&out)
    );

    // Bootstrap `admin`, then create a token for it from the command line.
    drop(
        serve(
            dir.path(),
            &[("GATEHOUSE_BOOTSTRAP_PASSWORD", "bootstrap-password")],
        )
        .await,
    );
    let out = run(
        dir.path(),
        &[],
        &["token", "create", "--user", "admin", "--identifier", "ops-cli"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(key.len() >= 40);
    let out = run(
        dir.path(),
        &[],
        &["token", "create", "--user", "admin", "--identifier", "ops-cli"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("already exists"));

    let served = serve(dir.path(), &[]).await;
    let res = reqwest::Client::new()
        .get(format!("{}/api/v3/core/tokens/ops-cli/", served.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let token: Value = res.json().await.unwrap();
    assert_eq!(token["expiring"], true);
}

/// `migrate` applies every migration once; a second run applies nothing.
fn migrate_twice(dir: &Path, env: &[(&str, &str)]) {
    let out = run(dir, env, &["migrate"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("applied migration"));
    let out = run(dir, env, &["migrate"]);
    assert!(out.status.success());
    assert!(!stderr(&out).contains("applied migration"));
}

#[test]
fn migrate_is_idempotent_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    migrate_twice(dir.path(), &[]);
    assert!(dir.path().join("data/gatehouse.db").exists());
}

/// An unreachable database is a clear failure, not a hang.
#[test]
fn migrate_against_an_unreachable_database_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            ("GATEHOUSE_DATABASE_URL", "postgres://postgres@127.0.0.1:1/none"),
            ("GATEHOUSE_DATABASE_TIMEOUT_SECONDS", "2"),
        ],
        &["migrate"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("database"), "{}", stderr(&out));
}

gatehouse_testkit::needs_postgres! {
    #[test]
    fn migrate_is_idempotent_on_postgres() {
        let dir = tempfile::tempdir().unwrap();
        let pg = gatehouse_testkit::pg::fresh_database();
        migrate_twice(dir.path(), &[("GATEHOUSE_DATABASE_URL", pg.url.as_str())]);
        assert!(!dir.path().join("data/gatehouse.db").exists(), "PostgreSQL mode writes no SQLite file");
    }
}

#[test]
fn mapping_test_runs_scripts_offline() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("username.rhai");
    let context = dir.path().join("ctx.json");
    std::fs::write(
        &script,
        "#{ username: lower(info.userPrincipalName.split(\"@\")[0]) }",
    )
    .unwrap();
    std::fs::write(
        &context,
        r#"{"info": {"userPrincipalName": "AdeleV@contoso.onmicrosoft.com"}}"#,
    )
    .unwrap();
    let args = |s: &Path, c: &Path| {
        vec![
            "mapping".to_owned(),
            "test".into(),
            s.display().to_string(),
            "--context".into(),
            c.display().to_string(),
        ]
    };
    let out = command(
        dir.path(),
        &[],
        &args(&script, &context)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["successful"], true);
    assert_eq!(result["result"]["username"], "adelev");

    // An error: non-zero exit, line and column on stderr and in the JSON.
    std::fs::write(&script, "let a = 1;\nlet b = info.missing.deeper;\n#{}").unwrap();
    let out = command(
        dir.path(),
        &[],
        &args(&script, &context)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("line 2, column"), "{}", stderr(&out));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["successful"], false);
    assert_eq!(result["error"]["line"], 2);

    // Group mappings.
    std::fs::write(&script, "#{ name: \"entra-\" + group.displayName }").unwrap();
    std::fs::write(&context, r#"{"group": {"id": "g1", "displayName": "Sales"}}"#).unwrap();
    let mut group_args = args(&script, &context);
    group_args.extend(["--kind".to_owned(), "group".to_owned()]);
    let out = command(
        dir.path(),
        &[],
        &group_args.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["result"]["name"],
        "entra-Sales"
    );

    // Unreadable inputs are usage errors.
    std::fs::write(&context, "not json").unwrap();
    let out = command(
        dir.path(),
        &[],
        &args(&script, &context)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not valid JSON"));
    let out = command(
        dir.path(),
        &[],
        &args(&dir.path().join("missing.rhai"), &context)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The configured limits apply.
    std::fs::write(&script, "loop {}").unwrap();
    std::fs::write(&context, "{}").unwrap();
    let out = command(
        dir.path(),
        &[("GATEHOUSE_MAPPINGS__MAX_OPERATIONS", "1000")],
        &args(&script, &context)
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<Value>(&out.stdout).unwrap()["error"]["limit"],
        "operations"
    );
}

#[test]
fn mapping_limits_are_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[("GATEHOUSE_MAPPINGS__TIMEOUT_MS", "0")],
        &["check-config"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`mappings.timeout_ms`"), "{}", stderr(&out));
    std::fs::write(
        dir.path().join("gatehouse.toml"),
        "[mappings]\ntimeout_ms = 100\nmax_operations = 5000\n",
    )
    .unwrap();
    let out = run(dir.path(), &[], &["check-config"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["mappings"]["timeout_ms"], 100);
    assert_eq!(summary["mappings"]["max_operations"], 5000);
    std::fs::write(dir.path().join("gatehouse.toml"), "[mappings]\ntimeout = 100\n").unwrap();
    let out = run(dir.path(), &[], &["check-config"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("timeout"), "{}", stderr(&out));
}

mod infra;
