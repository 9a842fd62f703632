//! The properties being built while a list of mappings runs, and their typed forms.
//!
//! Group ids get special care: a user in hundreds of groups would otherwise pay for converting
//! every id to a Rhai string and back on each login, even when no mapping looks at them. The
//! list is kept as the `Vec<String>` that [`UserProperties::groups`] needs — the base list as
//! given, or a mapping's result converted once when it is merged — and becomes Rhai strings
//! only when a later script reads `properties` (converted once, cached).

use crate::convert::{as_string, dynamic_to_json, json_map_to_rhai};
use crate::properties::{GroupProperties, UserProperties, UserType};
use rhai::{Array, Dynamic, ImmutableString, Map};

/// The `groups` property.
pub(crate) enum Groups {
    /// Not set, or removed by a mapping.
    Absent,
    /// As given in the base properties, or set by a mapping (then already checked and
    /// de-duplicated); `cached` is its Rhai form once a script needed it.
    Ids { ids: Vec<String>, cached: Option<Array> },
}

/// Properties so far: every key but `groups` in a Rhai map (values already type-checked).
pub(crate) struct Working {
    pub map: Map,
    pub groups: Groups,
}

fn text(value: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(value))
}

fn take_string(map: &Map, key: &str) -> Option<String> {
    // `as_str().to_owned()`, not `to_string()`: the latter goes through `Display` formatting.
    map.get(key).and_then(as_string).map(|s| s.as_str().to_owned())
}

fn take_attributes(map: &Map) -> serde_json::Map<String, serde_json::Value> {
    match map.get("attributes").map(dynamic_to_json) {
        Some(Ok(serde_json::Value::Object(attributes))) => attributes,
        _ => serde_json::Map::new(),
    }
}

impl Working {
    pub(crate) fn from_user(props: UserProperties) -> Self {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Dynamic>| {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        };
        put("username", props.username.as_deref().map(text));
        put("name", props.name.as_deref().map(text));
        put("email", props.email.as_deref().map(text));
        put("is_active", props.is_active.map(Dynamic::from_bool));
        put("path", props.path.as_deref().map(text));
        put("type", props.user_type.map(|t| text(t.as_str())));
        put(
            "attributes",
            Some(Dynamic::from_map(json_map_to_rhai(&props.attributes, false))),
        );
        let groups = match props.groups {
            Some(ids) => Groups::Ids { ids, cached: None },
            None => Groups::Absent,
        };
        Self { map, groups }
    }

    pub(crate) fn from_group(props: &GroupProperties) -> Self {
        let mut map = Map::new();
        if let Some(name) = &props.name {
            map.insert("name".into(), text(name));
        }
        map.insert(
            "attributes".into(),
            Dynamic::from_map(json_map_to_rhai(&props.attributes, false)),
        );
        if let Some(is_superuser) = props.is_superuser {
            map.insert("is_superuser".into(), Dynamic::from_bool(is_superuser));
        }
        Self {
            map,
            groups: Groups::Absent,
        }
    }

    /// The `properties` variable for the next script: a copy, so that nothing the script does to
    /// it reaches the merge.
    pub(crate) fn properties_value(&mut self) -> Dynamic {
        let mut map = self.map.clone();
        let groups = match &mut self.groups {
            Groups::Absent => None,
            Groups::Ids { ids, cached } => Some(
                cached
                    .get_or_insert_with(|| ids.iter().map(|id| text(id)).collect())
                    .clone(),
            ),
        };
        if let Some(groups) = groups {
            map.insert("groups".into(), Dynamic::from_array(groups));
        }
        Dynamic::from_map(map)
    }

    pub(crate) fn into_user(self) -> UserProperties {
        let map = &self.map;
        UserProperties {
            username: take_string(map, "username"),
            name: take_string(map, "name"),
            email: take_string(map, "email"),
            is_active: map.get("is_active").and_then(|v| v.as_bool().ok()),
            path: take_string(map, "path"),
            user_type: take_string(map, "type").as_deref().and_then(UserType::parse),
            attributes: take_attributes(map),
            groups: match self.groups {
                Groups::Absent => None,
                Groups::Ids { ids, .. } => Some(ids),
            },
        }
    }

    pub(crate) fn into_group(self) -> GroupProperties {
        GroupProperties {
            name: take_string(&self.map, "name"),
            attributes: take_attributes(&self.map),
            is_superuser: self.map.get("is_superuser").and_then(|v| v.as_bool().ok()),
        }
    }
}
