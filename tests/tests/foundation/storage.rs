//! Storage: migration trees, per-connection settings, health and metrics.

use gatehouse::db::migrations;
use gatehouse_testkit::{Backend, TestApp, both_backends};

#[test]
fn migration_trees_have_the_same_names() {
    let sqlite = migrations::names(&migrations::SQLITE);
    let postgres = migrations::names(&migrations::POSTGRES);
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "migrations/sqlite and migrations/postgres must hold the same migrations"
    );
    // Also compare the folders on disk, so a migration missing from one tree cannot hide.
    let list = |tree: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join("migrations")
            .join(tree);
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(list("sqlite"), list("postgres"));
}

#[actix_web::test]
async fn sqlite_connections_use_wal_and_foreign_keys() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let (journal, foreign_keys, busy) = app
        .db(|conn| {
            use diesel::RunQueryDsl;
            #[derive(diesel::QueryableByName)]
            struct Journal {
                #[diesel(sql_type = diesel::sql_types::Text)]
                journal_mode: String,
            }
            #[derive(diesel::QueryableByName)]
            struct ForeignKeys {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                foreign_keys: i64,
            }
            #[derive(diesel::QueryableByName)]
            struct Busy {
                #[diesel(sql_type = diesel::sql_types::BigInt)]
                timeout: i64,
            }
            let journal: Journal = diesel::sql_query("PRAGMA journal_mode").get_result(conn)?;
            let fk: ForeignKeys = diesel::sql_query("PRAGMA foreign_keys").get_result(conn)?;
            let busy: Busy = diesel::sql_query("PRAGMA busy_timeout").get_result(conn)?;
            Ok((journal.journal_mode, fk.foreign_keys, busy.timeout))
        })
        .await;
    assert_eq!(journal, "wal");
    assert_eq!(foreign_keys, 1);
    assert!(busy >= 1000);
}

both_backends! {
    async fn health_and_metrics(app) {
        let res = app.req(actix_web::http::Method::GET, "/-/health/live/").anonymous().send().await;
        res.assert_status(200);
        let res = app.req(actix_web::http::Method::GET, "/-/health/ready/").anonymous().send().await;
        res.assert_status(200);
        assert_eq!(res.json()["database"], "ok");
        app.get("/api/v3/core/users/1/").await.assert_status(200);
        app.get("/api/v3/core/users/424242/").await.assert_status(404);
        let res = app.req(actix_web::http::Method::GET, "/metrics").anonymous().send().await;
        res.assert_status(200);
        let text = res.text();
        assert!(text.contains(r#"gatehouse_http_requests_total{method="GET",route="/api/v3/core/users/{pk}/",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"gatehouse_http_requests_total{method="GET",route="/api/v3/core/users/{pk}/",status="404"} 1"#), "{text}");
        assert!(text.contains("gatehouse_http_request_duration_seconds_bucket"));
        assert!(text.contains("gatehouse_db_pool_connections"));
    }
}

/// Every unique index in the migrations is mapped to the API field it protects, so a violation
/// is a 409 naming that field on both backends (SQLite reports columns, PostgreSQL index names).
#[test]
fn every_unique_index_names_its_field() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut indexes = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let up = std::fs::read_to_string(entry.unwrap().path().join("up.sql")).unwrap();
        for line in up.lines() {
            if let Some(rest) = line.trim().strip_prefix("CREATE UNIQUE INDEX ") {
                indexes.push(rest.split_whitespace().next().unwrap().to_owned());
            }
        }
    }
    assert!(indexes.len() > 10);
    for index in indexes {
        assert!(
            gatehouse::db::error::UNIQUE_RULES
                .iter()
                .any(|(name, _, _)| *name == index),
            "unique index {index} has no entry in db::error::UNIQUE_RULES"
        );
    }
}
