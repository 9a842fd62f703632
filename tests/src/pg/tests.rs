//! Tests of the throwaway PostgreSQL helpers; they pass with and without
//! `GATEHOUSE_TEST_DATABASE_URL`, under `cargo test` and under `cargo nextest`.

use std::thread;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text};

use super::*;

#[derive(QueryableByName, Debug, PartialEq)]
struct Row {
    #[diesel(sql_type = Integer)]
    id: i32,
    #[diesel(sql_type = Text)]
    label: String,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

fn fresh_or_skip() -> Option<TestDatabase> {
    let db = try_fresh_database().expect("PostgreSQL is there but a test database could not be made");
    if db.is_none() {
        eprintln!("PostgreSQL case skipped: no PostgreSQL on this machine");
    }
    db
}

/// Checks `url` reaches `database`, creates a table, writes a row, reads it back.
fn use_database(url: &str, database: &str, label: &str) {
    let mut conn = PgConnection::establish(url).expect("connect to the test database");
    conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT NOT NULL)")
        .expect("create table");
    diesel::sql_query("INSERT INTO t (id, label) VALUES (1, $1)")
        .bind::<Text, _>(label)
        .execute(&mut conn)
        .expect("insert");
    let rows: Vec<Row> = diesel::sql_query("SELECT id, label FROM t")
        .load(&mut conn)
        .expect("select");
    assert_eq!(
        rows,
        vec![Row {
            id: 1,
            label: label.to_string()
        }]
    );
    let current: Name = diesel::sql_query("SELECT current_database()::text AS name")
        .get_result(&mut conn)
        .expect("current_database");
    assert_eq!(current.name, database, "{url} is connected to the wrong database");
}

#[test]
fn concurrent_fresh_databases_differ_and_are_usable() {
    let handles: Vec<_> = (0..3).map(|_| thread::spawn(fresh_or_skip)).collect();
    let dbs: Vec<TestDatabase> = handles
        .into_iter()
        .filter_map(|h| h.join().expect("thread panicked"))
        .collect();
    if dbs.is_empty() {
        return;
    }
    assert_eq!(dbs.len(), 3, "either all or none of the databases can be had");
    assert_ne!(dbs[0].url, dbs[1].url);
    assert_ne!(dbs[1].url, dbs[2].url);
    assert_ne!(dbs[0].url, dbs[2].url);
    // Each database starts empty, so the same table name can be created in all of them.
    thread::scope(|s| {
        for db in &dbs {
            s.spawn(|| use_database(&db.url, db.name(), db.name()));
        }
    });
}

#[test]
fn dropping_removes_the_database_even_while_connected() {
    let Some(db) = fresh_or_skip() else { return };
    let url = db.url.clone();
    use_database(&url, db.name(), "before drop");
    // A connection left open must not stop the drop (WITH (FORCE)).
    let mut open = PgConnection::establish(&url).expect("connect");
    open.batch_execute("SELECT 1").expect("query");
    drop(db);
    let err = match PgConnection::establish(&url) {
        Ok(_) => panic!("{url} still exists after drop"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("does not exist"), "unexpected error: {err}");
    assert!(
        open.batch_execute("SELECT 1").is_err(),
        "the open connection was terminated"
    );
}

#[test]
fn private_cluster_stops_and_starts_again() {
    let cluster = match PrivateCluster::try_start() {
        Ok(Some(cluster)) => cluster,
        Ok(None) => {
            eprintln!("PostgreSQL case skipped: no initdb/pg_ctl on this machine");
            return;
        }
        Err(e) => panic!("private cluster failed to start: {e}"),
    };
    let url = cluster.url();
    use_database(&url, "postgres", "first run");

    cluster.stop().expect("stop");
    assert!(
        PgConnection::establish(&url).is_err(),
        "connecting to a stopped cluster must fail"
    );

    cluster.start_again().expect("start again");
    let mut conn = PgConnection::establish(&url).expect("connect after restart");
    let rows: Vec<Row> = diesel::sql_query("SELECT id, label FROM t")
        .load(&mut conn)
        .expect("select");
    assert_eq!(
        rows,
        vec![Row {
            id: 1,
            label: "first run".into()
        }],
        "data survives the restart"
    );
    drop(conn);

    let port = cluster.port();
    let root = cluster.files.root.clone();
    drop(cluster);
    assert!(!root.exists(), "{} is left behind", root.display());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "something still listens on {port}"
    );
}
