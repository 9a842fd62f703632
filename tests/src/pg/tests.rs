//! Tests of the throwaway PostgreSQL helpers, with and without `GATEHOUSE_TEST_DATABASE_URL`,
//! under `cargo test` and under `cargo nextest`; ignored when the testkit was built without
//! PostgreSQL (see `build.rs`).

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

/// A server is configured but nothing listens there: never a skip, always a failure that says why.
#[test]
fn a_configured_but_unreachable_server_is_a_failure() {
    let closed = cluster::free_port().expect("port");
    let err = fresh_database_on(Some(format!("postgres://postgres@127.0.0.1:{closed}/postgres")))
        .expect_err("no database on a closed port");
    assert!(!err.is_unavailable(), "{err:?}");
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
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
#[cfg_attr(gatehouse_no_postgres, ignore = "no PostgreSQL when the testkit was built")]
fn concurrent_fresh_databases_differ_and_are_usable() {
    let handles: Vec<_> = (0..3).map(|_| thread::spawn(fresh_database)).collect();
    let dbs: Vec<TestDatabase> = handles
        .into_iter()
        .map(|h| h.join().expect("thread panicked"))
        .collect();
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
#[cfg_attr(gatehouse_no_postgres, ignore = "no PostgreSQL when the testkit was built")]
fn dropping_removes_the_database_even_while_connected() {
    let db = fresh_database();
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
#[cfg_attr(gatehouse_no_postgres, ignore = "no PostgreSQL when the testkit was built")]
fn private_cluster_stops_and_starts_again() {
    let cluster = PrivateCluster::start();
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
