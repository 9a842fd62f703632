//! Typed user and group properties: what mappings start from and what they produce.

use serde::{Deserialize, Serialize};
use serde_json::{Map as JsonMap, Value};

/// Local user type, as in authentik.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserType {
    /// A member of the organisation.
    Internal,
    /// A guest or partner.
    External,
    /// A non-human account.
    ServiceAccount,
}

impl UserType {
    /// The name used in scripts and JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Internal => "internal",
            Self::External => "external",
            Self::ServiceAccount => "service_account",
        }
    }

    pub(crate) fn parse(value: &str) -> Option<Self> {
        match value {
            "internal" => Some(Self::Internal),
            "external" => Some(Self::External),
            "service_account" => Some(Self::ServiceAccount),
            _ => None,
        }
    }
}

/// Properties of a local user. `None` means "not set" (never set, or removed by a mapping
/// returning the key as `()`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserProperties {
    /// Local username (non-empty). The server must refuse a login that ends without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// E-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Whether the account may log in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_active: Option<bool>,
    /// Folder-like path of the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// User type.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub user_type: Option<UserType>,
    /// Free-form attributes (JSON object), deep-merged by mappings.
    #[serde(default)]
    pub attributes: JsonMap<String, Value>,
    /// Upstream group ids (Entra object ids) the user is a member of, without duplicates.
    /// `None` when a mapping removed the key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
}

/// Properties of a local group created from an upstream group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupProperties {
    /// Local group name (non-empty). The server falls back to the upstream id when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Free-form attributes (JSON object), deep-merged by mappings.
    #[serde(default)]
    pub attributes: JsonMap<String, Value>,
    /// Whether members of the group are superusers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_superuser: Option<bool>,
}
