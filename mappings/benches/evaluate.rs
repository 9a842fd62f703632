//! Evaluation and compile time of a typical Entra user mapping on a profile with 200 groups.
//!
//! `cargo bench -p gatehouse-mappings`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatehouse_mappings::{Mapping, MappingEngine, RequestInfo, SourceInfo, UserContext, UserProperties};
use serde_json::{Map, Value, json};
use std::hint::black_box;

/// Username from the UPN, name, email, attributes from department/jobTitle, security groups.
const TYPICAL: &str = r##"
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
const WITH_CLOSURES: &str = r#"
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

fn context() -> UserContext {
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

fn base(context: &UserContext) -> UserProperties {
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

fn bench(c: &mut Criterion) {
    let engine = MappingEngine::default();
    let context = context();
    let base = base(&context);
    let typical = [Mapping::new("typical", TYPICAL)];
    let closures = [Mapping::new("closures", WITH_CLOSURES)];
    let mut prepared = context.prepare();
    let check = engine.evaluate_user(&typical, &mut prepared, base.clone());
    assert!(check.result.is_ok(), "{:?}", check.result);

    c.bench_function("evaluate typical user mapping (200 groups, cached AST)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&typical, &mut prepared, base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("prepare context + evaluate typical (200 groups)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&typical, &mut context.prepare(), base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("evaluate filter/map closures (200 groups)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&closures, &mut prepared, base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("compile typical user mapping", |b| {
        // A fresh engine each time, so the AST cache does not answer.
        b.iter_batched(
            MappingEngine::default,
            |engine| black_box(engine.compile_check("typical", TYPICAL)),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
