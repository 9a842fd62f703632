//! Decides, when the testkit is built, whether this machine can run the PostgreSQL cases.
//!
//! A test cannot mark itself skipped once it runs: it can only pass or fail. So the decision is
//! taken here instead. Without `GATEHOUSE_TEST_DATABASE_URL` and without `initdb`/`pg_ctl`, this
//! sets `cfg(gatehouse_no_postgres)`, and [`needs_postgres!`](../src/lib.rs) marks every
//! PostgreSQL case `#[ignore]`: nextest then counts them as skipped in its summary. A PostgreSQL
//! case that runs and cannot get a database fails. `GATEHOUSE_REQUIRE_POSTGRES=1` (CI) never
//! skips, so a missing server fails the run.

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(gatehouse_no_postgres)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=GATEHOUSE_REQUIRE_POSTGRES");
    if std::env::var("GATEHOUSE_REQUIRE_POSTGRES").as_deref() == Ok("1") {
        // Nothing else matters, so nothing else is watched: CI's per-run database URL (a new port
        // each time) must not rebuild the testkit.
        return;
    }
    println!("cargo::rerun-if-env-changed=GATEHOUSE_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=PATH");
    let lib = Path::new("/usr/lib/postgresql");
    if lib.is_dir() {
        println!("cargo::rerun-if-changed={}", lib.display());
    }
    let configured = std::env::var("GATEHOUSE_TEST_DATABASE_URL").is_ok_and(|u| !u.trim().is_empty());
    if !configured && !has_tools(lib) {
        println!("cargo::rustc-cfg=gatehouse_no_postgres");
        println!(
            "cargo::warning=no PostgreSQL (GATEHOUSE_TEST_DATABASE_URL unset, no initdb/pg_ctl): \
             the PostgreSQL test cases are built as ignored and nextest reports them skipped"
        );
    }
}

/// `initdb` and `pg_ctl` in a PATH directory or in `/usr/lib/postgresql/*/bin`, as the testkit's
/// `pg::cluster` looks for them.
fn has_tools(lib: &Path) -> bool {
    let both = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|dir| both(&dir))
        || std::fs::read_dir(lib)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .any(|e| both(&e.path().join("bin")))
            })
            .unwrap_or(false)
}
