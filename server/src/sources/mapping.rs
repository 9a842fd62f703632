//! From an upstream identity to local properties: base properties, then the source's user
//! mappings in order, then its group mappings for each group the user keeps. CPU work bounded by
//! the mapping limits; callers run it on the blocking pool.

use gatehouse_mappings::{
    GroupContext, GroupOutcome, GroupProperties, LogEntry, Mapping, MappingEngine, MappingError, RequestInfo,
    SourceInfo, UserContext, UserOutcome, UserProperties,
};
use gatehouse_plugins::{UpstreamGroup, UpstreamIdentity};
use serde_json::{Map, Value};

use crate::db::group_sync::DesiredGroup;

/// What the mappings produced.
#[derive(Debug)]
pub enum Mapped {
    Ok {
        /// User properties for `user_write` and the profile update (no `groups` key).
        properties: Map<String, Value>,
        /// The groups to sync, or `None` to leave memberships alone.
        groups: Option<Vec<DesiredGroup>>,
        logs: Vec<LogEntry>,
    },
    Denied {
        mapping: String,
        message: String,
        logs: Vec<LogEntry>,
    },
    Failed {
        error: MappingError,
        logs: Vec<LogEntry>,
    },
}

pub struct MappingInput<'a> {
    pub identity: &'a UpstreamIdentity,
    /// The upstream groups when sync is on and the fetch succeeded.
    pub groups: Option<&'a [UpstreamGroup]>,
    pub source: SourceInfo,
    pub path: String,
    pub user_mappings: Vec<Mapping>,
    pub group_mappings: Vec<Mapping>,
    /// The local user, when one is already linked (`user` in the context).
    pub existing_user: Option<Map<String, Value>>,
    pub request: RequestInfo,
}

fn object(value: &Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    }
}

/// A group as scripts see it: the upstream object with `id` and `name` always present.
fn group_object(group: &UpstreamGroup) -> Map<String, Value> {
    let mut map = group.info.to_map();
    map.entry("id")
        .or_insert_with(|| Value::String(group.identifier.clone()));
    map.insert("name".into(), Value::String(group.name.clone()));
    map
}

pub fn evaluate(engine: &MappingEngine, input: MappingInput<'_>) -> Mapped {
    let identity = input.identity;
    let base = UserProperties {
        username: identity.base.username.clone(),
        name: identity.base.name.clone(),
        email: identity.base.email.clone(),
        path: Some(input.path.clone()),
        groups: input
            .groups
            .map(|groups| groups.iter().map(|g| g.identifier.clone()).collect()),
        ..UserProperties::default()
    };
    let mut logs = Vec::new();
    let mut properties = if input.user_mappings.is_empty() {
        // No mappings: no engine, no conversion of the profile into script values.
        base
    } else {
        let mut context = UserContext {
            info: object(&identity.info),
            groups: input
                .groups
                .unwrap_or_default()
                .iter()
                .map(group_object)
                .collect(),
            claims: object(&identity.claims),
            source: input.source.clone(),
            user: input.existing_user.clone(),
            request: input.request.clone(),
        }
        .prepare();
        let evaluation = engine.evaluate_user(&input.user_mappings, &mut context, base);
        logs.extend(evaluation.logs);
        match evaluation.result {
            Ok(UserOutcome::Mapped(properties)) => properties,
            Ok(UserOutcome::Denied(denial)) => {
                return Mapped::Denied {
                    mapping: denial.mapping,
                    message: denial.message,
                    logs,
                };
            }
            Err(error) => return Mapped::Failed { error, logs },
        }
    };

    // The groups the user keeps (a mapping may drop some, or add ids Entra did not send).
    // Taken out before the properties become JSON: they are synced, not written to the user.
    let group_ids = properties.groups.take();
    let groups = match (input.groups, &group_ids) {
        (Some(upstream), Some(ids)) => {
            // foldhash: thousands of ids per login, several times faster than SipHash.
            let by_id: std::collections::HashMap<&str, &UpstreamGroup, foldhash::fast::RandomState> =
                upstream.iter().map(|g| (g.identifier.as_str(), g)).collect();
            let mut desired = Vec::with_capacity(ids.len());
            for id in ids {
                let upstream_group = by_id.get(id.as_str()).copied();
                let default_name = upstream_group.map_or_else(|| id.clone(), |g| g.name.clone());
                if input.group_mappings.is_empty() {
                    desired.push(DesiredGroup {
                        identifier: id.clone(),
                        name: default_name,
                        attributes: None,
                        is_superuser: None,
                    });
                    continue;
                }
                let group = upstream_group.map_or_else(
                    || {
                        let mut map = Map::new();
                        map.insert("id".into(), Value::String(id.clone()));
                        map.insert("name".into(), Value::String(id.clone()));
                        map
                    },
                    group_object,
                );
                let mut context = GroupContext {
                    group,
                    source: input.source.clone(),
                }
                .prepare();
                let base = GroupProperties {
                    name: Some(default_name.clone()),
                    ..GroupProperties::default()
                };
                let evaluation = engine.evaluate_group(&input.group_mappings, &mut context, base);
                logs.extend(evaluation.logs);
                match evaluation.result {
                    Ok(GroupOutcome::Mapped(props)) => desired.push(DesiredGroup {
                        identifier: id.clone(),
                        name: props
                            .name
                            .filter(|n| !n.trim().is_empty())
                            .unwrap_or(default_name),
                        attributes: (!props.attributes.is_empty()).then_some(Value::Object(props.attributes)),
                        is_superuser: props.is_superuser,
                    }),
                    Ok(GroupOutcome::Skipped { .. }) => {}
                    Ok(GroupOutcome::Denied(denial)) => {
                        return Mapped::Denied {
                            mapping: denial.mapping,
                            message: denial.message,
                            logs,
                        };
                    }
                    Err(error) => return Mapped::Failed { error, logs },
                }
            }
            Some(desired)
        }
        // Sync on and a mapping removed `groups`: leave memberships alone (documented).
        _ => None,
    };
    let mut map = match serde_json::to_value(&properties) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if map
        .get("attributes")
        .is_some_and(|a| a.as_object().is_some_and(Map::is_empty))
    {
        map.remove("attributes");
    }
    Mapped::Ok {
        properties: map,
        groups,
        logs,
    }
}
