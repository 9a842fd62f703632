//! Managed (read-only) example mappings for Entra ID, shipped as data for the server to install.

use crate::schema::MappingKind;
use serde::Serialize;

/// A mapping shipped with Gatehouse. The server installs these idempotently, keyed by
/// `managed`, and does not let administrators edit them (they can copy them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ManagedMapping {
    /// Stable identifier, e.g. `gatehouse/entraid/username-upn-local-part`.
    pub managed: &'static str,
    /// Display name (unique).
    pub name: &'static str,
    /// What it does, for the admin UI.
    pub description: &'static str,
    /// User or group mapping.
    pub kind: MappingKind,
    /// Rhai script.
    pub expression: &'static str,
}

const MANAGED: &[ManagedMapping] = &[
    ManagedMapping {
        managed: "gatehouse/entraid/username-upn-local-part",
        name: "Entra ID: username from UPN local part",
        description: "Username = the part of userPrincipalName before '@', lower-cased; for guests \
                      the '#EXT#' marker is removed (alice_example.com#EXT#@… → alice_example.com).",
        kind: MappingKind::User,
        expression: include_str!("username_upn_local_part.rhai"),
    },
    ManagedMapping {
        managed: "gatehouse/entraid/department-attributes",
        name: "Entra ID: department attribute from jobTitle/department",
        description: "Copies department and jobTitle (when set) into attributes.department and \
                      attributes.job_title. department needs $select on the Graph profile call.",
        kind: MappingKind::User,
        expression: include_str!("department_attributes.rhai"),
    },
    ManagedMapping {
        managed: "gatehouse/entraid/security-groups-only",
        name: "Entra ID: groups only security-enabled",
        description: "Keeps only security-enabled groups (securityEnabled == true); Microsoft 365 \
                      groups that are not security-enabled are not synced.",
        kind: MappingKind::User,
        expression: include_str!("security_groups_only.rhai"),
    },
    ManagedMapping {
        managed: "gatehouse/entraid/guests-external",
        name: "Entra ID: guest users are external",
        description: "Guests (userType \"Guest\", or a UPN containing #EXT#) get type \"external\"; \
                      members get \"internal\".",
        kind: MappingKind::User,
        expression: include_str!("guests_external.rhai"),
    },
    ManagedMapping {
        managed: "gatehouse/entraid/disabled-accounts-inactive",
        name: "Entra ID: disabled accounts are inactive",
        description: "is_active follows accountEnabled when the profile carries it ($select).",
        kind: MappingKind::User,
        expression: include_str!("disabled_accounts_inactive.rhai"),
    },
    ManagedMapping {
        managed: "gatehouse/entraid/group-attributes",
        name: "Entra ID: group attributes from Graph",
        description: "Group mapping: stores the Entra description, mail and group kind \
                      (security / microsoft365 / dynamic) in attributes.entra.",
        kind: MappingKind::Group,
        expression: include_str!("group_attributes.rhai"),
    },
];

/// Every managed mapping, in a stable order.
pub fn managed_mappings() -> &'static [ManagedMapping] {
    MANAGED
}
