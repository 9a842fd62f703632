//! The default flows and stages, created on start when missing (never overwritten: an
//! administrator's edits survive restarts; a deleted default comes back).

use serde_json::{Value, json};

use crate::db::flows::{NewBinding, NewFlow, NewStage};
use crate::db::{self, DbConn, StoreError, time, write_tx};

pub const AUTHENTICATION_FLOW: &str = "default-authentication-flow";
pub const SOURCE_AUTHENTICATION_FLOW: &str = "default-source-authentication";
pub const SOURCE_ENROLLMENT_FLOW: &str = "default-source-enrollment";
pub const INVALIDATION_FLOW: &str = "default-invalidation-flow";
pub const IMPLICIT_CONSENT_FLOW: &str = "default-provider-authorization-implicit-consent";
pub const EXPLICIT_CONSENT_FLOW: &str = "default-provider-authorization-explicit-consent";

const MANAGED: &str = "gatehouse/defaults";

struct StageSpec {
    name: &'static str,
    kind: &'static str,
    settings: fn(&mut DbConn) -> Result<Value, StoreError>,
}

struct FlowSpec {
    slug: &'static str,
    name: &'static str,
    title: &'static str,
    designation: &'static str,
    authentication: &'static str,
    stages: &'static [(&'static str, i32)],
}

fn uuid_of(conn: &mut DbConn, stage: &str) -> Result<Value, StoreError> {
    Ok(db::flows::stage_by_name(conn, stage)?.map_or(Value::Null, |s| Value::String(s.uuid)))
}

const STAGES: &[StageSpec] = &[
    StageSpec {
        name: "default-authentication-password",
        kind: "password",
        settings: |_| Ok(json!({"failed_attempts_before_cancel": 5})),
    },
    StageSpec {
        name: "default-authentication-identification",
        kind: "identification",
        settings: |conn| {
            Ok(json!({
                "user_fields": ["username", "email"],
                "password_stage": uuid_of(conn, "default-authentication-password")?,
                "sources": [],
                "show_all_sources": true,
                "show_source_labels": true,
                "pretend_user_exists": true,
                "enrollment_flow": null,
                "recovery_flow": null,
            }))
        },
    },
    StageSpec {
        name: "default-authentication-login",
        kind: "user_login",
        settings: |_| Ok(json!({"session_duration": 86_400, "terminate_other_sessions": false})),
    },
    StageSpec {
        name: "default-source-authentication-login",
        kind: "user_login",
        settings: |_| Ok(json!({"session_duration": 86_400, "terminate_other_sessions": false})),
    },
    StageSpec {
        name: "default-source-enrollment-write",
        kind: "user_write",
        settings: |_| {
            Ok(json!({
                "user_creation_mode": "create_when_required",
                "create_users_as_inactive": false,
                "create_users_group": null,
                "user_type": "internal",
                "user_path_template": "users",
            }))
        },
    },
    StageSpec {
        name: "default-source-enrollment-login",
        kind: "user_login",
        settings: |_| Ok(json!({"session_duration": 86_400, "terminate_other_sessions": false})),
    },
    StageSpec {
        name: "default-invalidation-logout",
        kind: "user_logout",
        settings: |_| Ok(json!({})),
    },
    StageSpec {
        name: "default-provider-authorization-consent",
        kind: "consent",
        settings: |_| Ok(json!({"mode": "always_require", "consent_expire_in": 2_419_200})),
    },
];

const FLOWS: &[FlowSpec] = &[
    FlowSpec {
        slug: AUTHENTICATION_FLOW,
        name: "Default authentication flow",
        title: "Welcome to Gatehouse",
        designation: "authentication",
        authentication: "none",
        stages: &[
            ("default-authentication-identification", 10),
            ("default-authentication-login", 100),
        ],
    },
    FlowSpec {
        slug: SOURCE_AUTHENTICATION_FLOW,
        name: "Default source authentication flow",
        title: "Welcome to Gatehouse",
        designation: "authentication",
        authentication: "none",
        stages: &[("default-source-authentication-login", 100)],
    },
    FlowSpec {
        slug: SOURCE_ENROLLMENT_FLOW,
        name: "Default source enrollment flow",
        title: "Welcome to Gatehouse",
        designation: "enrollment",
        authentication: "none",
        stages: &[
            ("default-source-enrollment-write", 10),
            ("default-source-enrollment-login", 100),
        ],
    },
    FlowSpec {
        slug: INVALIDATION_FLOW,
        name: "Default invalidation flow",
        title: "Sign out",
        designation: "invalidation",
        authentication: "none",
        stages: &[("default-invalidation-logout", 10)],
    },
    FlowSpec {
        slug: IMPLICIT_CONSENT_FLOW,
        name: "Authorize application (implicit consent)",
        title: "Redirecting to the application",
        designation: "authorization",
        authentication: "require_authenticated",
        stages: &[],
    },
    FlowSpec {
        slug: EXPLICIT_CONSENT_FLOW,
        name: "Authorize application (explicit consent)",
        title: "Allow access",
        designation: "authorization",
        authentication: "require_authenticated",
        stages: &[("default-provider-authorization-consent", 10)],
    },
];

/// Creates the missing default objects. Replicas starting together may race; the loser of a
/// unique insert simply tries again and finds the winner's rows.
pub fn ensure(conn: &mut DbConn) -> Result<(), StoreError> {
    match write_tx(conn, create_missing) {
        Err(StoreError::Unique { .. }) => write_tx(conn, create_missing),
        other => other,
    }
}

fn create_missing(conn: &mut DbConn) -> Result<(), StoreError> {
    let now = time::now();
    for spec in STAGES {
        if db::flows::stage_by_name(conn, spec.name)?.is_none() {
            let settings = (spec.settings)(conn)?;
            db::flows::insert_stage(
                conn,
                &NewStage {
                    uuid: uuid::Uuid::new_v4().to_string(),
                    name: spec.name.into(),
                    kind: spec.kind.into(),
                    settings: settings.to_string(),
                    managed: Some(MANAGED.into()),
                    created: now,
                    updated: now,
                },
            )?;
        }
    }
    for spec in FLOWS {
        if matches!(
            db::flows::flow_by_slug(conn, spec.slug),
            Err(StoreError::NotFound)
        ) {
            let flow = db::flows::insert_flow(
                conn,
                &NewFlow {
                    uuid: uuid::Uuid::new_v4().to_string(),
                    slug: spec.slug.into(),
                    name: spec.name.into(),
                    title: spec.title.into(),
                    designation: spec.designation.into(),
                    authentication: spec.authentication.into(),
                    managed: Some(MANAGED.into()),
                    created: now,
                    updated: now,
                },
            )?;
            for (stage, order) in spec.stages {
                if let Some(stage) = db::flows::stage_by_name(conn, stage)? {
                    db::flows::insert_binding(
                        conn,
                        &NewBinding {
                            uuid: uuid::Uuid::new_v4().to_string(),
                            flow_id: flow.id,
                            stage_id: stage.id,
                            binding_order: *order,
                            created: now,
                        },
                    )?;
                }
            }
        }
    }
    Ok(())
}
