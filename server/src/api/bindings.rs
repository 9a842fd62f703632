//! `flows/bindings/` (looked up by UUID): which stage runs at which position of which flow.
//! A position is unique per flow (a UNIQUE constraint; a clash is a 409 naming `order`).

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::flows::{BindingChanges, BindingFilter, BindingRow, NewBinding};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct Binding {
    /// The binding's UUID.
    pub pk: String,
    /// The flow's UUID.
    pub target: String,
    /// The stage's UUID.
    pub stage: String,
    pub order: i32,
}

impl Binding {
    fn many(conn: &mut DbConn, rows: Vec<BindingRow>) -> Result<Vec<Self>, ApiError> {
        let flow_ids: Vec<i64> = rows.iter().map(|r| r.flow_id).collect();
        let stage_ids: Vec<i64> = rows.iter().map(|r| r.stage_id).collect();
        let flows = db::flows::flow_uuids(conn, &flow_ids)?;
        let stages = db::flows::stage_uuids(conn, &stage_ids)?;
        Ok(rows
            .into_iter()
            .map(|r| Self {
                target: flows.get(&r.flow_id).cloned().unwrap_or_default(),
                stage: stages.get(&r.stage_id).cloned().unwrap_or_default(),
                pk: r.uuid,
                order: r.binding_order,
            })
            .collect())
    }

    fn one(conn: &mut DbConn, row: BindingRow) -> Result<Self, ApiError> {
        Self::many(conn, vec![row])?
            .pop()
            .ok_or_else(|| ApiError::not_found("Binding"))
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BindingWrite {
    /// Flow UUID.
    pub target: Option<String>,
    /// Stage UUID.
    pub stage: Option<String>,
    pub order: Option<i32>,
}

impl BindingWrite {
    /// Resolves `target` and `stage` to row ids, reporting unknown ones by field.
    fn resolve(&self, conn: &mut DbConn, full: bool) -> Result<(Option<i64>, Option<i64>), ApiError> {
        let mut errors = FieldErrors::new();
        let mut need = |field: &str, present: bool| {
            if full && !present {
                errors
                    .entry(field.to_owned())
                    .or_default()
                    .push("This field is required.".into());
            }
        };
        need("target", self.target.is_some());
        need("stage", self.stage.is_some());
        need("order", self.order.is_some());
        let mut flow_id = None;
        if let Some(target) = &self.target {
            match db::flows::flow_by_uuid(conn, target) {
                Ok(flow) => flow_id = Some(flow.id),
                Err(StoreError::NotFound) => {
                    errors
                        .entry("target".into())
                        .or_default()
                        .push(format!("Unknown flow `{target}`."));
                }
                Err(e) => return Err(e.into()),
            }
        }
        let mut stage_id = None;
        if let Some(stage) = &self.stage {
            match db::flows::stage_by_uuid(conn, stage) {
                Ok(row) => stage_id = Some(row.id),
                Err(StoreError::NotFound) => {
                    errors
                        .entry("stage".into())
                        .or_default()
                        .push(format!("Unknown stage `{stage}`."));
                }
                Err(e) => return Err(e.into()),
            }
        }
        if self.order.is_some_and(|o| !(0..=1_000_000).contains(&o)) {
            errors
                .entry("order".into())
                .or_default()
                .push("Between 0 and 1000000.".into());
        }
        if errors.is_empty() {
            Ok((flow_id, stage_id))
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

fn model(row: &BindingRow) -> ModelRef {
    ModelRef {
        model_name: "flow_stage_binding",
        pk: json!(row.uuid),
        name: format!("order {}", row.binding_order),
    }
}

fn binding_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Binding"))
}

fn load(conn: &mut DbConn, uuid: &str) -> Result<BindingRow, ApiError> {
    db::flows::binding_by_uuid(conn, uuid).map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Binding"),
        other => other.into(),
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BindingFilters {
    /// Flow UUID.
    pub target: Option<String>,
    /// Stage UUID.
    pub stage: Option<String>,
}

#[utoipa::path(
    tag = "flows",
    params(ListParams, BindingFilters),
    responses((status = 200, body = Paginated<Binding>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/flows/bindings/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<BindingFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let filters = filters.into_inner();
    let (bindings, count) = state
        .db
        .run(move |conn| {
            let mut filter = BindingFilter::default();
            if let Some(target) = &filters.target {
                match db::flows::flow_by_uuid(conn, target) {
                    Ok(flow) => filter.flow_id = Some(flow.id),
                    Err(StoreError::NotFound) => filter.flow_id = Some(-1),
                    Err(e) => return Err(e.into()),
                }
            }
            if let Some(stage) = &filters.stage {
                match db::flows::stage_by_uuid(conn, stage) {
                    Ok(row) => filter.stage_id = Some(row.id),
                    Err(StoreError::NotFound) => filter.stage_id = Some(-1),
                    Err(e) => return Err(e.into()),
                }
            }
            let (rows, count) = db::flows::list_bindings(conn, &filter, &page)?;
            Ok::<_, ApiError>((Binding::many(conn, rows)?, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(bindings, count, page)?))
}

#[utoipa::path(
    tag = "flows",
    request_body = BindingWrite,
    responses((status = 201, body = Binding), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/flows/bindings/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<BindingWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    let binding = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let (flow_id, stage_id) = body.resolve(conn, true)?;
                let row = db::flows::insert_binding(
                    conn,
                    &NewBinding {
                        uuid: uuid::Uuid::new_v4().to_string(),
                        flow_id: flow_id.unwrap_or_default(),
                        stage_id: stage_id.unwrap_or_default(),
                        binding_order: body.order.unwrap_or_default(),
                        created: time::now(),
                    },
                )?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Binding::one(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(binding))
}

#[utoipa::path(
    tag = "flows",
    params(("pk" = String, Path, description = "Binding UUID")),
    responses((status = 200, body = Binding), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/flows/bindings/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = binding_uuid(&pk)?;
    let binding = state
        .db
        .run(move |conn| {
            let row = load(conn, &uuid)?;
            Binding::one(conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(binding))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    body: BindingWrite,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = binding_uuid(&pk)?;
    let binding = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load(conn, &uuid)?;
                let (flow_id, stage_id) = body.resolve(conn, full)?;
                let row = db::flows::update_binding(
                    conn,
                    row.id,
                    &BindingChanges {
                        flow_id,
                        stage_id,
                        binding_order: body.order,
                    },
                )?;
                let fields: Vec<&str> = [
                    ("target", flow_id.is_some()),
                    ("stage", stage_id.is_some()),
                    ("order", body.order.is_some()),
                ]
                .into_iter()
                .filter_map(|(n, set)| set.then_some(n))
                .collect();
                record_change(conn, "model_updated", &caller, &client, &model(&row), &fields)?;
                Binding::one(conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(binding))
}

#[utoipa::path(
    tag = "flows",
    params(("pk" = String, Path, description = "Binding UUID")),
    request_body = BindingWrite,
    responses((status = 200, body = Binding), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/flows/bindings/{pk}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<BindingWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, true).await
}

#[utoipa::path(
    tag = "flows",
    params(("pk" = String, Path, description = "Binding UUID")),
    request_body = BindingWrite,
    responses((status = 200, body = Binding), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/flows/bindings/{pk}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<BindingWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, false).await
}

#[utoipa::path(
    tag = "flows",
    params(("pk" = String, Path, description = "Binding UUID")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/flows/bindings/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = binding_uuid(&pk)?;
    delete_audited(
        &state,
        caller,
        client,
        move |conn| load(conn, &uuid),
        |conn, row| db::flows::delete_binding(conn, row.id),
        model,
    )
    .await
}
