//! The dry-run entry point and its JSON shape.

use crate::common::*;
use gatehouse_mappings::{DryRunRequest, MappingEngine, MappingKind};
use serde_json::{Value, json};

fn dry(script: &str, request: Value) -> Value {
    let request: DryRunRequest = serde_json::from_value(request).unwrap();
    serde_json::to_value(MappingEngine::default().dry_run("test", script, &request)).unwrap()
}

#[test]
fn successful_user_run() {
    let output = dry(
        r#"log("hi"); #{ username: lower(info.userPrincipalName.split("@")[0]) }"#,
        json!({"kind": "user", "context": {"info": Value::Object(adele())}}),
    );
    assert_eq!(
        output,
        json!({
            "successful": true,
            "outcome": "mapped",
            "result": {"username": "adelev", "attributes": {}},
            "logs": [{"mapping": "test", "level": "info", "message": "hi"}]
        })
    );
}

#[test]
fn kind_defaults_to_user_and_properties_seed_the_run() {
    let output = dry(
        r#"#{ name: properties.name + " (Contoso)" }"#,
        json!({"context": {"properties": {"name": "Adele Vance", "groups": ["g1"]}}}),
    );
    assert_eq!(
        output["result"],
        json!({"name": "Adele Vance (Contoso)", "attributes": {}, "groups": ["g1"]})
    );
}

#[test]
fn group_run_mapped_skipped_denied() {
    let group = Value::Object(graph_group(SG_RETAIL, "SG-Retail", true, &[]));
    let context = json!({"kind": "group", "context": {"group": group}});
    assert_eq!(
        dry(r#"#{ name: properties.name.to_lower() }"#, context.clone()),
        json!({"successful": true, "outcome": "mapped", "result": {"name": "sg-retail", "attributes": {}}})
    );
    assert_eq!(
        dry("()", context.clone()),
        json!({"successful": true, "outcome": "skipped"})
    );
    assert_eq!(
        dry(r#"deny("nope")"#, context),
        json!({"successful": true, "outcome": "denied", "message": "nope"})
    );
}

#[test]
fn failed_run_has_message_line_column() {
    let output = dry("let x = 1;\nx.no_such_method()", json!({"context": {}}));
    assert_eq!(output["successful"], json!(false));
    assert_eq!(output["error"]["line"], json!(2));
    assert_eq!(output["error"]["column"], json!(3));
    assert_eq!(output["error"]["kind"], json!("runtime"));
    assert!(
        output["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_method")
    );

    let output = dry("#{ username: }", json!({"context": {}}));
    assert_eq!(output["error"]["kind"], json!("syntax"));
    assert_eq!(output["error"]["line"], json!(1));

    let output = dry("#{ is_active: 1 }", json!({"context": {}}));
    assert_eq!(output["error"]["kind"], json!("type"));
    assert_eq!(output["error"]["key"], json!("is_active"));
    assert_eq!(output["error"]["line"], json!(null));
}

#[test]
fn unknown_context_field_is_reported() {
    let output = dry("#{}", json!({"context": {"inof": {}}}));
    assert_eq!(output["successful"], json!(false));
    assert_eq!(output["error"]["kind"], json!("invalid_context"));
    assert!(output["error"]["message"].as_str().unwrap().contains("inof"));
    let output = dry("#{}", json!({"kind": "group", "context": {"info": {}}}));
    assert_eq!(
        output["error"]["kind"],
        json!("invalid_context"),
        "info is not a group variable"
    );
}

#[test]
fn kind_must_be_user_or_group() {
    assert!(serde_json::from_value::<DryRunRequest>(json!({"kind": "robot"})).is_err());
    assert_eq!(
        serde_json::from_value::<DryRunRequest>(json!({})).unwrap().kind,
        MappingKind::User
    );
}
