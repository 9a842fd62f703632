//! Every helper available to mapping authors.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, Limit, LogLevel, MappingEngine};
use serde_json::json;

#[test]
fn case_and_trim() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, r#"lower("AdeleV@Contoso.COM")"#),
        json!("adelev@contoso.com")
    );
    assert_eq!(value_of(&e, r#"upper("Retail")"#), json!("RETAIL"));
    assert_eq!(value_of(&e, r#"trim("  Adele Vance \t")"#), json!("Adele Vance"));
    // Method forms, including Rhai's own to_lower/to_upper; trim returns the trimmed string.
    assert_eq!(value_of(&e, r#"" x ".trim()"#), json!("x"));
    assert_eq!(value_of(&e, "info.displayName.lower()"), json!("adele vance"));
    assert_eq!(value_of(&e, "info.displayName.to_upper()"), json!("ADELE VANCE"));
    // Graph nulls pass through.
    assert_eq!(value_of(&e, "lower(info.mobilePhone)"), json!(null));
    assert_eq!(value_of(&e, "trim(())"), json!(null));
}

#[test]
fn slugify() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, r#"slugify("Équipe Réseau / Paris")"#),
        json!("equipe-reseau-paris")
    );
    assert_eq!(
        value_of(&e, r#"slugify("SG-Retail (EMEA)")"#),
        json!("sg-retail-emea")
    );
    assert_eq!(value_of(&e, "slugify(())"), json!(null));
}

#[test]
fn split_starts_ends_contains() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, r#"split("AdeleV@contoso.onmicrosoft.com", "@")"#),
        json!(["AdeleV", "contoso.onmicrosoft.com"])
    );
    assert_eq!(
        value_of(&e, r#"info.userPrincipalName.split("@")[1]"#),
        json!("contoso.onmicrosoft.com")
    );
    assert_eq!(
        value_of(&e, r#"starts_with(info.displayName, "Adele")"#),
        json!(true)
    );
    assert_eq!(
        value_of(&e, r#"ends_with(info.mail, "@contoso.onmicrosoft.com")"#),
        json!(true)
    );
    assert_eq!(
        value_of(&e, r#"info.mail.ends_with("@fabrikam.com")"#),
        json!(false)
    );
    assert_eq!(
        value_of(&e, r##"contains(info.userPrincipalName, "#EXT#")"##),
        json!(false)
    );
    assert_eq!(
        value_of(&e, r#"info.businessPhones.contains("+1 425 555 0109")"#),
        json!(true)
    );
    assert_eq!(value_of(&e, r#""department" in info"#), json!(true));
}

#[test]
fn list_flatten_has_authentik_semantics() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, r#"list_flatten(["first", "second"])"#),
        json!("first")
    );
    assert_eq!(value_of(&e, "list_flatten([])"), json!(null));
    assert_eq!(value_of(&e, r#"list_flatten("plain")"#), json!("plain"));
    assert_eq!(
        value_of(&e, "list_flatten(info.otherMails) ?? info.mail"),
        json!("AdeleV@contoso.onmicrosoft.com")
    );
}

#[test]
fn regex_match_replace_captures() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(
            &e,
            r#"regex_match(info.userPrincipalName, "@contoso\\.onmicrosoft\\.com$")"#
        ),
        json!(true)
    );
    assert_eq!(value_of(&e, r#"regex_match("SG-Retail", "^GRP-")"#), json!(false));
    assert_eq!(
        value_of(&e, r#"regex_match(info.mobilePhone, ".*")"#),
        json!(false),
        "() never matches"
    );
    assert_eq!(
        value_of(&e, r#"regex_replace("SG-Retail-EMEA", "^SG-", "")"#),
        json!("Retail-EMEA")
    );
    assert_eq!(
        value_of(
            &e,
            r#"regex_replace("Vance, Adele", "^(\\w+), (\\w+)$", "$2 $1")"#
        ),
        json!("Adele Vance")
    );
    assert_eq!(value_of(&e, r#"regex_replace((), "a", "b")"#), json!(null));
    assert_eq!(
        value_of(
            &e,
            r#"regex_captures("AdeleV@contoso.onmicrosoft.com", "^([^@]+)@(?<domain>.+)$")"#
        ),
        json!([
            "AdeleV@contoso.onmicrosoft.com",
            "AdeleV",
            "contoso.onmicrosoft.com"
        ])
    );
    assert_eq!(
        value_of(&e, r#"regex_captures("ab", "(a)(x)?")"#),
        json!(["a", "a", null])
    );
    assert_eq!(value_of(&e, r#"regex_captures("abc", "^z")"#), json!(null));
}

#[test]
fn invalid_and_oversized_patterns_are_clear_errors() {
    let e = MappingEngine::default();
    let error = err_of(eval_script(&e, "\n  regex_match(\"a\", \"(unclosed\")"));
    assert_eq!(error.kind, ErrorKind::Runtime);
    assert!(error.message.contains("invalid regular expression"), "{error}");
    assert_eq!((error.line, error.column), (Some(2), Some(3)));
    let huge = "a".repeat(2_000);
    let error = err_of(eval_script(&e, &format!("regex_match(\"a\", \"{huge}\")")));
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::RegexSize), "{error}");
    let error = err_of(eval_script(&e, r#"regex_match("a", "(a{1000}){1000}")"#));
    assert!(
        error.message.contains("invalid regular expression"),
        "compiled size limit: {error}"
    );
}

#[test]
fn regex_replace_output_is_bounded() {
    let e = MappingEngine::default();
    // Every empty match inserts 1 KiB: 5,000 positions would make 5 MB (> 4 MiB).
    let script = r#"let s = "x"; s.pad(5000, 'x'); let r = "y"; r.pad(1024, 'y'); regex_replace(s, "", r)"#;
    let error = err_of(eval_script(&e, script));
    assert_eq!(error.kind, ErrorKind::LimitExceeded(Limit::StringSize), "{error}");
}

#[test]
fn get_path_follows_maps_arrays_and_dotted_keys() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(
            &e,
            r#"get_path(info, "onPremisesExtensionAttributes.extensionAttribute1")"#
        ),
        json!("cost-center-42")
    );
    assert_eq!(
        value_of(
            &e,
            r#"get_path(info, "onPremisesExtensionAttributes.extensionAttribute9")"#
        ),
        json!(null)
    );
    assert_eq!(value_of(&e, r#"get_path(info, "no.such.path")"#), json!(null));
    assert_eq!(
        value_of(&e, r#"get_path(info, "businessPhones.0")"#),
        json!("+1 425 555 0109")
    );
    assert_eq!(
        value_of(&e, r#"get_path(info, "businessPhones.-1")"#),
        json!("+1 425 555 0109")
    );
    assert_eq!(value_of(&e, r#"get_path(info, "businessPhones.5")"#), json!(null));
    assert_eq!(
        value_of(&e, r#"groups[0].get_path("@odata.type")"#),
        json!("#microsoft.graph.group")
    );
    assert_eq!(
        value_of(&e, r#"get_path(groups, "1.groupTypes.0")"#),
        json!("Unified")
    );
    assert_eq!(value_of(&e, r#"get_path((), "a")"#), json!(null));
}

#[test]
fn list_pluck_and_list_where() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, r#"groups.list_pluck("displayName")"#),
        json!(["SG-Retail", "Sample Team Site", "Retail (dynamic)"])
    );
    assert_eq!(
        value_of(&e, r#"list_pluck(groups, "id", "securityEnabled", true)"#),
        json!([SG_RETAIL, DYN_RETAIL])
    );
    assert_eq!(
        value_of(&e, r#"groups.list_where("mailEnabled", true).list_pluck("name")"#),
        json!(["Sample Team Site"])
    );
    assert_eq!(
        value_of(&e, r#"groups.list_where("mail", ()).len()"#),
        json!(2),
        "missing equals ()"
    );
    assert_eq!(
        value_of(&e, r#"[#{a: 1}, #{a: 1.0}, #{a: "1"}].list_where("a", 1).len()"#),
        json!(2)
    );
}

#[test]
fn log_print_debug_are_collected_with_level_and_mapping() {
    let e = MappingEngine::default();
    let evaluation = run_user(
        &e,
        &[
            (
                "logger",
                r#"log("plain"); log("warning", "careful"); log("error", 42); print("printed"); debug("dbg"); #{}"#,
            ),
            ("second", r#"log("debug", #{ a: 1 }); ()"#),
        ],
        adele(),
    );
    assert!(evaluation.result.is_ok());
    let logs: Vec<_> = evaluation
        .logs
        .iter()
        .map(|l| (l.mapping.as_str(), l.level, l.message.as_str()))
        .collect();
    assert_eq!(
        logs,
        [
            ("logger", LogLevel::Info, "plain"),
            ("logger", LogLevel::Warning, "careful"),
            ("logger", LogLevel::Error, "42"),
            ("logger", LogLevel::Info, "printed"),
            ("logger", LogLevel::Debug, "\"dbg\""),
            ("second", LogLevel::Debug, "#{\"a\": 1}"),
        ]
    );
    let error = err_of(eval_script(&e, r#"log("loud", "x")"#));
    assert!(error.message.contains("unknown log level"), "{error}");
}

#[test]
fn logs_are_capped_and_kept_on_error() {
    let e = MappingEngine::default();
    let evaluation = eval_script(
        &e,
        r#"for i in 0..500 { log("line " + i) } log("x".pad(5000, "x")); throw "boom""#,
    );
    assert!(evaluation.result.is_err());
    assert_eq!(evaluation.logs.len(), 101, "100 entries plus a 'dropped' notice");
    assert!(
        evaluation.logs[100]
            .message
            .contains("401 further log entries were dropped"),
        "{:?}",
        evaluation.logs[100]
    );
}

#[test]
fn deny_without_message_has_a_default() {
    let e = MappingEngine::default();
    let evaluation = eval_script(&e, "deny()");
    assert!(
        matches!(evaluation.result, Ok(gatehouse_mappings::UserOutcome::Denied(ref d)) if d.message == "Access denied.")
    );
}
