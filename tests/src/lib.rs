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

/// Reports that a backend's case did not run (no PostgreSQL could be had).
pub fn skipped(backend: &str, test: &str) {
    eprintln!(
        "SKIPPED {test} on {backend}: no PostgreSQL available (set GATEHOUSE_TEST_DATABASE_URL or install initdb/pg_ctl)"
    );
}

/// Defines a test module with one `sqlite` and one `postgres` case running the same body against
/// a fresh [`TestApp`]. The PostgreSQL case reports itself skipped when no server can be had.
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

            #[actix_web::test]
            async fn postgres() {
                match $crate::TestApp::start($crate::Backend::Postgres).await {
                    Some(app) => run(app).await,
                    None => $crate::skipped("postgres", concat!(module_path!())),
                }
            }
        }
    };
}
