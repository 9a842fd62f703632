//! The context variables scripts see.

use crate::common::*;
use gatehouse_mappings::{Mapping, MappingEngine, UserProperties};
use serde_json::json;

#[test]
fn user_context_variables() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, "info.id"),
        json!("87d349ed-44d7-43e1-9a83-5f2406dee5bd")
    );
    assert_eq!(value_of(&e, "info.mobilePhone"), json!(null));
    assert_eq!(
        value_of(&e, "claims.oid"),
        json!("87d349ed-44d7-43e1-9a83-5f2406dee5bd")
    );
    assert_eq!(
        value_of(&e, "[source.slug, source.name, source.provider_type]"),
        json!(["entra", "Contoso Entra ID", "entraid"])
    );
    assert_eq!(
        value_of(&e, "[request.ip, request.user_agent]"),
        json!(["192.0.2.10", "Mozilla/5.0"])
    );
    assert_eq!(value_of(&e, "user == ()"), json!(true), "first login");
    assert_eq!(
        value_of(&e, "properties.attributes"),
        json!({}),
        "attributes always present"
    );
    assert_eq!(value_of(&e, "type_of(groups)"), json!("array"));
}

#[test]
fn groups_get_a_name_and_lose_null_fields() {
    let e = MappingEngine::default();
    assert_eq!(
        value_of(&e, "groups.list_pluck(\"name\")"),
        json!(["SG-Retail", "Sample Team Site", "Retail (dynamic)"])
    );
    assert_eq!(
        value_of(&e, "groups[0].classification"),
        json!(null),
        "a dropped null still reads as ()"
    );
    assert_eq!(value_of(&e, "\"classification\" in groups[0]"), json!(false));
    assert_eq!(value_of(&e, "groups[1].groupTypes"), json!(["Unified"]));
}

#[test]
fn existing_user_is_a_map() {
    let e = MappingEngine::default();
    let mut context = user_context(adele());
    context.user = Some(object(
        json!({"username": "adelev", "attributes": {"since": 2020}}),
    ));
    let evaluation = e.evaluate_user(
        &[Mapping::new(
            "m",
            "#{ attributes: #{ since: user.attributes.since } }",
        )],
        &mut context.prepare(),
        UserProperties::default(),
    );
    assert_eq!(mapped(evaluation).attributes["since"], 2020);
}

#[test]
fn a_prepared_context_can_be_evaluated_repeatedly() {
    let e = MappingEngine::default();
    let context = user_context(adele());
    let mut prepared = context.prepare();
    let mappings = [Mapping::new(
        "m",
        "let local = 1; #{ name: info.displayName, attributes: #{ n: groups.len() } }",
    )];
    let first = mapped(e.evaluate_user(&mappings, &mut prepared, UserProperties::default()));
    let second = mapped(e.evaluate_user(&mappings, &mut prepared, UserProperties::default()));
    assert_eq!(first, second);
    assert_eq!(first.attributes["n"], 3);
}

#[test]
fn contexts_deserialize_from_json_and_reject_unknown_fields() {
    let context: gatehouse_mappings::UserContext =
        serde_json::from_value(json!({"info": {"id": "x"}, "source": {"slug": "entra"}})).unwrap();
    assert_eq!(context.source.slug, "entra");
    assert!(serde_json::from_value::<gatehouse_mappings::UserContext>(json!({"inof": {}})).is_err());
}
