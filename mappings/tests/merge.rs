//! Merge rules: order, scalars, attributes deep merge, groups replace, `()` removal, skip.

use crate::common::*;
use gatehouse_mappings::{GroupOutcome, MappingEngine, UserOutcome, UserType};
use serde_json::json;

#[test]
fn mappings_run_in_order_and_see_earlier_results() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[
            (
                "b first",
                r#"#{ username: "from-b", attributes: #{ seen: properties.username } }"#,
            ),
            ("a second", r#"#{ name: properties.username + "!" }"#),
        ],
        adele(),
    ));
    assert_eq!(props.username.as_deref(), Some("from-b"));
    assert_eq!(
        props.name.as_deref(),
        Some("from-b!"),
        "the second mapping saw the first one's result"
    );
    assert_eq!(
        props.attributes["seen"],
        json!("AdeleV@contoso.onmicrosoft.com"),
        "first saw the base"
    );
}

#[test]
fn scalars_replace_and_untouched_keys_stay() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[(
            "m",
            r#"#{ email: "adele@contoso.com", is_active: false, path: "users/entra", type: "internal" }"#,
        )],
        adele(),
    ));
    assert_eq!(props.email.as_deref(), Some("adele@contoso.com"));
    assert_eq!(props.is_active, Some(false));
    assert_eq!(props.path.as_deref(), Some("users/entra"));
    assert_eq!(props.user_type, Some(UserType::Internal));
    assert_eq!(props.name.as_deref(), Some("Adele Vance"), "base value kept");
    assert_eq!(props.username.as_deref(), Some("AdeleV@contoso.onmicrosoft.com"));
}

#[test]
fn attributes_deep_merge_and_unit_removes_nested_keys() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[
            (
                "1",
                r#"#{ attributes: #{ org: #{ dept: "Retail", cost: 42, tags: ["a"] }, keep: true } }"#,
            ),
            (
                "2",
                r#"#{ attributes: #{ org: #{ dept: "Sales", cost: (), tags: ["b"] }, extra: 1.5 } }"#,
            ),
        ],
        adele(),
    ));
    assert_eq!(
        serde_json::Value::Object(props.attributes),
        json!({"org": {"dept": "Sales", "tags": ["b"]}, "keep": true, "extra": 1.5})
    );
}

#[test]
fn groups_replace_the_set_and_are_deduplicated() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[
            ("1", r#"#{ groups: ["x", "y", "x"] }"#),
            ("2", r#"#{ groups: properties.groups + ["z"] }"#),
        ],
        adele(),
    ));
    assert_eq!(props.groups, Some(vec!["x".into(), "y".into(), "z".into()]));
}

#[test]
fn replacing_the_base_groups_keeps_the_script_order_whatever_the_base_had() {
    // The merge reuses the base list's strings where ids match: the result must still follow
    // the script's order, drop repeats, and include ids the base never had.
    let engine = MappingEngine::default();
    let context = user_context(adele());
    let base_ids = base(&context.info, &context.groups).groups.unwrap_or_default();
    assert!(base_ids.len() >= 2, "the fixture has groups");
    let props = mapped(run_user(
        &engine,
        &[(
            "1",
            r#"let ids = groups.list_pluck("id"); #{ groups: ["new"] + [ids[1], ids[0], ids[1], "new", ids[0]] }"#,
        )],
        adele(),
    ));
    assert_eq!(
        props.groups,
        Some(vec!["new".into(), base_ids[1].clone(), base_ids[0].clone()])
    );
}

#[test]
fn a_filtered_subset_of_the_base_groups_keeps_its_order() {
    let engine = MappingEngine::default();
    let context = user_context(adele());
    let base_ids = base(&context.info, &context.groups).groups.unwrap_or_default();
    let props = mapped(run_user(
        &engine,
        &[(
            "1",
            r#"let ids = groups.list_pluck("id"); #{ groups: [ids[0], ids[-1], ids[0]] }"#,
        )],
        adele(),
    ));
    let expected = match (base_ids.first(), base_ids.last()) {
        (Some(first), Some(last)) if first != last => vec![first.clone(), last.clone()],
        _ => panic!("the fixture needs two groups or more"),
    };
    assert_eq!(props.groups, Some(expected));
}

#[test]
fn a_key_set_to_unit_removes_it() {
    let engine = MappingEngine::default();
    let props = mapped(run_user(
        &engine,
        &[("1", r#"#{ email: (), groups: (), attributes: () }"#)],
        adele(),
    ));
    assert_eq!(props.email, None);
    assert_eq!(props.groups, None);
    assert!(props.attributes.is_empty());
    assert_eq!(props.username.as_deref(), Some("AdeleV@contoso.onmicrosoft.com"));
}

#[test]
fn unit_result_changes_nothing_for_users() {
    let engine = MappingEngine::default();
    let context = user_context(adele());
    let expected = base(&context.info, &context.groups);
    let props = mapped(run_user(
        &engine,
        &[("noop", "()"), ("if", "if false { #{ name: \"x\" } }")],
        adele(),
    ));
    assert_eq!(props, expected);
}

#[test]
fn deny_stops_evaluation_with_message_and_mapping_name() {
    let engine = MappingEngine::default();
    let evaluation = run_user(
        &engine,
        &[
            ("first", r#"log("before"); #{ name: "x" }"#),
            (
                "gate",
                r#"deny("Only Retail staff may sign in here."); #{ name: "never" }"#,
            ),
            ("after", r#"log("must not run"); #{}"#),
        ],
        adele(),
    );
    match evaluation.result {
        Ok(UserOutcome::Denied(denial)) => {
            assert_eq!(denial.mapping, "gate");
            assert_eq!(denial.message, "Only Retail staff may sign in here.");
        }
        other => panic!("expected denial, got {other:?}"),
    }
    let messages: Vec<_> = evaluation.logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["before"]);
}

#[test]
fn deny_cannot_be_caught_by_try_catch() {
    let engine = MappingEngine::default();
    let evaluation = eval_script(
        &engine,
        r#"try { deny("no") } catch (e) { }; #{ name: "escaped" }"#,
    );
    assert!(
        matches!(evaluation.result, Ok(UserOutcome::Denied(ref d)) if d.message == "no"),
        "{:?}",
        evaluation.result
    );
}

#[test]
fn group_mapping_unit_skips_the_group() {
    let engine = MappingEngine::default();
    let group = graph_group(M365_TEAM, "Sample Team Site", false, &["Unified"]);
    let evaluation = run_group(
        &engine,
        &[
            (
                "only security",
                "if group.securityEnabled != true { return (); } #{}",
            ),
            ("later", "#{ name: \"x\" }"),
        ],
        group,
    );
    match evaluation.result {
        Ok(GroupOutcome::Skipped { mapping }) => assert_eq!(mapping, "only security"),
        other => panic!("expected skip, got {other:?}"),
    }
}

#[test]
fn group_mapping_merges_name_attributes_superuser() {
    let engine = MappingEngine::default();
    let group = graph_group(SG_RETAIL, "SG-Retail", true, &[]);
    let evaluation = run_group(
        &engine,
        &[
            ("1", r#"#{ name: "retail", attributes: #{ entra_id: group.id } }"#),
            (
                "2",
                r#"#{ is_superuser: properties.name == "retail", attributes: #{ n: 1 } }"#,
            ),
        ],
        group,
    );
    match evaluation.result {
        Ok(GroupOutcome::Mapped(props)) => {
            assert_eq!(props.name.as_deref(), Some("retail"));
            assert_eq!(props.is_superuser, Some(true));
            assert_eq!(
                serde_json::Value::Object(props.attributes),
                json!({"entra_id": SG_RETAIL, "n": 1})
            );
        }
        other => panic!("expected mapped, got {other:?}"),
    }
}

#[test]
fn group_deny_is_a_denial() {
    let engine = MappingEngine::default();
    let evaluation = run_group(
        &engine,
        &[("g", r#"deny("blocked group")"#)],
        graph_group(SG_RETAIL, "x", true, &[]),
    );
    assert!(
        matches!(evaluation.result, Ok(GroupOutcome::Denied(ref d)) if d.mapping == "g" && d.message == "blocked group")
    );
}

#[test]
fn return_statement_at_top_level_works() {
    let engine = MappingEngine::default();
    let props = mapped(eval_script(
        &engine,
        r#"if true { return #{ name: "early" }; } #{ name: "late" }"#,
    ));
    assert_eq!(props.name.as_deref(), Some("early"));
}

#[test]
fn script_variables_do_not_leak_between_mappings() {
    let engine = MappingEngine::default();
    let evaluation = run_user(
        &engine,
        &[
            ("1", "let secret = 1; #{}"),
            ("2", "#{ name: secret.to_string() }"),
        ],
        adele(),
    );
    let error = err_of(evaluation);
    assert_eq!(error.mapping, "2");
    assert!(error.message.contains("secret"), "{error}");
}
