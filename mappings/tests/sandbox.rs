//! The sandbox: no eval, no imports, no I/O, output captured.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, MappingEngine};

#[test]
fn eval_is_not_available() {
    let engine = MappingEngine::default();
    for script in [
        r#"eval("1 + 1")"#,
        r#"Fn("eval").call("1")"#,
        r#"call(Fn("eval"), "1")"#,
        r#"let f = Fn("ev" + "al"); f.call("1")"#,
    ] {
        let result = engine
            .compile_check("e", script)
            .and_then(|_| eval_script(&engine, script).result.map(|_| ()));
        let error = result.expect_err(script);
        assert!(error.message.contains("eval"), "{script}: {error}");
    }
}

#[test]
fn imports_are_not_available() {
    let engine = MappingEngine::default();
    for script in [
        r#"import "std" as s;"#,
        r#"import "/etc/passwd" as p; #{}"#,
        "export const x = 1;",
    ] {
        let error = engine.compile_check("i", script).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Syntax, "{script}: {error}");
        assert_eq!(error.line, Some(1));
    }
}

#[test]
fn no_file_network_or_process_functions_exist() {
    let engine = MappingEngine::default();
    for call in [
        r#"open_file("/etc/passwd")"#,
        r#"read_file("/etc/passwd")"#,
        r#"http_get("http://127.0.0.1/")"#,
        r#"system("id")"#,
        r#"exec("id")"#,
        r#"env("HOME")"#,
    ] {
        let error = err_of(eval_script(&engine, call));
        assert_eq!(error.kind, ErrorKind::Runtime, "{call}");
        assert!(error.message.contains("Function not found"), "{call}: {error}");
    }
}

#[test]
fn sleep_is_refused() {
    let engine = MappingEngine::default();
    for call in ["sleep(3600)", "sleep(0.5)"] {
        // Had `sleep(3600)` run, the test would hang until nextest's terminate-after stops it.
        let error = err_of(eval_script(&engine, call));
        assert!(
            error.message.contains("sleep() is not available"),
            "{call}: {error}"
        );
    }
}

#[test]
fn print_and_debug_go_to_the_evaluation_log() {
    let engine = MappingEngine::default();
    let evaluation = eval_script(&engine, r#"print("hello"); #{}"#);
    assert_eq!(evaluation.logs.len(), 1);
    assert_eq!(evaluation.logs[0].message, "hello");
}

#[test]
fn scripts_cannot_change_context_or_properties_for_later_mappings() {
    // Rhai accepts adding keys to constant maps (`const m = #{}; m.x = 1`); every mapping must
    // still see the original context and only merged results in `properties`.
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[
            (
                "tamper",
                r#"info.injected = 1; claims.x = 1; properties.attributes.x = 1;
                   try { properties.email = 42; } catch {}
                   try { groups[0].injected = 1; } catch {}
                   try { groups[0] = 1; } catch {}
                   #{}"#,
            ),
            (
                "observe",
                r#"#{ attributes: #{ info: "injected" in info, claims: "x" in claims, group: "injected" in groups[0],
                    first: type_of(groups[0]), email: properties.email, attrs: properties.attributes.len() } }"#,
            ),
        ],
        adele(),
    ));
    assert_eq!(
        serde_json::Value::Object(props.attributes),
        serde_json::json!({"info": false, "claims": false, "group": false, "first": "object",
                           "email": "AdeleV@contoso.onmicrosoft.com", "attrs": 0})
    );
    assert_eq!(
        props.email.as_deref(),
        Some("AdeleV@contoso.onmicrosoft.com"),
        "mutation is not a merge"
    );
}

#[test]
fn closures_capturing_context_do_not_change_it_for_later_mappings() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[
            (
                "capture",
                "let f = || groups.len(); let g = groups; g.clear(); #{ attributes: #{ n: f.call() } }",
            ),
            ("after", "#{ attributes: #{ m: groups.len() } }"),
        ],
        adele(),
    ));
    assert_eq!(props.attributes["n"], 3);
    assert_eq!(props.attributes["m"], 3);
}
