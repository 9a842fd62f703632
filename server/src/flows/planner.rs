//! Planning: checks who may start a flow and snapshots its bound stages into a plan.

use super::context::FlowContext;
use super::model::AuthenticationRequirement;
use super::stages::PlannedStage;
use crate::db::flows::FlowRow;
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError};

#[derive(Debug)]
pub enum Decision {
    Plan {
        stages: Vec<PlannedStage>,
        context: Box<FlowContext>,
    },
    /// The flow needs a logged-in user: send them to log in first.
    LoginRequired,
    /// The flow is for logged-out users and this one is logged in.
    AlreadyAuthenticated,
    Denied(String),
}

pub fn plan(
    conn: &mut DbConn,
    flow: &FlowRow,
    session_user: Option<&UserRow>,
) -> Result<Decision, StoreError> {
    let requirement = AuthenticationRequirement::parse(&flow.authentication)
        .map_err(|e| StoreError::Corrupt(format!("flow {}: {e}", flow.slug)))?;
    match (requirement, session_user) {
        (
            AuthenticationRequirement::RequireAuthenticated | AuthenticationRequirement::RequireSuperuser,
            None,
        ) => {
            return Ok(Decision::LoginRequired);
        }
        (AuthenticationRequirement::RequireUnauthenticated, Some(_)) => {
            return Ok(Decision::AlreadyAuthenticated);
        }
        (AuthenticationRequirement::RequireSuperuser, Some(user))
            if !db::users::is_effective_superuser(conn, user)? =>
        {
            return Ok(Decision::Denied("This flow is for administrators only.".into()));
        }
        _ => {}
    }
    let stages = db::flows::bound_stages(conn, flow.id)?
        .into_iter()
        .map(|(_, stage)| PlannedStage {
            settings: stage.settings_json(),
            uuid: Some(stage.uuid),
            name: stage.name,
            kind: stage.kind,
        })
        .collect();
    let context = FlowContext {
        session_user: session_user.map(|u| u.id),
        pending_user: session_user.map(|u| u.id),
        ..FlowContext::default()
    };
    Ok(Decision::Plan {
        stages,
        context: Box::new(context),
    })
}
