//! Evaluation contexts (DESIGN.md §7) as serde types, and their prepared Rhai form.
//!
//! Converting a Graph profile with hundreds of groups into Rhai values costs far more than
//! running a typical mapping, so a context is converted once per login ([`PreparedUserContext`])
//! and every mapping of the source then runs against the same read-only values.

use crate::convert::json_map_to_rhai;
use rhai::{Dynamic, ImmutableString, Map, Scope};
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
pub(crate) const CONTEXT_NAMES: &[&str] =
    &["info", "groups", "claims", "source", "properties", "user", "request", "group"];

/// A [`UserContext`] converted to Rhai values, reused by every user mapping of one login.
///
/// Not `Clone`: evaluation needs `&mut` access to reuse the variable scope, so share it by
/// preparing one per login.
pub struct PreparedUserContext {
    pub(crate) scope: Scope<'static>,
}

/// A [`GroupContext`] converted to Rhai values.
pub struct PreparedGroupContext {
    pub(crate) scope: Scope<'static>,
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
        let mut scope = Scope::with_capacity(16);
        // Constants: scripts cannot modify them, so one mapping cannot change what the next sees.
        scope.push_constant_dynamic("info", Dynamic::from_map(json_map_to_rhai(&self.info, false)));
        let groups = self.groups.iter().map(|g| Dynamic::from_map(graph_group(g))).collect();
        scope.push_constant_dynamic("groups", Dynamic::from_array(groups));
        scope.push_constant_dynamic("claims", Dynamic::from_map(json_map_to_rhai(&self.claims, false)));
        scope.push_constant_dynamic("source", source(&self.source));
        let user = self.user.as_ref().map_or(Dynamic::UNIT, |u| Dynamic::from_map(json_map_to_rhai(u, false)));
        scope.push_constant_dynamic("user", user);
        scope.push_constant_dynamic("request", request(&self.request));
        PreparedUserContext { scope }
    }
}

impl GroupContext {
    /// Converts the context once; see [`PreparedGroupContext`].
    pub fn prepare(&self) -> PreparedGroupContext {
        let mut scope = Scope::with_capacity(8);
        scope.push_constant_dynamic("group", Dynamic::from_map(graph_group(&self.group)));
        scope.push_constant_dynamic("source", source(&self.source));
        PreparedGroupContext { scope }
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

fn graph_group(group: &JsonMap<String, Value>) -> Map {
    let mut map = json_map_to_rhai(group, true);
    if !map.contains_key("name") {
        let name = ["displayName", "id"]
            .iter()
            .find_map(|key| group.get(*key).and_then(Value::as_str))
            .unwrap_or_default();
        map.insert("name".into(), Dynamic::from(ImmutableString::from(name)));
    }
    map
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
