//! Values are held to their size limits as they grow, not only when the script ends, and one
//! evaluation's values are held to a memory budget: a script that grows a container in a loop
//! stops with the limit's error, not at the operation limit or the wall-clock budget.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, Limit, Limits, MappingEngine, MappingError};

/// Small size limits, and operation and time budgets so large that only a size check can stop
/// the scripts below first.
fn limits() -> Limits {
    Limits {
        max_operations: 3_000_000,
        timeout_ms: 120_000,
        max_array_size: 1_000,
        max_map_size: 1_000,
        max_string_size: 64 * 1024,
        ..Limits::default()
    }
}

fn run(limits: Limits, script: &str) -> MappingError {
    err_of(eval_script(&MappingEngine::new(limits).unwrap(), script))
}

#[track_caller]
fn assert_limit(error: &MappingError, limit: Limit) {
    assert_eq!(error.kind, ErrorKind::LimitExceeded(limit), "{error}");
    assert!(error.message.contains(&limit.to_string()), "{error}");
}

#[test]
fn a_map_grown_by_index_assignment_hits_max_map_size() {
    let error = run(
        limits(),
        "let m = #{}; let i = 0;\nloop { m[`k${i}`] = i; i += 1; }",
    );
    assert_limit(&error, Limit::MapSize);
}

#[test]
fn a_map_grown_by_property_assignment_hits_max_map_size() {
    let error = run(
        limits(),
        "let m = #{}; let i = 0;\nloop { m.x = i; m[`${i}`] = i; i += 1; }",
    );
    assert_limit(&error, Limit::MapSize);
}

#[test]
fn an_array_grown_by_index_assignment_hits_max_array_size() {
    // Each element assignment keeps a copy of an earlier, smaller array.
    let script = "let a = [0, 0, 0, 0]; let i = 0;\nloop { a[i % 4] = [a[(i + 1) % 4], i]; i += 1; }";
    let error = run(limits(), script);
    assert_limit(&error, Limit::ArraySize);
}

#[test]
fn an_array_grown_by_push_into_a_nested_array_hits_max_array_size() {
    let error = run(limits(), "let a = [[]];\nloop { a[0].push(1); }");
    assert_limit(&error, Limit::ArraySize);
}

#[test]
fn nested_arrays_of_arrays_hit_max_array_size() {
    let script = "let outer = [];\nfor i in 0..100 { outer.push([]); }\nloop { for j in 0..100 { outer[j].push([j]); } }";
    let error = run(limits(), script);
    assert_limit(&error, Limit::ArraySize);
}

#[test]
fn a_string_grown_by_plus_equals_hits_max_string_size() {
    let error = run(limits(), "let s = \"\";\nloop { s += \"0123456789abcdef\"; }");
    assert_limit(&error, Limit::StringSize);
}

#[test]
fn strings_in_a_map_grown_by_plus_equals_hit_max_string_size() {
    let error = run(
        limits(),
        "let m = #{a: \"\"};\nloop { m.a += \"0123456789abcdef\"; }",
    );
    assert_limit(&error, Limit::StringSize);
}

#[test]
fn many_large_strings_hit_the_memory_budget() {
    // Every string and the map stay under their own limits; together they exceed the budget.
    let limits = Limits {
        max_map_size: 100_000,
        max_string_size: 64 * 1024 * 1024,
        max_memory_bytes: 4 * 1024 * 1024,
        ..limits()
    };
    let script = "let big = \"x\"; while big.len() < 500000 { big += big; }\nlet m = #{}; let i = 0;\nloop { m[`${i}`] = big + i; i += 1; }";
    let error = run(limits, script);
    assert_limit(&error, Limit::Memory);
}

#[test]
fn ordinary_scripts_with_large_context_are_not_stopped() {
    let limits = Limits {
        max_memory_bytes: 4 * 1024 * 1024,
        timeout_ms: 60_000,
        ..Limits::default()
    };
    let engine = MappingEngine::new(limits).unwrap();
    let script =
        "let m = #{}; for i in 0..5000 { m[`g${i}`] = `group ${i}`; } #{ attributes: #{ count: m.len() } }";
    eval_script(&engine, script).result.unwrap();
}
