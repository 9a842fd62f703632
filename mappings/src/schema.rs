//! Type checks on what scripts return, and the merge rules that fold each result into the
//! properties built so far.
//!
//! Rules: a map result merges key by key — scalars replace, `attributes` deep-merges, `groups`
//! replaces the set, a key set to `()` removes it (inside `attributes` too, at any depth).

use crate::convert::{as_string, dynamic_to_json};
use crate::error::MappingError;
use crate::fnv::WordHasher;
use crate::properties::UserType;
use crate::working::{Groups, Working};
use rhai::{Array, Dynamic, ImmutableString, Map};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::BuildHasherDefault;

/// Whether a mapping produces user or group properties.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MappingKind {
    /// Runs once per login with `info`, `groups`, `claims`, `source`, `properties`, `user`, `request`.
    #[default]
    User,
    /// Runs once per upstream group with `group`, `source`, `properties`.
    Group,
}

const USER_KEYS: &[&str] = &[
    "username",
    "name",
    "email",
    "is_active",
    "path",
    "type",
    "attributes",
    "groups",
];
const GROUP_KEYS: &[&str] = &["name", "attributes", "is_superuser"];

/// Checks `result` (a map returned by `mapping`) and merges it into `working`.
pub(crate) fn merge(
    kind: MappingKind,
    mapping: &str,
    working: &mut Working,
    result: Map,
) -> Result<(), MappingError> {
    for (key, value) in result {
        let key_str = key.as_str();
        let allowed = match kind {
            MappingKind::User => USER_KEYS,
            MappingKind::Group => GROUP_KEYS,
        };
        if !allowed.contains(&key_str) {
            return Err(MappingError::type_error(
                mapping,
                key_str,
                format!("unknown property '{key_str}' (allowed: {})", allowed.join(", ")),
            ));
        }
        let value = value.flatten();
        if key_str == "groups" {
            let previous = match std::mem::replace(&mut working.groups, Groups::Absent) {
                Groups::Ids { ids, .. } => ids,
                Groups::Absent => Vec::new(),
            };
            if !value.is_unit() {
                working.groups = Groups::Ids {
                    ids: group_ids(mapping, value, previous)?,
                    cached: None,
                };
            }
            continue;
        }
        let working = &mut working.map;
        if value.is_unit() {
            if key_str == "attributes" {
                working.insert(key, Dynamic::from_map(Map::new()));
            } else {
                working.remove(&key);
            }
            continue;
        }
        let checked = match key_str {
            "username" => non_empty_string(mapping, key_str, &value)?,
            "name" if kind == MappingKind::Group => non_empty_string(mapping, key_str, &value)?,
            "name" | "email" | "path" => string(mapping, key_str, &value)?,
            "is_active" | "is_superuser" => boolean(mapping, key_str, &value)?,
            "type" => user_type(mapping, &value)?,
            _ => {
                let patch = attributes(mapping, value)?;
                let mut current = working
                    .remove(key_str)
                    .and_then(|v| v.flatten().try_cast::<Map>())
                    .unwrap_or_default();
                deep_merge(&mut current, patch);
                Dynamic::from_map(current)
            }
        };
        working.insert(key, checked);
    }
    Ok(())
}

fn type_name(value: &Dynamic) -> &'static str {
    match value.type_name() {
        "string" | "ImmutableString" => "string",
        other if other.contains("Map") => "map",
        other if other.contains("Array") => "array",
        other => other,
    }
}

fn string(mapping: &str, key: &str, value: &Dynamic) -> Result<Dynamic, MappingError> {
    as_string(value).map(Dynamic::from).ok_or_else(|| {
        MappingError::type_error(
            mapping,
            key,
            format!("property '{key}' must be a string, got {}", type_name(value)),
        )
    })
}

fn non_empty_string(mapping: &str, key: &str, value: &Dynamic) -> Result<Dynamic, MappingError> {
    match as_string(value) {
        Some(s) if !s.trim().is_empty() => Ok(Dynamic::from(s)),
        Some(_) => Err(MappingError::type_error(
            mapping,
            key,
            format!("property '{key}' must not be empty"),
        )),
        None => Err(MappingError::type_error(
            mapping,
            key,
            format!(
                "property '{key}' must be a non-empty string, got {}",
                type_name(value)
            ),
        )),
    }
}

fn boolean(mapping: &str, key: &str, value: &Dynamic) -> Result<Dynamic, MappingError> {
    value.as_bool().map(Dynamic::from_bool).map_err(|_| {
        MappingError::type_error(
            mapping,
            key,
            format!(
                "property '{key}' must be a bool (true or false), got {}",
                type_name(value)
            ),
        )
    })
}

fn user_type(mapping: &str, value: &Dynamic) -> Result<Dynamic, MappingError> {
    match as_string(value) {
        Some(s) if UserType::parse(&s).is_some() => Ok(Dynamic::from(s)),
        _ => Err(MappingError::type_error(
            mapping,
            "type",
            format!(
                "property 'type' must be \"internal\", \"external\" or \"service_account\", got {}",
                describe(value)
            ),
        )),
    }
}

fn describe(value: &Dynamic) -> String {
    match as_string(value) {
        Some(s) => format!("{:?}", s.as_str()),
        None => type_name(value).to_owned(),
    }
}

/// Checks the `groups` result and converts it to the owned ids [`UserProperties::groups`] needs,
/// de-duplicated (first occurrence kept).
///
/// The strings of `previous` (the list being replaced: normally the upstream ids of the base
/// properties, of which a mapping keeps a subset) are moved into the result where they match,
/// so a typical login allocates no new string per group and frees only the dropped ones. The
/// hash is word-at-a-time rather than SipHash: ids come from the directory, the table lives for
/// one call, so hash flooding is not a concern, and this runs on every login for every group.
///
/// [`UserProperties::groups`]: crate::UserProperties::groups
fn group_ids(mapping: &str, value: Dynamic, previous: Vec<String>) -> Result<Vec<String>, MappingError> {
    let found = type_name(&value);
    let Some(items) = value.try_cast::<Array>() else {
        return Err(MappingError::type_error(
            mapping,
            "groups",
            format!("property 'groups' must be an array of group ids (strings), got {found}"),
        ));
    };
    let invalid = |index: usize, item: &Dynamic| {
        MappingError::type_error(
            mapping,
            "groups",
            format!(
                "property 'groups' must contain only non-empty strings (group ids); \
                 element {index} is {}",
                describe(item)
            ),
        )
    };
    let mut texts = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        // Checked through a borrow first, so that the error can still describe the element.
        if !matches!(item.read_lock::<ImmutableString>(), Some(id) if !id.is_empty()) {
            return Err(invalid(index, &item));
        }
        match item.into_immutable_string() {
            Ok(id) => texts.push(id),
            Err(_) => return Err(invalid(index, &Dynamic::UNIT)),
        }
    }
    // Distinct ids in first-seen order, each with its position in the result.
    let mut slots: HashMap<&str, usize, BuildHasherDefault<WordHasher>> =
        HashMap::with_capacity_and_hasher(texts.len(), BuildHasherDefault::default());
    let mut order = Vec::with_capacity(texts.len());
    for id in &texts {
        if let Entry::Vacant(slot) = slots.entry(id.as_str()) {
            slot.insert(order.len());
            order.push(id.as_str());
        }
    }
    let mut reused: Vec<Option<String>> = vec![None; order.len()];
    // A mapping that filters the upstream groups keeps their order: walking both lists together
    // finds those ids with one string comparison per previous id, no hashing.
    let mut next = 0;
    let mut rest = Vec::new();
    for old in previous {
        if order.get(next) == Some(&old.as_str()) {
            if let Some(place) = reused.get_mut(next) {
                *place = Some(old);
            }
            next += 1;
        } else {
            rest.push(old);
        }
    }
    if next < order.len() {
        // Reordered or partly new: look the remaining previous ids up.
        for old in rest {
            if let Some(&slot) = slots.get(old.as_str())
                && let Some(place) = reused.get_mut(slot)
                && place.is_none()
            {
                *place = Some(old);
            }
        }
    }
    Ok(reused
        .into_iter()
        .zip(order)
        .map(|(reused, id)| reused.unwrap_or_else(|| id.to_owned()))
        .collect())
}

fn attributes(mapping: &str, value: Dynamic) -> Result<Map, MappingError> {
    let found = type_name(&value);
    let Some(map) = value.try_cast::<Map>() else {
        return Err(MappingError::type_error(
            mapping,
            "attributes",
            format!("property 'attributes' must be a map, got {found}"),
        ));
    };
    for (key, item) in &map {
        if let Err(not_json) = dynamic_to_json(item) {
            return Err(MappingError::type_error(
                mapping,
                "attributes",
                format!(
                    "attributes.{key}{}: a {} cannot be stored in attributes",
                    not_json.path, not_json.type_name
                ),
            ));
        }
    }
    Ok(map)
}

/// Merges `patch` into `target`: nested maps merge, `()` removes, anything else replaces.
fn deep_merge(target: &mut Map, patch: Map) {
    for (key, value) in patch {
        let value = value.flatten();
        if value.is_unit() {
            target.remove(&key);
            continue;
        }
        match value.try_cast_result::<Map>() {
            Ok(patch_map) => {
                let mut current = target
                    .remove(&key)
                    .and_then(|v| v.flatten().try_cast::<Map>())
                    .unwrap_or_default();
                deep_merge(&mut current, patch_map);
                target.insert(key, Dynamic::from_map(current));
            }
            Err(value) => {
                target.insert(key, value);
            }
        }
    }
}
