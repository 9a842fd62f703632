//! The benchmark fixture, shared by `benches/evaluate.rs` and `examples/evaluate_loop.rs` so that
//! callgrind counts and criterion timings measure exactly the same script and input.

#![allow(dead_code)]

use gatehouse_mappings::{RequestInfo, SourceInfo, UserContext, UserProperties};
use serde_json::{Map, Value, json};

/// Username from the UPN, name, email, attributes from department/jobTitle, security groups.
pub const TYPICAL: &str = r##"
let upn = info.userPrincipalName;
let attributes = #{};
if info.department != () { attributes.department = info.department; }
if info.jobTitle != () { attributes.job_title = info.jobTitle; }
#{
    username: lower(regex_replace(upn.split("@")[0], "#EXT#$", "")),
    name: info.displayName,
    email: info.mail ?? list_flatten(info.otherMails) ?? upn,
    attributes: attributes,
    groups: groups.list_pluck("id", "securityEnabled", true),
}
"##;

/// The same with a closure per group, for comparison.
pub const WITH_CLOSURES: &str = r#"
#{ groups: groups.filter(|g| g.securityEnabled == true).map(|g| g.id) }
"#;

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn group(i: usize) -> Map<String, Value> {
    let unified = i.is_multiple_of(3);
    object(json!({
        "@odata.type": "#microsoft.graph.group",
        "id": format!("76382f05-da48-434b-a487-{i:012}"),
        "deletedDateTime": null, "classification": null,
        "createdDateTime": "2022-09-03T03:46:02Z",
        "creationOptions": [], "description": format!("Group number {i}"), "displayName": format!("Group {i}"),
        "expirationDateTime": null, "groupTypes": if unified { json!(["Unified"]) } else { json!([]) },
        "isAssignableToRole": null,
        "mail": if unified { json!(format!("group{i}@contoso.onmicrosoft.com")) } else { Value::Null },
        "mailEnabled": unified, "mailNickname": format!("group{i}"),
        "membershipRule": null, "membershipRuleProcessingState": null,
        "onPremisesDomainName": null, "onPremisesLastSyncDateTime": null, "onPremisesNetBiosName": null,
        "onPremisesSamAccountName": null, "onPremisesSecurityIdentifier": null, "onPremisesSyncEnabled": null,
        "preferredDataLocation": null, "preferredLanguage": null,
        "proxyAddresses": if unified { json!([format!("SMTP:group{i}@contoso.onmicrosoft.com")]) } else { json!([]) },
        "renewedDateTime": "2022-09-03T03:46:02Z", "resourceBehaviorOptions": [], "resourceProvisioningOptions": [],
        "securityEnabled": !unified, "securityIdentifier": "S-1-12-1-1983393541-1129044552-3374811044-4052948636",
        "theme": null, "visibility": if unified { json!("Public") } else { Value::Null },
        "onPremisesProvisioningErrors": []
    }))
}

pub fn context() -> UserContext {
    UserContext {
        info: object(json!({
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
            "businessPhones": ["+1 425 555 0109"], "displayName": "Adele Vance", "givenName": "Adele",
            "jobTitle": "Retail Manager", "mail": "AdeleV@contoso.onmicrosoft.com", "mobilePhone": null,
            "officeLocation": "18/2111", "preferredLanguage": "en-US", "surname": "Vance",
            "userPrincipalName": "AdeleV@contoso.onmicrosoft.com", "id": "87d349ed-44d7-43e1-9a83-5f2406dee5bd",
            "department": "Retail", "userType": "Member", "accountEnabled": true, "otherMails": []
        })),
        groups: (0..200).map(group).collect(),
        claims: object(json!({"oid": "87d349ed-44d7-43e1-9a83-5f2406dee5bd", "tid": "contoso"})),
        source: SourceInfo {
            slug: "entra".into(),
            name: "Contoso Entra ID".into(),
            provider_type: "entraid".into(),
        },
        user: None,
        request: RequestInfo {
            ip: Some("192.0.2.10".into()),
            user_agent: Some("Mozilla/5.0".into()),
        },
    }
}

pub fn base(context: &UserContext) -> UserProperties {
    UserProperties {
        username: Some("AdeleV@contoso.onmicrosoft.com".into()),
        name: Some("Adele Vance".into()),
        email: Some("AdeleV@contoso.onmicrosoft.com".into()),
        groups: Some(
            context
                .groups
                .iter()
                .filter_map(|g| g.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect(),
        ),
        ..UserProperties::default()
    }
}
