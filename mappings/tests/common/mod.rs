//! Fixtures shared by the integration tests: realistic Graph data (entra-protocol.md §6, §7).

use gatehouse_mappings::{
    Evaluation, GroupContext, GroupOutcome, GroupProperties, Mapping, MappingEngine, RequestInfo, SourceInfo,
    UserContext, UserOutcome, UserProperties,
};
use serde_json::{Map, Value, json};

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("expected an object, got {other}"),
    }
}

/// `/me` with `$select` adding department, userType, accountEnabled, otherMails.
pub fn adele() -> Map<String, Value> {
    object(json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
        "businessPhones": ["+1 425 555 0109"],
        "displayName": "Adele Vance",
        "givenName": "Adele",
        "jobTitle": "Retail Manager",
        "mail": "AdeleV@contoso.onmicrosoft.com",
        "mobilePhone": null,
        "officeLocation": "18/2111",
        "preferredLanguage": "en-US",
        "surname": "Vance",
        "userPrincipalName": "AdeleV@contoso.onmicrosoft.com",
        "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
        "department": "Retail",
        "userType": "Member",
        "accountEnabled": true,
        "otherMails": [],
        "onPremisesExtensionAttributes": {"extensionAttribute1": "cost-center-42", "extensionAttribute2": null}
    }))
}

/// A B2B guest (entra-protocol.md §6).
pub fn guest() -> Map<String, Value> {
    object(json!({
        "displayName": "Gizmo",
        "givenName": null,
        "jobTitle": null,
        "mail": "Gizmo2025@protonmail.com",
        "surname": null,
        "userPrincipalName": "Gizmo2025_protonmail.com#EXT#@komanddev.onmicrosoft.com",
        "id": "0b5d3a1e-7c2f-4e8a-9d61-3f0c2b7a9e14",
        "userType": "Guest"
    }))
}

/// A Graph group object in the full shape of a `/me/memberOf` response.
pub fn graph_group(id: &str, display_name: &str, security: bool, types: &[&str]) -> Map<String, Value> {
    let unified = types.contains(&"Unified");
    let mail = if unified {
        Value::from(format!(
            "{}@contoso.onmicrosoft.com",
            display_name.replace(' ', "")
        ))
    } else {
        Value::Null
    };
    let rule = if types.contains(&"DynamicMembership") {
        Value::from("user.department -eq \"Retail\"")
    } else {
        Value::Null
    };
    object(json!({
        "@odata.type": "#microsoft.graph.group",
        "id": id,
        "deletedDateTime": null, "classification": null,
        "createdDateTime": "2022-09-03T03:46:02Z",
        "creationOptions": [], "description": format!("{display_name} members"), "displayName": display_name,
        "expirationDateTime": null, "groupTypes": types, "isAssignableToRole": null,
        "mail": mail, "mailEnabled": unified, "mailNickname": "4091e0b2-1",
        "membershipRule": rule, "membershipRuleProcessingState": null,
        "onPremisesDomainName": null, "onPremisesLastSyncDateTime": null, "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null, "onPremisesSecurityIdentifier": null, "onPremisesSyncEnabled": null,
        "preferredDataLocation": null, "preferredLanguage": null,
        "proxyAddresses": [],
        "renewedDateTime": "2022-09-03T03:46:02Z", "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
        "securityEnabled": security, "securityIdentifier": "S-1-12-1-1983393541-1129044552-3374811044-4052948636",
        "theme": null, "visibility": if unified { Value::from("Public") } else { Value::Null },
        "onPremisesProvisioningErrors": []
    }))
}

pub const SG_RETAIL: &str = "0f2a6c1e-5b3d-4e7f-8a9b-1c2d3e4f5a6b";
pub const M365_TEAM: &str = "76382f05-da48-434b-a487-27c99c1693f1";
pub const DYN_RETAIL: &str = "a1b2c3d4-e5f6-4a5b-8c7d-9e0f1a2b3c4d";

pub fn groups() -> Vec<Map<String, Value>> {
    vec![
        graph_group(SG_RETAIL, "SG-Retail", true, &[]),
        graph_group(M365_TEAM, "Sample Team Site", false, &["Unified"]),
        graph_group(DYN_RETAIL, "Retail (dynamic)", true, &["DynamicMembership"]),
    ]
}

pub fn source() -> SourceInfo {
    SourceInfo {
        slug: "entra".into(),
        name: "Contoso Entra ID".into(),
        provider_type: "entraid".into(),
    }
}

pub fn user_context(info: Map<String, Value>) -> UserContext {
    UserContext {
        info,
        groups: groups(),
        claims: object(json!({"oid": "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "tid": "contoso"})),
        source: source(),
        user: None,
        request: RequestInfo {
            ip: Some("192.0.2.10".into()),
            user_agent: Some("Mozilla/5.0".into()),
        },
    }
}

/// Base properties as the Entra plugin computes them (authentik-behaviour.md §2.5).
pub fn base(info: &Map<String, Value>, groups: &[Map<String, Value>]) -> UserProperties {
    let text = |key: &str| info.get(key).and_then(Value::as_str).map(str::to_owned);
    UserProperties {
        username: text("userPrincipalName"),
        email: text("mail"),
        name: text("displayName"),
        groups: Some(
            groups
                .iter()
                .filter_map(|g| g.get("id").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
        ),
        ..UserProperties::default()
    }
}

pub fn run_user(
    engine: &MappingEngine,
    mappings: &[(&str, &str)],
    info: Map<String, Value>,
) -> Evaluation<UserOutcome> {
    let context = user_context(info);
    let base = base(&context.info, &context.groups);
    let mappings: Vec<Mapping> = mappings.iter().map(|(n, e)| Mapping::new(*n, *e)).collect();
    engine.evaluate_user(&mappings, &mut context.prepare(), base)
}

pub fn mapped(evaluation: Evaluation<UserOutcome>) -> UserProperties {
    match evaluation.result {
        Ok(UserOutcome::Mapped(props)) => props,
        other => panic!("expected mapped properties, got {other:?}"),
    }
}

pub fn err_of<T: std::fmt::Debug>(evaluation: Evaluation<T>) -> gatehouse_mappings::MappingError {
    match evaluation.result {
        Err(error) => error,
        Ok(outcome) => panic!("expected an error, got {outcome:?}"),
    }
}

/// Evaluates one user script on Adele's profile with empty base properties.
pub fn eval_script(engine: &MappingEngine, script: &str) -> Evaluation<UserOutcome> {
    let context = user_context(adele());
    engine.evaluate_user(
        &[Mapping::new("test", script)],
        &mut context.prepare(),
        UserProperties::default(),
    )
}

pub fn run_group(
    engine: &MappingEngine,
    mappings: &[(&str, &str)],
    group: Map<String, Value>,
) -> Evaluation<GroupOutcome> {
    let base = GroupProperties {
        name: group
            .get("displayName")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..GroupProperties::default()
    };
    let context = GroupContext {
        group,
        source: source(),
    };
    let mappings: Vec<Mapping> = mappings.iter().map(|(n, e)| Mapping::new(*n, *e)).collect();
    engine.evaluate_group(&mappings, &mut context.prepare(), base)
}

/// Value of an expression, returned through `attributes.v` so that any JSON value works.
pub fn value_of(engine: &MappingEngine, expression: &str) -> Value {
    let script = format!("#{{ attributes: #{{ v: {expression} }} }}");
    let props = mapped(eval_script(engine, &script));
    props.attributes.get("v").cloned().unwrap_or(Value::Null)
}
