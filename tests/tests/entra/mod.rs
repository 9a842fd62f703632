//! Entra ID sign-in end to end: Gatehouse and the Entra simulator over real HTTP, on SQLite and
//! PostgreSQL.

mod groups;
mod login;
mod mappings;
mod matching;
pub mod negative;
mod source_api;
mod source_stage;
mod sync_edges;
mod takeover;

/// Defines `sqlite` and `postgres` cases of an async test taking an [`EntraEnv`] built with the
/// given source adjustment.
#[macro_export]
macro_rules! entra_test {
    ($name:ident, |$source:ident| $adjust:block, |$env:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[allow(unused_imports)]
            use gatehouse_testkit::entra::*;
            #[allow(unused_imports)]
            use gatehouse_testkit::entra_sim::fixtures::*;

            async fn run($env: EntraEnv) $body

            async fn start(backend: gatehouse_testkit::Backend) -> Option<EntraEnv> {
                EntraEnv::start(backend, |$source: &mut serde_json::Value| $adjust).await
            }

            #[actix_web::test]
            async fn sqlite() {
                run(start(gatehouse_testkit::Backend::Sqlite).await.expect("sqlite")).await
            }

            gatehouse_testkit::needs_postgres! {
                #[actix_web::test]
                async fn postgres() {
                    run(start(gatehouse_testkit::Backend::Postgres).await.expect("postgres")).await
                }
            }
        }
    };
}
