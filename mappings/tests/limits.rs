//! Every limit stops a runaway script promptly with a clear error.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, Limit, Limits, MappingEngine, MappingError};

/// The error that stopped `script`. What stopped it is the error's kind; a limit that failed to
/// stop a script would hang the test until nextest's `terminate-after` (.config/nextest.toml).
fn run_limited(limits: Limits, script: &str) -> MappingError {
    let engine = MappingEngine::new(limits).unwrap();
    err_of(eval_script(&engine, script))
}

#[test]
fn infinite_loop_hits_the_wall_clock_budget() {
    let limits = Limits {
        max_operations: u64::MAX,
        timeout_ms: 100,
        ..Limits::default()
    };
    let error = run_limited(limits, "let x = 0;\nloop { x += 1; }");
    assert_eq!(error.kind, ErrorKind::Timeout, "{error}");
    assert!(error.message.contains("100 ms"), "{error}");
    assert_eq!(error.line, Some(2), "points into the loop: {error}");
}

#[test]
fn infinite_loop_hits_the_operation_limit() {
    let limits = Limits {
        max_operations: 50_000,
        timeout_ms: 60_000,
        ..Limits::default()
    };
    let error = run_limited(limits, "loop {}");
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::Operations), "{error}");
    assert_eq!(error.limit, Some(Limit::Operations));
    assert!(error.message.contains("max_operations"), "{error}");
}

#[test]
fn infinite_loop_with_default_limits_is_stopped() {
    let error = run_limited(Limits::default(), "loop {}");
    assert!(
        matches!(
            error.kind,
            ErrorKind::Timeout | ErrorKind::LimitExceeded(Limit::Operations)
        ),
        "{error}"
    );
}

#[test]
fn deep_recursion_hits_call_levels() {
    let error = run_limited(Limits::default(), "fn down(n) { down(n + 1) }\ndown(0)");
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::CallLevels), "{error}");
    assert!(error.message.contains("max_call_levels"), "{error}");
}

#[test]
fn highest_allowed_call_depth_fits_a_worker_thread_stack() {
    // Tokio's blocking threads and test threads have 2 MiB stacks; the maximum accepted
    // max_call_levels must not overflow them, even in debug builds.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let limits = Limits {
                max_call_levels: 64,
                ..Limits::default()
            };
            run_limited(
                limits,
                "fn down(n) { let a = [n, #{ x: n }]; down(n + 1) + a.len() }\ndown(0)",
            )
        })
        .unwrap();
    let error = handle.join().unwrap();
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::CallLevels), "{error}");
}

#[test]
fn hundred_megabyte_string_is_refused() {
    let error = run_limited(
        Limits::default(),
        "let s = \"0123456789\";\nwhile s.len() < 100_000_000 { s += s; }\ns",
    );
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::StringSize), "{error}");
    assert_eq!(error.line, Some(2));
    let error = run_limited(Limits::default(), r#"let s = "x".pad(100_000_000, "y"); #{}"#);
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::StringSize), "{error}");
}

#[test]
fn huge_array_is_refused() {
    let error = run_limited(Limits::default(), "let a = [];\na.pad(50_000_000, 0);");
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::ArraySize), "{error}");
    let error = run_limited(Limits::default(), "let a = [1];\nloop { a += a; }");
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::ArraySize), "{error}");
}

#[test]
fn huge_map_is_refused() {
    let limits = Limits {
        max_map_size: 1_000,
        timeout_ms: 60_000,
        ..Limits::default()
    };
    let error = run_limited(
        limits.clone(),
        "let m = #{};\nfor i in 0..5000 { m[`k${i}`] = i; }\n#{ attributes: m }",
    );
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::MapSize), "{error}");
    let error = run_limited(
        limits,
        "let m = #{};\nfor i in 0..5000 { let n = #{}; n[`k${i}`] = i; m.mixin(n); }",
    );
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::MapSize), "{error}");
}

#[test]
fn deeply_nested_expression_is_refused_at_compile_time() {
    let engine = MappingEngine::default();
    let script = format!("let x = {}1{};", "(".repeat(500), ")".repeat(500));
    let error = engine.compile_check("deep", &script).unwrap_err();
    assert_eq!(
        error.kind,
        ErrorKind::LimitExceeded(Limit::ExpressionDepth),
        "{error}"
    );
    assert_eq!(error.line, Some(1));
}

#[test]
fn zero_limits_are_rejected() {
    let invalid = MappingEngine::new(Limits {
        max_operations: 0,
        ..Limits::default()
    })
    .unwrap_err();
    assert_eq!(invalid.field, "max_operations");
    let invalid = MappingEngine::new(Limits {
        timeout_ms: 0,
        ..Limits::default()
    })
    .unwrap_err();
    assert_eq!(invalid.field, "timeout_ms");
    assert!(
        Limits {
            max_call_levels: 65,
            ..Limits::default()
        }
        .validate()
        .is_err()
    );
}

#[test]
fn limits_deserialize_with_defaults_and_reject_unknown_fields() {
    let limits: Limits = serde_json::from_str(r#"{"max_operations": 5000, "timeout_ms": 50}"#).unwrap();
    assert_eq!(limits.max_operations, 5000);
    assert_eq!(limits.timeout_ms, 50);
    assert_eq!(limits.max_call_levels, Limits::default().max_call_levels);
    assert!(serde_json::from_str::<Limits>(r#"{"timeout": 5}"#).is_err());
}

#[test]
fn server_stays_usable_after_a_runaway_script() {
    let engine = MappingEngine::new(Limits {
        timeout_ms: 50,
        ..Limits::default()
    })
    .unwrap();
    assert!(eval_script(&engine, "loop {}").result.is_err());
    let props = mapped(eval_script(&engine, r#"#{ name: "fine" }"#));
    assert_eq!(props.name.as_deref(), Some("fine"));
}
