//! Managed Entra ID mappings, each on realistic Entra samples.

use crate::common::*;
use gatehouse_mappings::{
    GroupOutcome, ManagedMapping, MappingEngine, MappingKind, UserOutcome, UserType, managed_mappings,
};
use serde_json::json;

fn managed(name: &str) -> &'static ManagedMapping {
    managed_mappings()
        .iter()
        .find(|m| m.name == name)
        .unwrap_or_else(|| panic!("no managed mapping {name}"))
}

fn run_managed(
    name: &str,
    info: serde_json::Map<String, serde_json::Value>,
) -> gatehouse_mappings::UserProperties {
    let mapping = managed(name);
    assert_eq!(mapping.kind, MappingKind::User);
    mapped(run_user(
        &MappingEngine::default(),
        &[(mapping.name, mapping.expression)],
        info,
    ))
}

#[test]
fn all_managed_mappings_compile_and_are_unique() {
    let engine = MappingEngine::default();
    let mut names = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for mapping in managed_mappings() {
        engine.compile_check(mapping.name, mapping.expression).unwrap();
        assert!(
            names.insert(mapping.name) && ids.insert(mapping.managed),
            "{} duplicated",
            mapping.name
        );
        assert!(mapping.name.starts_with("Entra ID: "));
        assert!(!mapping.description.is_empty());
    }
    assert!(managed_mappings().len() >= 3);
}

#[test]
fn username_from_upn_local_part() {
    let name = "Entra ID: username from UPN local part";
    assert_eq!(run_managed(name, adele()).username.as_deref(), Some("adelev"));
    assert_eq!(
        run_managed(name, guest()).username.as_deref(),
        Some("gizmo2025_protonmail.com")
    );
    let mut no_upn = adele();
    no_upn.insert("userPrincipalName".into(), serde_json::Value::Null);
    let context = user_context(no_upn);
    let mut start = base(&context.info, &context.groups);
    start.username = Some("kept".into());
    let mapping = managed(name);
    let props = mapped(MappingEngine::default().evaluate_user(
        &[gatehouse_mappings::Mapping::new(mapping.name, mapping.expression)],
        &mut context.prepare(),
        start,
    ));
    assert_eq!(
        props.username.as_deref(),
        Some("kept"),
        "no UPN in the profile: the username is unchanged"
    );
}

#[test]
fn department_attributes() {
    let name = "Entra ID: department attribute from jobTitle/department";
    let props = run_managed(name, adele());
    assert_eq!(
        serde_json::Value::Object(props.attributes),
        json!({"department": "Retail", "job_title": "Retail Manager"})
    );
    let props = run_managed(name, guest());
    assert!(
        props.attributes.is_empty(),
        "guest has neither: {:?}",
        props.attributes
    );
}

#[test]
fn security_groups_only() {
    let props = run_managed("Entra ID: groups only security-enabled", adele());
    assert_eq!(
        props.groups,
        Some(vec![SG_RETAIL.to_owned(), DYN_RETAIL.to_owned()])
    );
}

#[test]
fn guests_are_external() {
    let name = "Entra ID: guest users are external";
    assert_eq!(run_managed(name, guest()).user_type, Some(UserType::External));
    assert_eq!(run_managed(name, adele()).user_type, Some(UserType::Internal));
    let mut guest_without_type = guest();
    guest_without_type.remove("userType");
    assert_eq!(
        run_managed(name, guest_without_type).user_type,
        Some(UserType::External),
        "#EXT# in the UPN"
    );
}

#[test]
fn disabled_accounts_inactive() {
    let name = "Entra ID: disabled accounts are inactive";
    assert_eq!(run_managed(name, adele()).is_active, Some(true));
    let mut disabled = adele();
    disabled.insert("accountEnabled".into(), json!(false));
    assert_eq!(run_managed(name, disabled).is_active, Some(false));
    assert_eq!(
        run_managed(name, guest()).is_active,
        None,
        "not selected: unchanged"
    );
}

#[test]
fn group_attributes() {
    let mapping = managed("Entra ID: group attributes from Graph");
    assert_eq!(mapping.kind, MappingKind::Group);
    let engine = MappingEngine::default();
    let cases = [
        (
            graph_group(SG_RETAIL, "SG-Retail", true, &[]),
            "security",
            json!(null),
        ),
        (
            graph_group(M365_TEAM, "Sample Team Site", false, &["Unified"]),
            "microsoft365",
            json!("SampleTeamSite@contoso.onmicrosoft.com"),
        ),
        (
            graph_group(DYN_RETAIL, "Retail (dynamic)", true, &["DynamicMembership"]),
            "dynamic",
            json!(null),
        ),
    ];
    for (group, kind, mail) in cases {
        let display = group["displayName"].clone();
        match run_group(&engine, &[(mapping.name, mapping.expression)], group).result {
            Ok(GroupOutcome::Mapped(props)) => {
                assert_eq!(props.name.as_ref().map(|n| json!(n)), Some(display));
                assert_eq!(props.attributes["entra"]["kind"], kind);
                assert_eq!(props.attributes["entra"]["mail"], mail);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn the_managed_user_mappings_together() {
    let engine = MappingEngine::default();
    let user_mappings: Vec<(&str, &str)> = managed_mappings()
        .iter()
        .filter(|m| m.kind == MappingKind::User)
        .map(|m| (m.name, m.expression))
        .collect();
    match run_user(&engine, &user_mappings, guest()).result {
        Ok(UserOutcome::Mapped(props)) => {
            assert_eq!(props.username.as_deref(), Some("gizmo2025_protonmail.com"));
            assert_eq!(props.user_type, Some(UserType::External));
            assert_eq!(props.email.as_deref(), Some("Gizmo2025@protonmail.com"));
        }
        other => panic!("{other:?}"),
    }
}
