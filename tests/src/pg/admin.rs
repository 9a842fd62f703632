//! The admin side: one cached connection per process to a server's admin database, creating and
//! dropping test databases, and database URL rewriting.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::dsl::sql;
use diesel::sql_types::Bool;
use diesel::{Connection, PgConnection, RunQueryDsl};

use super::PgError;

const ATTEMPTS: u32 = 4;

/// An open connection to one server's admin database, reused by every create/drop of this process.
struct Admin {
    url: String,
    conn: PgConnection,
    /// PostgreSQL 15+: `CREATE DATABASE … STRATEGY = FILE_COPY` is 2-3x faster than the default
    /// (WAL_LOG) for a small template when, as here, there is little else in shared buffers.
    file_copy: bool,
}

static ADMIN: Mutex<Option<Admin>> = Mutex::new(None);

fn connect(admin_url: &str) -> Result<Admin, String> {
    let mut conn = PgConnection::establish(&with_connect_timeout(admin_url))
        .map_err(|e| format!("cannot connect to {admin_url}: {e}"))?;
    let file_copy = diesel::select(sql::<Bool>(
        "current_setting('server_version_num')::int >= 150000",
    ))
    .get_result(&mut conn)
    .map_err(|e| format!("server version on {admin_url}: {e}"))?;
    Ok(Admin {
        url: admin_url.to_string(),
        conn,
        file_copy,
    })
}

/// Runs `sql` on the admin database, reconnecting and retrying a few times: another process may
/// be copying the template at the same moment, or the cached connection may have gone stale.
fn execute(admin_url: &str, sql: impl Fn(&Admin) -> String) -> Result<(), PgError> {
    let mut guard = ADMIN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            thread::sleep(Duration::from_millis(100 << attempt));
        }
        if guard.as_ref().is_none_or(|admin| admin.url != admin_url) {
            match connect(admin_url) {
                Ok(admin) => *guard = Some(admin),
                Err(e) => {
                    last_error = e;
                    continue;
                }
            }
        }
        let Some(admin) = guard.as_mut() else { continue };
        let statement = sql(admin);
        match admin.conn.batch_execute(&statement) {
            Ok(()) => return Ok(()),
            Err(e) => {
                last_error = format!("`{statement}` on {admin_url}: {e}");
                *guard = None;
            }
        }
    }
    Err(PgError::failed(last_error))
}

/// `CREATE DATABASE` under a fresh name; returns the name.
pub(crate) fn create_database(admin_url: &str) -> Result<String, PgError> {
    let name = unique_name();
    execute(admin_url, |admin| {
        let strategy = if admin.file_copy {
            " STRATEGY = FILE_COPY"
        } else {
            ""
        };
        format!("CREATE DATABASE \"{name}\"{strategy}")
    })?;
    Ok(name)
}

/// `DROP DATABASE … WITH (FORCE)`, disconnecting whoever still uses it.
pub(crate) fn drop_database(admin_url: &str, name: &str) -> Result<(), PgError> {
    execute(admin_url, |_| {
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
    })
}

/// `gh_test_<pid>_<random>`: unique across the processes and threads of a run, and the pid says
/// which test process leaked a database if one ever does.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    format!("gh_test_{}_{:016x}", std::process::id(), hasher.finish())
}

/// The same URL with its database (path) replaced by `database`; query parameters are kept.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => url.split_at(i),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..authority_end])
}

/// Adds `connect_timeout` so an unreachable server cannot hang a test.
fn with_connect_timeout(url: &str) -> String {
    if url.contains("connect_timeout=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&connect_timeout=10")
    } else {
        format!("{url}?connect_timeout=10")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5433/postgres", "gh_x"),
            "postgres://postgres@127.0.0.1:5433/gh_x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/admin?sslmode=disable", "gh_x"),
            "postgresql://u:p@h/gh_x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "gh_x"), "postgres://u@h:1/gh_x");
        assert_eq!(
            with_database("postgres://u@h:1?a=b", "gh_x"),
            "postgres://u@h:1/gh_x?a=b"
        );
    }

    #[test]
    fn names_are_unique_and_valid_identifiers() {
        let a = unique_name();
        let b = unique_name();
        assert_ne!(a, b);
        assert!(a.len() < 63, "PostgreSQL truncates identifiers at 63 bytes: {a}");
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        );
    }

    #[test]
    fn connect_timeout_is_added_once() {
        assert_eq!(
            with_connect_timeout("postgres://h/d"),
            "postgres://h/d?connect_timeout=10"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/d?x=1"),
            "postgres://h/d?x=1&connect_timeout=10"
        );
        assert_eq!(
            with_connect_timeout("postgres://h/d?connect_timeout=3"),
            "postgres://h/d?connect_timeout=3"
        );
    }
}
