//! Storage: one diesel code path over SQLite (embedded default) and PostgreSQL (scale-out),
//! r2d2 pooling, embedded migrations, and the mapping of database failures to [`StoreError`].
//!
//! Diesel is blocking: [`Db::run`] moves every unit of work onto tokio's blocking pool so the
//! async executor never waits on the database.

pub mod connection;
pub mod connections;
pub mod consents;
pub mod error;
pub mod events;
pub mod flow_states;
pub mod flows;
pub mod group_sync;
pub mod groups;
pub mod ids;
pub mod migrations;
pub mod oauth;
pub mod oauth_states;
pub mod property_mappings;
pub mod providers;
pub mod rate_limits;
pub mod schema;
pub mod sessions;
pub mod signing_keys;
pub mod sources;
pub mod time;
pub mod tokens;
pub mod users;

pub use connection::{Backend, DatabaseUrl, Db, DbConn, DbOptions};
pub use error::StoreError;
pub use ids::{GroupId, UserId};

use diesel::connection::{AnsiTransactionManager, TransactionManager};

/// Runs `$body` with `$c` bound to the backend's own connection. For the few statements the
/// multi-backend layer cannot express (multi-row INSERT, ON CONFLICT): the same diesel DSL is
/// type-checked once per backend.
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Sqlite($c) => $body,
            $crate::db::DbConn::Postgres($c) => $body,
        }
    };
}

/// Rows per multi-row INSERT: far below SQLite's and PostgreSQL's bound-parameter limits.
pub const INSERT_CHUNK: usize = 500;

/// Runs `f` in a write transaction. On SQLite the transaction starts with `BEGIN IMMEDIATE`, so a
/// transaction that reads before it writes takes the write lock up front and waits on
/// `busy_timeout` instead of failing with `SQLITE_BUSY` when it tries to upgrade its lock.
pub fn write_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(inner) => AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?,
        DbConn::Postgres(inner) => AnsiTransactionManager::begin_transaction(inner)?,
    }
    match f(conn) {
        Ok(value) => match <DbConn as TransactionManager<DbConn>>::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                // A failed COMMIT leaves the transaction open on some backends; roll it back so the
                // pooled connection is clean. The commit error is the one worth reporting.
                let _ = <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            let _ = <DbConn as TransactionManager<DbConn>>::rollback_transaction(conn);
            Err(error)
        }
    }
}

pub use connection::MultiBackend;

diesel::define_sql_function! {
    /// SQL `lower()`, the same on both backends for ASCII; used for case-insensitive search.
    fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// A `LIKE` pattern matching `term` anywhere, with `%`, `_` and `\` escaped (use `ESCAPE '\'`).
pub fn like_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// One page of a list: 1-based page number and page size (validated by the API layer).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub number: i64,
    pub size: i64,
}

impl Page {
    pub fn limit(&self) -> i64 {
        self.size
    }

    pub fn offset(&self) -> i64 {
        (self.number - 1).saturating_mul(self.size)
    }
}

/// A list ordering: a field name from the resource's allowed list and a direction.
#[derive(Debug, Clone)]
pub struct Ordering {
    pub field: String,
    pub descending: bool,
}
