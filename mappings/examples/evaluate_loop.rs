//! Runs the benchmark's typical user mapping N times, for instruction counts under callgrind
//! (repeatable even on a busy machine, unlike wall-clock timings).
//!
//! ```text
//! cargo build --profile bench -p gatehouse-mappings --example evaluate_loop
//! valgrind --tool=callgrind --toggle-collect='*evaluate_loop*run_once*' \
//!     --callgrind-out-file=/tmp/cg.out target/release/examples/evaluate_loop 1000
//! ```
//!
//! Only `run_once` is counted, so instructions per evaluation = the total / N. Like the
//! criterion bench, the count leaves out cloning the base properties and dropping the result.
//! A second argument `closures` runs the filter/map closure script instead.

#[path = "../benches/common/mod.rs"]
mod common;

use gatehouse_mappings::{
    Evaluation, Mapping, MappingEngine, PreparedUserContext, UserOutcome, UserProperties,
};
use std::hint::black_box;

/// One evaluation, kept out of line so that callgrind can count exactly this.
#[inline(never)]
fn run_once(
    engine: &MappingEngine,
    mappings: &[Mapping],
    prepared: &mut PreparedUserContext,
    base: UserProperties,
) -> Evaluation<UserOutcome> {
    engine.evaluate_user(mappings, prepared, base)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1_000);
    let script = match args.next().as_deref() {
        Some("closures") => common::WITH_CLOSURES,
        _ => common::TYPICAL,
    };
    let engine = MappingEngine::default();
    let context = common::context();
    let base = common::base(&context);
    let mappings = [Mapping::new("bench", script)];
    let mut prepared = context.prepare();
    // Warm-up outside `run_once`: compiles and caches the AST and the regex, as the criterion
    // bench does before measuring.
    if let Err(error) = engine
        .evaluate_user(&mappings, &mut prepared, base.clone())
        .result
    {
        eprintln!("evaluation failed: {error}");
        std::process::exit(1);
    }
    let bases: Vec<UserProperties> = (0..iterations).map(|_| base.clone()).collect();
    let mut results = Vec::with_capacity(iterations);
    for base in bases {
        results.push(run_once(&engine, &mappings, &mut prepared, black_box(base)));
    }
    black_box(&results);
}
