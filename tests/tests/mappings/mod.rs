//! Property mappings through the admin API: CRUD, save-time syntax checks, managed defaults,
//! the dry-run endpoint, runaway scripts, replicas.

use std::time::Duration;

use gatehouse_testkit::app::{DatabaseGuard, test_settings};
use gatehouse_testkit::{Backend, TestApp, TestServer, both_backends};
use serde_json::json;

const MAPPINGS: &str = "/api/v3/propertymappings/source/oauth/";

fn entra_context() -> serde_json::Value {
    json!({
        "info": {
            "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
            "displayName": "Adele Vance",
            "mail": "AdeleV@contoso.onmicrosoft.com",
            "jobTitle": "Retail Manager",
            "department": "Retail",
        },
        "groups": [
            {"id": "g1", "displayName": "Retail", "securityEnabled": true},
            {"id": "g2", "displayName": "All Company", "securityEnabled": false},
        ],
        "source": {"slug": "entra-id", "name": "Entra ID", "provider_type": "entraid"},
    })
}

both_backends! {
    async fn crud_and_save_time_syntax_check(app) {
        let res = app
            .post(MAPPINGS, json!({"name": "username from UPN", "expression": "#{ username: lower(info.userPrincipalName.split(\"@\")[0]) }"}))
            .await;
        res.assert_status(201);
        let mapping = res.json();
        let pk = mapping["pk"].as_str().unwrap().to_owned();
        assert!(mapping["managed"].is_null());
        assert_eq!(mapping["kind"], "source_oauth");

        // A syntax error is refused with its line and column; nothing changes.
        let res = app.patch(&format!("{MAPPINGS}{pk}/"), json!({"expression": "let x = 1;\nlet y = ;\n#{}"})).await;
        res.assert_status(400);
        let message = res.json()["expression"][0].as_str().unwrap().to_owned();
        assert!(message.contains("line 2"), "{message}");
        assert!(message.contains("column"), "{message}");
        let res = app.get(&format!("{MAPPINGS}{pk}/")).await;
        assert_eq!(res.json()["expression"], mapping["expression"]);
        // So is an unknown variable (a typo in `info`).
        let res = app.post(MAPPINGS, json!({"name": "typo", "expression": "#{ username: inf.userPrincipalName }"})).await;
        res.assert_status(400);
        assert!(res.json()["expression"].is_array());
        let res = app.post(MAPPINGS, json!({"name": "username from UPN", "expression": "()"})).await;
        res.assert_status(409);
        let res = app.post(MAPPINGS, json!({"expression": "()"})).await;
        res.assert_status(400);
        assert!(res.json()["name"].is_array());

        let res = app.get("/api/v3/propertymappings/all/?managed=false").await;
        assert_eq!(res.json()["pagination"]["count"], 1);
        app.get(&format!("/api/v3/propertymappings/all/{pk}/")).await.assert_status(200);
        app.delete(&format!("{MAPPINGS}{pk}/")).await.assert_status(204);
        app.get(&format!("{MAPPINGS}{pk}/")).await.assert_status(404);
    }
}

both_backends! {
    async fn managed_defaults_are_installed_and_read_only(app) {
        let res = app.get("/api/v3/propertymappings/all/?managed=true&page_size=100").await;
        res.assert_status(200);
        let managed = res.json()["results"].as_array().unwrap().clone();
        let names: Vec<&str> = managed.iter().map(|m| m["name"].as_str().unwrap()).collect();
        for expected in [
            "Entra ID: username from UPN local part",
            "Entra ID: department attribute from jobTitle/department",
            "Entra ID: groups only security-enabled",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let username = managed.iter().find(|m| m["name"] == "Entra ID: username from UPN local part").unwrap();
        assert!(username["description"].as_str().unwrap().len() > 10);
        let pk = username["pk"].as_str().unwrap();
        app.patch(&format!("{MAPPINGS}{pk}/"), json!({"expression": "()"})).await.assert_status(403);
        app.delete(&format!("{MAPPINGS}{pk}/")).await.assert_status(403);
        // Each managed user mapping runs on an Entra sample.
        let res = app.post(&format!("/api/v3/propertymappings/all/{pk}/test/"), json!({"context": entra_context()})).await;
        res.assert_status(200);
        assert_eq!(res.json()["successful"], true, "{}", res.text());
        assert_eq!(res.json()["result"]["username"], "adelev");
        let security = managed.iter().find(|m| m["name"] == "Entra ID: groups only security-enabled").unwrap();
        let res = app
            .post(&format!("/api/v3/propertymappings/all/{}/test/", security["pk"].as_str().unwrap()), json!({"context": entra_context()}))
            .await;
        assert_eq!(res.json()["result"]["groups"], json!(["g1"]), "{}", res.text());
        // Restarting does not duplicate them.
        let replica = app.replica().await;
        let res = replica.get("/api/v3/propertymappings/all/?managed=true&page_size=100").await;
        assert_eq!(res.json()["pagination"]["count"].as_u64().unwrap() as usize, managed.len());
    }
}

both_backends! {
    async fn dry_run_results_and_errors(app) {
        let create = |name: &str, expression: &str| {
            app.post(MAPPINGS, json!({"name": name, "expression": expression}))
        };
        let ok = create("dept", "#{ attributes: #{ department: info.department } }").await;
        ok.assert_status(201);
        let res = app
            .post(&format!("/api/v3/propertymappings/all/{}/test/", ok.json()["pk"].as_str().unwrap()), json!({"context": entra_context(), "kind": "user"}))
            .await;
        res.assert_status(200);
        assert_eq!(res.json()["successful"], true);
        assert_eq!(res.json()["result"]["attributes"]["department"], "Retail");

        // A runtime error: message, line and column.
        let failing = create("fails", "let x = 1;\nlet y = info.displayName / 2;\n#{}").await;
        failing.assert_status(201);
        let res = app
            .post(&format!("/api/v3/propertymappings/all/{}/test/", failing.json()["pk"].as_str().unwrap()), json!({"context": entra_context()}))
            .await;
        res.assert_status(200);
        let body = res.json();
        assert_eq!(body["successful"], false);
        assert_eq!(body["error"]["line"], 2, "{body}");
        assert!(body["error"]["column"].is_number());
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());

        // A wrong return type names the key.
        let wrong = create("wrong type", "#{ is_active: \"yes\" }").await;
        let res = app
            .post(&format!("/api/v3/propertymappings/all/{}/test/", wrong.json()["pk"].as_str().unwrap()), json!({"context": entra_context()}))
            .await;
        assert_eq!(res.json()["successful"], false);
        assert!(res.json()["error"]["message"].as_str().unwrap().contains("is_active"), "{}", res.text());

        // Group mappings.
        let group = create("group name", "#{ name: \"entra-\" + group.displayName }").await;
        let res = app
            .post(
                &format!("/api/v3/propertymappings/all/{}/test/", group.json()["pk"].as_str().unwrap()),
                json!({"context": {"group": {"id": "g1", "displayName": "Retail"}}, "kind": "group"}),
            )
            .await;
        assert_eq!(res.json()["result"]["name"], "entra-Retail", "{}", res.text());

        // Bad requests.
        let pk = ok.json()["pk"].as_str().unwrap().to_owned();
        let res = app.post(&format!("/api/v3/propertymappings/all/{pk}/test/"), json!({"context": [1]})).await;
        res.assert_status(400);
        assert!(res.json()["context"].is_array());
        let res = app.post(&format!("/api/v3/propertymappings/all/{pk}/test/"), json!({"context": {}, "kind": "robot"})).await;
        res.assert_status(400);
        assert!(res.json()["kind"].is_array());
        app.post(&format!("/api/v3/propertymappings/all/{}/test/", uuid::Uuid::new_v4()), json!({"context": {}}))
            .await
            .assert_status(404);
    }
}

both_backends! {
    async fn an_edit_takes_effect_on_every_replica(app) {
        let other = app.replica().await;
        let res = app.post(MAPPINGS, json!({"name": "versioned", "expression": "#{ name: \"v1\" }"})).await;
        let pk = res.json()["pk"].as_str().unwrap().to_owned();
        let path = format!("/api/v3/propertymappings/all/{pk}/test/");
        assert_eq!(other.post(&path, json!({"context": {}})).await.json()["result"]["name"], "v1");
        app.patch(&format!("{MAPPINGS}{pk}/"), json!({"expression": "#{ name: \"v2\" }"})).await.assert_status(200);
        // The other replica compiled v1 already; its cache is keyed by content, so v2 runs now.
        assert_eq!(other.post(&path, json!({"context": {}})).await.json()["result"]["name"], "v2");
    }
}

/// A runaway script is stopped within its budget with a clear error, and the server keeps
/// answering other requests while it runs.
async fn runaway_scripts(backend: Backend) {
    let (url, guard) = DatabaseGuard::fresh(backend);
    let mut settings = test_settings(&url, guard.data_dir());
    settings.workers = 2;
    // A long budget, so that the script is still running while the other requests go (checked
    // below by the engine's count of running scripts, not assumed).
    settings.mappings.timeout_ms = 5000;
    settings.mappings.max_operations = 1_000_000_000_000;
    let server = TestServer::start(settings).await.unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let create = |name: &str, expression: &str| {
        client
            .post(server.url(MAPPINGS))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .json(&json!({"name": name, "expression": expression}))
            .send()
    };
    let mut pks = Vec::new();
    for (name, expression) in [
        ("loop", "loop {}"),
        ("recursion", "fn f(x) { f(x + 1) } f(0)"),
        ("big string", "let s = \"x\"; loop { s += s; }"),
        ("big array", "let a = []; loop { a.push(1); }"),
    ] {
        let res = create(name, expression).await.unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        pks.push(
            res.json::<serde_json::Value>().await.unwrap()["pk"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let test_url = |pk: &str| server.url(&format!("/api/v3/propertymappings/all/{pk}/test/"));
    let running = || server.state.mappings.running_scripts();
    assert_eq!(running(), 0);
    // Start the endless loop...
    let slow = tokio::spawn(
        client
            .post(test_url(&pks[0]))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .json(&json!({"context": {}}))
            .send(),
    );
    // ...wait until the server runs it (a condition, polled: not a wait for time to pass)...
    while running() == 0 {
        assert!(
            !slow.is_finished(),
            "the runaway request ended before its script ran"
        );
        // Polls a condition (the script has started), not a wait for time to pass.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // ...and while it runs, other requests are answered.
    for _ in 0..10 {
        let res = client
            .get(server.url("/api/v3/core/users/me/"))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    assert_eq!(
        running(),
        1,
        "the runaway script was still running after the server answered the others"
    );
    let res = slow.await.unwrap().unwrap();
    assert_eq!(running(), 0);
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["successful"], false);
    assert_eq!(body["error"]["kind"], "timeout", "{body}");
    // The others hit their own limits with a clear error too. Growing an array with `push` is not
    // checked by Rhai as it goes (only what leaves the script is), so that one runs into the budget.
    let expected = [
        ("limit_exceeded", Some("call_levels")),
        ("limit_exceeded", Some("string_size")),
        ("timeout", None),
    ];
    for (pk, (kind, limit)) in pks[1..].iter().zip(expected) {
        let body: serde_json::Value = client
            .post(test_url(pk))
            .bearer_auth(TestApp::ADMIN_TOKEN)
            .json(&json!({"context": {}}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(body["successful"], false, "{body}");
        assert_eq!(body["error"]["kind"], kind, "{body}");
        assert_eq!(body["error"]["limit"].as_str(), limit, "{body}");
        assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    }
    server.stop().await;
}

#[actix_web::test]
async fn runaway_scripts_sqlite() {
    runaway_scripts(Backend::Sqlite).await;
}

gatehouse_testkit::needs_postgres! {
    #[actix_web::test]
    async fn runaway_scripts_postgres() {
        runaway_scripts(Backend::Postgres).await;
    }
}
