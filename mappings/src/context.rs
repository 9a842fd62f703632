//! Evaluation contexts (DESIGN.md §7) as serde types, and their prepared Rhai form.
//!
//! Converting a Graph profile with hundreds of groups into Rhai values costs far more than
//! running a typical mapping, so a context is converted once per login ([`PreparedUserContext`])
//! and every mapping of the source then runs against the same values.

use crate::convert::{json_map_to_rhai, json_to_dynamic};
use crate::helpers::object::{GraphObject, KeyInterner};
use rhai::{Dynamic, ImmutableString, Map};
use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};

/// The source being logged in through (`source` in scripts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SourceInfo {
    /// Source slug, e.g. `entra`.
    pub slug: String,
    /// Display name, e.g. `Contoso Entra ID`.
    pub name: String,
    /// Plugin type, e.g. `entraid`.
    pub provider_type: String,
}

/// The HTTP request of the login (`request` in scripts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RequestInfo {
    /// Client IP address.
    pub ip: Option<String>,
    /// `User-Agent` header.
    pub user_agent: Option<String>,
}

/// Context of user mappings. No raw tokens, on purpose.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserContext {
    /// The Graph `/me` profile.
    pub info: JsonMap<String, Value>,
    /// Upstream groups: Graph group objects. `name` is added from `displayName` (or `id`) when
    /// absent; `null` fields are left out (reading them still gives `()`).
    pub groups: Vec<JsonMap<String, Value>>,
    /// Validated id_token claims.
    pub claims: JsonMap<String, Value>,
    /// The source.
    pub source: SourceInfo,
    /// The existing local user, `None` on first login (`()` in scripts).
    pub user: Option<JsonMap<String, Value>>,
    /// The login request.
    pub request: RequestInfo,
}

/// Context of group mappings, one per upstream group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GroupContext {
    /// The Graph group object (`name` added as for [`UserContext::groups`]).
    pub group: JsonMap<String, Value>,
    /// The source.
    pub source: SourceInfo,
}

/// Names a script may refer to; checked at compile time so typos fail when saving.
pub(crate) const CONTEXT_NAMES: &[&str] = &[
    "info",
    "groups",
    "claims",
    "source",
    "properties",
    "user",
    "request",
    "group",
];

/// A [`UserContext`] converted to Rhai values once per login and reused by every user mapping.
///
/// `groups` is an array of read-only `object`s (cheap to copy, impossible to modify); the
/// other variables are small maps that each mapping gets a fresh copy of, because Rhai lets a
/// script add keys to a constant map. Evaluation borrows it mutably (the group list is moved
/// into the script scope and back).
pub struct PreparedUserContext {
    pub(crate) groups: Dynamic,
    pub(crate) small: [(&'static str, Dynamic); 5],
}

/// A [`GroupContext`] converted to Rhai values.
pub struct PreparedGroupContext {
    pub(crate) small: [(&'static str, Dynamic); 2],
}

impl std::fmt::Debug for PreparedUserContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedUserContext").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PreparedGroupContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedGroupContext").finish_non_exhaustive()
    }
}

impl UserContext {
    /// Converts the context once; see [`PreparedUserContext`].
    pub fn prepare(&self) -> PreparedUserContext {
        let mut keys = KeyInterner::default();
        let groups = self
            .groups
            .iter()
            .map(|g| Dynamic::from(graph_group(g, &mut keys)))
            .collect();
        let user = self
            .user
            .as_ref()
            .map_or(Dynamic::UNIT, |u| Dynamic::from_map(json_map_to_rhai(u, false)));
        PreparedUserContext {
            groups: Dynamic::from_array(groups),
            small: [
                ("info", Dynamic::from_map(json_map_to_rhai(&self.info, false))),
                ("claims", Dynamic::from_map(json_map_to_rhai(&self.claims, false))),
                ("source", source(&self.source)),
                ("user", user),
                ("request", request(&self.request)),
            ],
        }
    }
}

impl GroupContext {
    /// Converts the context once; see [`PreparedGroupContext`].
    pub fn prepare(&self) -> PreparedGroupContext {
        PreparedGroupContext {
            small: [
                (
                    "group",
                    Dynamic::from(graph_group(&self.group, &mut KeyInterner::default())),
                ),
                ("source", source(&self.source)),
            ],
        }
    }
}

impl From<&UserContext> for PreparedUserContext {
    fn from(context: &UserContext) -> Self {
        context.prepare()
    }
}

impl From<&GroupContext> for PreparedGroupContext {
    fn from(context: &GroupContext) -> Self {
        context.prepare()
    }
}

fn graph_group(group: &JsonMap<String, Value>, keys: &mut KeyInterner) -> GraphObject {
    // Built straight from the JSON entries: no intermediate Rhai map on the per-login path.
    let mut entries: Vec<_> = group
        .iter()
        .filter(|(_, value)| !value.is_null())
        .map(|(key, value)| {
            let (hash, key) = keys.key(key);
            (hash, key, json_to_dynamic(value, true))
        })
        .collect();
    if !group.contains_key("name") {
        let name = ["displayName", "id"]
            .iter()
            .find_map(|key| group.get(*key).and_then(Value::as_str))
            .unwrap_or_default();
        let (hash, key) = keys.key("name");
        entries.push((hash, key, text(name)));
    }
    GraphObject::from_entries(entries)
}

fn text(value: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(value))
}

fn source(source: &SourceInfo) -> Dynamic {
    let mut map = Map::new();
    map.insert("slug".into(), text(&source.slug));
    map.insert("name".into(), text(&source.name));
    map.insert("provider_type".into(), text(&source.provider_type));
    Dynamic::from_map(map)
}

fn request(request: &RequestInfo) -> Dynamic {
    let mut map = Map::new();
    let opt = |v: &Option<String>| v.as_deref().map_or(Dynamic::UNIT, text);
    map.insert("ip".into(), opt(&request.ip));
    map.insert("user_agent".into(), opt(&request.user_agent));
    Dynamic::from_map(map)
}
