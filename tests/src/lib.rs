//! Test support for Gatehouse: [`TestApp`] (the real application in-process, on a fresh SQLite
//! or PostgreSQL database), [`TestServer`] (the same on a real loopback listener), the throwaway
//! PostgreSQL helper ([`pg`]) and the [`both_backends!`] macro that runs a test on each backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod app;
pub mod browser;
pub mod entra;
pub mod entra_sim;
pub mod load;
pub mod pg;
pub mod server;
pub mod web;

pub use app::{Backend, TestApp, TestResponse};
pub use server::TestServer;

/// Reports that a test did not run because something optional is missing (`what`: `authlib`, …).
/// Only for checks that are not PostgreSQL: a PostgreSQL case is skipped at build time instead
/// (see [`needs_postgres!`]), so that nextest counts it.
pub fn skipped(what: &str, test: &str) {
    eprintln!("SKIPPED {test}: {what} not available");
}

/// True when the testkit was built on a machine without PostgreSQL, so that every PostgreSQL case
/// is ignored (see `build.rs`).
pub const POSTGRES_SKIPPED: bool = cfg!(gatehouse_no_postgres);

/// Wraps a PostgreSQL test case. When the testkit was built without PostgreSQL (no
/// `GATEHOUSE_TEST_DATABASE_URL`, no `initdb`/`pg_ctl`, no `GATEHOUSE_REQUIRE_POSTGRES=1`; see
/// `build.rs`), the case is marked `#[ignore]` and nextest counts it as skipped. Otherwise it runs,
/// and fails when it cannot get a database: it never passes without touching PostgreSQL.
///
/// ```ignore
/// gatehouse_testkit::needs_postgres! {
///     #[actix_web::test]
///     async fn postgres() { /* ... */ }
/// }
/// ```
#[cfg(gatehouse_no_postgres)]
#[macro_export]
macro_rules! needs_postgres {
    ($($item:tt)*) => {
        #[ignore = "no PostgreSQL when the testkit was built: set GATEHOUSE_TEST_DATABASE_URL or install initdb/pg_ctl, then `touch tests/build.rs`"]
        $($item)*
    };
}

/// See the other definition: PostgreSQL was there at build time, so the case runs.
#[cfg(not(gatehouse_no_postgres))]
#[macro_export]
macro_rules! needs_postgres {
    ($($item:tt)*) => {
        $($item)*
    };
}

/// Defines a test module with one `sqlite` and one `postgres` case running the same body against
/// a fresh [`TestApp`]. The PostgreSQL case is skipped as [`needs_postgres!`] says, never silently.
///
/// ```ignore
/// both_backends! {
///     async fn lists_users(app) {
///         let res = app.get("/api/v3/core/users/").await;
///         assert_eq!(res.status, 200);
///     }
/// }
/// ```
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* async fn $name:ident($app:ident) $body:block) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::TestApp) $body

            #[actix_web::test]
            async fn sqlite() {
                run($crate::TestApp::start($crate::Backend::Sqlite).await.expect("SQLite is always available")).await
            }

            $crate::needs_postgres! {
                #[actix_web::test]
                async fn postgres() {
                    run($crate::TestApp::start($crate::Backend::Postgres).await.expect("PostgreSQL test app")).await
                }
            }
        }
    };
}
