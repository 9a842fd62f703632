//! Throwaway PostgreSQL for tests.
//!
//! [`fresh_database`] hands out a new empty database per test, on the server named by
//! `GATEHOUSE_TEST_DATABASE_URL` (an admin URL) or else on a cluster shared by every test process of
//! the run, started on demand from the machine's `initdb`/`pg_ctl` (see `shared` for how it is
//! found, locked and cleaned up). [`PrivateCluster`] is a cluster of a test's own, for stopping and
//! restarting PostgreSQL under a running server. As root, the PostgreSQL programs run as the
//! `postgres` user through `runuser`. Cluster files go to tmpfs (`/dev/shm`) when it has room,
//! because creating a database there is several times faster than on disk.

mod admin;
mod cluster;
mod private;
mod shared;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

pub use private::PrivateCluster;

/// Admin URL of an existing server to create the test databases on.
pub const DATABASE_URL_ENV: &str = "GATEHOUSE_TEST_DATABASE_URL";

/// Why no PostgreSQL database could be had.
#[derive(Clone)]
pub struct PgError {
    unavailable: bool,
    message: String,
}

impl PgError {
    fn unavailable(message: String) -> Self {
        PgError {
            unavailable: true,
            message,
        }
    }

    fn failed(message: String) -> Self {
        PgError {
            unavailable: false,
            message,
        }
    }

    /// True when this machine simply has no PostgreSQL (a skip), false when something broke.
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The message itself, so that `.expect()` in a test prints the log tail readably.
impl fmt::Debug for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.unavailable { "unavailable" } else { "failed" };
        write!(f, "PostgreSQL {kind}: {}", self.message)
    }
}

impl std::error::Error for PgError {}

/// A brand-new empty database; dropped (`DROP DATABASE … WITH (FORCE)`) on `Drop`.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of this database (`postgres://…/gh_test_…`).
    pub url: String,
    name: String,
    admin_url: String,
    on_shared_cluster: bool,
}

impl TestDatabase {
    /// The database name (`gh_test_<pid>_<random>`).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Err(e) = admin::drop_database(&self.admin_url, &self.name) {
            eprintln!(
                "gatehouse-testkit: could not drop test database {}: {e}",
                self.name
            );
        }
        if self.on_shared_cluster {
            shared::LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// A new empty database for a PostgreSQL test case.
///
/// Panics when none can be had, whatever the reason: a case that runs must run on PostgreSQL.
/// Machines without PostgreSQL don't get here, because the testkit's build script had the case
/// built as ignored (see `needs_postgres!`), and nextest reports it skipped.
pub fn fresh_database() -> TestDatabase {
    match try_fresh_database() {
        Ok(Some(db)) => db,
        Ok(None) => panic!(
            "a PostgreSQL test case ran but no PostgreSQL can be had: set {DATABASE_URL_ENV} or \
             install initdb/pg_ctl (the testkit was built when one of them was there; \
             `touch tests/build.rs` rebuilds it as it is now){}",
            require_note()
        ),
        Err(e) => panic!("PostgreSQL is configured but a test database could not be made: {e:?}"),
    }
}

/// Set by `.ci/run`: a PostgreSQL case is never skipped, so a missing server fails the run.
pub const REQUIRE_ENV: &str = "GATEHOUSE_REQUIRE_POSTGRES";

fn require_note() -> String {
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        format!(" ({REQUIRE_ENV}=1: PostgreSQL cases are never skipped)")
    } else {
        String::new()
    }
}

/// Like [`fresh_database`], but tells "no PostgreSQL on this machine" (`Ok(None)`) from "PostgreSQL
/// is there but broken" (`Err`), for callers that must not skip silently (CI).
pub fn try_fresh_database() -> Result<Option<TestDatabase>, PgError> {
    let configured = std::env::var(DATABASE_URL_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty());
    fresh_database_on(configured)
}

/// A database on the `configured` admin URL, or else on the shared cluster.
fn fresh_database_on(configured: Option<String>) -> Result<Option<TestDatabase>, PgError> {
    let (admin_url, on_shared_cluster) = match configured {
        Some(url) => (url.trim().to_string(), false),
        None => match shared::admin_url() {
            Ok(url) => (url, true),
            Err(e) if e.is_unavailable() => {
                static SAID: AtomicBool = AtomicBool::new(false);
                if !SAID.swap(true, Ordering::Relaxed) {
                    eprintln!("gatehouse-testkit: no PostgreSQL: {e}, and {DATABASE_URL_ENV} is not set");
                }
                return Ok(None);
            }
            Err(e) => return Err(e),
        },
    };
    if on_shared_cluster {
        // Counted before creating, so the lease is renewed while the database exists.
        shared::LIVE.fetch_add(1, Ordering::SeqCst);
    }
    let name = match admin::create_database(&admin_url) {
        Ok(name) => name,
        Err(e) => {
            if on_shared_cluster {
                shared::LIVE.fetch_sub(1, Ordering::SeqCst);
            }
            return Err(e);
        }
    };
    let url = admin::with_database(&admin_url, &name);
    Ok(Some(TestDatabase {
        url,
        name,
        admin_url,
        on_shared_cluster,
    }))
}
