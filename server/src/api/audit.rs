//! Recording admin changes in the event log, inside the same transaction as the change.

use serde_json::{Value, json};

use crate::db::events::{self, Event};
use crate::db::{DbConn, StoreError};
use crate::http::client::ClientInfo;

use super::auth::Caller;

/// Which object an admin change touched.
#[derive(Debug, Clone)]
pub struct ModelRef {
    pub model_name: &'static str,
    pub pk: Value,
    pub name: String,
}

/// Records `model_created`, `model_updated` or `model_deleted` (or another action) for `model`,
/// with the names (never the values) of the fields that changed.
pub fn record_change(
    conn: &mut DbConn,
    action: &str,
    caller: &Caller,
    client: &ClientInfo,
    model: &ModelRef,
    changed_fields: &[&str],
) -> Result<(), StoreError> {
    let mut context = json!({
        "model": {"app": "gatehouse", "model_name": model.model_name, "pk": model.pk, "name": model.name},
        "http_request": client.event_context(),
    });
    if !changed_fields.is_empty()
        && let Some(map) = context.as_object_mut()
    {
        map.insert("changed_fields".into(), json!(changed_fields));
    }
    if let Some(token) = &caller.token
        && let Some(map) = context.as_object_mut()
    {
        map.insert("api_token".into(), json!(token));
    }
    events::insert(
        conn,
        &Event {
            action,
            user: Some(caller.event_user()),
            context,
            client_ip: client.ip.as_deref(),
        },
    )?;
    Ok(())
}

/// A DELETE endpoint's body: load the object (and refuse if it may not go), delete it and record
/// `model_deleted`, in one transaction; answers 204.
pub async fn delete_audited<R, Load, Delete, Model>(
    state: &crate::state::AppState,
    caller: Caller,
    client: ClientInfo,
    load: Load,
    delete: Delete,
    model: Model,
) -> Result<actix_web::HttpResponse, crate::error::ApiError>
where
    R: Send + 'static,
    Load: FnOnce(&mut DbConn) -> Result<R, crate::error::ApiError> + Send + 'static,
    Delete: FnOnce(&mut DbConn, &R) -> Result<(), StoreError> + Send + 'static,
    Model: FnOnce(&R) -> ModelRef + Send + 'static,
{
    state
        .db
        .run(move |conn| {
            crate::db::write_tx(conn, |conn| {
                let row = load(conn)?;
                delete(conn, &row)?;
                record_change(conn, "model_deleted", &caller, &client, &model(&row), &[])?;
                Ok::<_, crate::error::ApiError>(())
            })
        })
        .await?;
    Ok(actix_web::HttpResponse::NoContent().finish())
}
