//! Errors carry the mapping name, kind, line and column.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, MappingEngine};

#[test]
fn syntax_error_has_line_and_column() {
    let engine = MappingEngine::default();
    let error = engine
        .compile_check("broken", "let a = 1;\nlet b = ;\n")
        .unwrap_err();
    assert_eq!(error.kind, ErrorKind::Syntax);
    assert_eq!(error.mapping, "broken");
    assert_eq!(error.line, Some(2));
    assert_eq!(error.column, Some(9));
    assert!(
        error
            .to_string()
            .starts_with("property mapping 'broken' (line 2, column 9): "),
        "{error}"
    );
}

#[test]
fn unknown_variable_is_a_compile_error_with_position() {
    let engine = MappingEngine::default();
    let error = engine.compile_check("typo", "#{ email: inof.mail }").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Syntax);
    assert!(error.message.contains("unknown variable 'inof'"), "{error}");
    assert_eq!((error.line, error.column), (Some(1), Some(11)));
    // All context variables are known.
    engine
        .compile_check(
            "ok",
            "[info, groups, claims, source, properties, user, request, group]",
        )
        .unwrap();
}

#[test]
fn variable_of_the_other_kind_fails_at_run_time() {
    let engine = MappingEngine::default();
    let error = err_of(run_group(
        &engine,
        &[("g", "#{ name: info.displayName }")],
        graph_group(SG_RETAIL, "x", true, &[]),
    ));
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert!(error.message.contains("'info'"), "{error}");
    assert_eq!((error.line, error.column), (Some(1), Some(10)));
}

#[test]
fn runtime_errors_have_line_and_column() {
    let engine = MappingEngine::default();
    let error = err_of(eval_script(&engine, "let x = 1;\nlet y = x / 0;\n#{}"));
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert_eq!(error.line, Some(2), "{error}");
    assert!(error.column.is_some());

    let error = err_of(eval_script(&engine, "\n\nthrow \"custom failure\";"));
    assert_eq!(error.message, "custom failure");
    assert_eq!((error.line, error.column), (Some(3), Some(1)));

    let error = err_of(eval_script(&engine, "info.businessPhones[7]"));
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert!(error.message.to_lowercase().contains("out of bounds"), "{error}");

    let error = err_of(eval_script(&engine, "no_such_function(1)"));
    assert!(error.message.contains("no_such_function"), "{error}");
}

#[test]
fn errors_inside_functions_point_at_the_failing_line() {
    let engine = MappingEngine::default();
    let script = "fn pick(list) {\n    list[10]\n}\n#{ name: pick([]) }";
    let error = err_of(eval_script(&engine, script));
    assert_eq!(error.line, Some(2), "{error}");
}

#[test]
fn constants_cannot_be_modified() {
    let engine = MappingEngine::default();
    for script in [
        "info.mail = \"x\"; #{}",
        "groups.clear(); #{}",
        "groups[0].id = \"x\"; #{}",
        "info = 1; #{}",
    ] {
        let error = err_of(eval_script(&engine, script));
        assert_eq!(error.kind, ErrorKind::Runtime, "{script}: {error}");
    }
}

#[test]
fn compile_check_accepts_valid_scripts_and_caches_them() {
    let engine = MappingEngine::default();
    engine
        .compile_check("ok", r#"#{ username: lower(info.userPrincipalName) }"#)
        .unwrap();
    engine
        .compile_check("ok again", r#"#{ username: lower(info.userPrincipalName) }"#)
        .unwrap();
    assert_eq!(engine.cached_scripts(), 1);
}

#[test]
fn edited_script_takes_effect_without_invalidation() {
    let engine = MappingEngine::default();
    let first = mapped(eval_script(&engine, r#"#{ name: "v1" }"#));
    let second = mapped(eval_script(&engine, r#"#{ name: "v2" }"#));
    assert_eq!(
        (first.name.as_deref(), second.name.as_deref()),
        (Some("v1"), Some("v2"))
    );
}
