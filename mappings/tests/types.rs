//! Type checks on returned properties.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, MappingEngine};

fn type_error(script: &str) -> gatehouse_mappings::MappingError {
    let engine = MappingEngine::default();
    let error = err_of(run_user(&engine, &[("typed", script)], adele()));
    assert_eq!(error.kind, ErrorKind::Type, "{error}");
    assert_eq!(error.mapping, "typed");
    error
}

#[test]
fn wrong_user_property_types_name_the_key() {
    for (script, key) in [
        ("#{ username: 42 }", "username"),
        (r#"#{ username: "" }"#, "username"),
        (r#"#{ username: "   " }"#, "username"),
        ("#{ name: true }", "name"),
        ("#{ email: [] }", "email"),
        (r#"#{ is_active: "yes" }"#, "is_active"),
        ("#{ path: 1 }", "path"),
        (r#"#{ type: "guest" }"#, "type"),
        (r#"#{ attributes: "x" }"#, "attributes"),
        (r#"#{ attributes: #{ f: Fn("lower") } }"#, "attributes"),
        (r#"#{ groups: "g1" }"#, "groups"),
        (r#"#{ groups: ["g1", 2] }"#, "groups"),
        (r#"#{ groups: [""] }"#, "groups"),
    ] {
        let error = type_error(script);
        assert_eq!(error.key.as_deref(), Some(key), "{script}: {error}");
        assert!(
            error.message.contains(key),
            "{script}: message names the key: {error}"
        );
    }
}

#[test]
fn unknown_keys_are_rejected_by_name() {
    let error = type_error(r#"#{ usename: "typo" }"#);
    assert_eq!(error.key.as_deref(), Some("usename"));
    assert!(error.message.contains("unknown property 'usename'"), "{error}");
    let engine = MappingEngine::default();
    let group_error = err_of(run_group(
        &engine,
        &[("g", "#{ is_active: true }")],
        graph_group(SG_RETAIL, "x", true, &[]),
    ));
    assert_eq!(
        group_error.key.as_deref(),
        Some("is_active"),
        "is_active is not a group key"
    );
}

#[test]
fn non_map_results_are_type_errors() {
    for script in [r#""adelev""#, "42", "[1, 2]", "true"] {
        let error = type_error(script);
        assert!(error.message.contains("must return a map"), "{script}: {error}");
    }
}

#[test]
fn group_name_must_be_non_empty_and_superuser_bool() {
    let engine = MappingEngine::default();
    for (script, key) in [
        (r#"#{ name: "" }"#, "name"),
        (r#"#{ is_superuser: "true" }"#, "is_superuser"),
    ] {
        let error = err_of(run_group(
            &engine,
            &[("g", script)],
            graph_group(SG_RETAIL, "x", true, &[]),
        ));
        assert_eq!(error.kind, ErrorKind::Type);
        assert_eq!(error.key.as_deref(), Some(key));
    }
}

#[test]
fn empty_user_name_and_email_are_allowed_strings() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[("m", r#"#{ name: "", email: "" }"#)],
        adele(),
    ));
    assert_eq!(props.name.as_deref(), Some(""));
}

#[test]
fn characters_and_integers_convert_in_attributes() {
    let engine = MappingEngine::default();
    let props = mapped(eval_script(
        &engine,
        "#{ attributes: #{ c: 'x', n: 7, nested: [(), 1.5] } }",
    ));
    assert_eq!(props.attributes["c"], "x");
    assert_eq!(props.attributes["n"], 7);
    assert_eq!(props.attributes["nested"], serde_json::json!([null, 1.5]));
}
