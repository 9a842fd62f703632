//! `propertymappings/source/oauth/` (CRUD of Rhai mappings for OAuth sources),
//! `propertymappings/all/` (every mapping) and `propertymappings/all/<pk>/test/` (dry run).
//! A script that does not compile is refused when saved, with its line and column.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use gatehouse_mappings::{DryRunOutput, DryRunRequest, MappingKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, bool_filter};
use crate::db::property_mappings::{MappingChanges, MappingFilter, MappingRow, NewMapping, SOURCE_OAUTH};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PropertyMapping {
    /// The mapping's UUID.
    pub pk: String,
    pub name: String,
    /// The Rhai script.
    pub expression: String,
    /// Set on the read-only mappings shipped with Gatehouse.
    pub managed: Option<String>,
    /// What the managed mapping does (managed mappings only).
    pub description: Option<String>,
    /// `source_oauth`.
    pub kind: String,
}

impl From<MappingRow> for PropertyMapping {
    fn from(row: MappingRow) -> Self {
        let description = row.managed.as_deref().and_then(|m| {
            gatehouse_mappings::managed_mappings()
                .iter()
                .find(|shipped| shipped.managed == m)
                .map(|shipped| shipped.description.to_owned())
        });
        Self {
            pk: row.uuid,
            name: row.name,
            expression: row.expression,
            managed: row.managed,
            description,
            kind: row.kind,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PropertyMappingWrite {
    pub name: Option<String>,
    pub expression: Option<String>,
}

impl PropertyMappingWrite {
    /// Checks the fields, compiling the expression (syntax errors name line and column).
    fn check(&self, engine: &gatehouse_mappings::MappingEngine, full: bool) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        match &self.name {
            Some(name) if name.trim().is_empty() => {
                errors.insert("name".into(), vec!["This field may not be blank.".into()]);
            }
            Some(name) => {
                if let Err(m) = crate::validate::name(name) {
                    errors.insert("name".into(), vec![m]);
                }
            }
            None if full => {
                errors.insert("name".into(), vec!["This field is required.".into()]);
            }
            None => {}
        }
        match &self.expression {
            Some(expression) if expression.len() > 256 * 1024 => {
                errors.insert(
                    "expression".into(),
                    vec!["Scripts may have at most 256 KiB.".into()],
                );
            }
            Some(expression) => {
                let name = self.name.as_deref().unwrap_or("mapping");
                if let Err(e) = engine.compile_check(name, expression) {
                    let position = match (e.line, e.column) {
                        (Some(line), Some(column)) => format!(" (line {line}, column {column})"),
                        (Some(line), None) => format!(" (line {line})"),
                        _ => String::new(),
                    };
                    errors.insert("expression".into(), vec![format!("{}{position}", e.message)]);
                }
            }
            None if full => {
                errors.insert("expression".into(), vec!["This field is required.".into()]);
            }
            None => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

fn model(row: &MappingRow) -> ModelRef {
    ModelRef {
        model_name: "property_mapping",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

fn mapping_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Property mapping"))
}

fn load(conn: &mut DbConn, uuid: &str) -> Result<MappingRow, ApiError> {
    db::property_mappings::by_uuid(conn, uuid).map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Property mapping"),
        other => other.into(),
    })
}

fn editable(row: &MappingRow) -> Result<(), ApiError> {
    match &row.managed {
        Some(_) => Err(ApiError::Forbidden(
            "This mapping is managed by Gatehouse and read-only; create a copy to change it.".into(),
        )),
        None => Ok(()),
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MappingFilters {
    pub name: Option<String>,
    /// Only managed (true) or only administrator-made (false) mappings.
    #[param(value_type = Option<bool>)]
    pub managed: Option<String>,
}

async fn list_mappings(
    state: web::Data<AppState>,
    caller: Caller,
    params: ListParams,
    filters: MappingFilters,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::property_mappings::ORDERING_FIELDS, "name")?;
    let filter = MappingFilter {
        search: params.search(),
        name: filters.name,
        managed: bool_filter("managed", &filters.managed)?,
    };
    let (rows, count) = state
        .db
        .run(move |conn| db::property_mappings::list(conn, &filter, &ordering, &page))
        .await
        .map_err(ApiError::from)?;
    let items: Vec<PropertyMapping> = rows.into_iter().map(PropertyMapping::from).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "propertymappings",
    params(ListParams, MappingFilters),
    responses((status = 200, body = Paginated<PropertyMapping>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/propertymappings/source/oauth/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<MappingFilters>,
) -> Result<HttpResponse, ApiError> {
    list_mappings(state, caller, params.into_inner(), filters.into_inner()).await
}

#[utoipa::path(
    tag = "propertymappings",
    params(ListParams, MappingFilters),
    responses((status = 200, body = Paginated<PropertyMapping>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/propertymappings/all/")]
pub async fn all_list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<MappingFilters>,
) -> Result<HttpResponse, ApiError> {
    list_mappings(state, caller, params.into_inner(), filters.into_inner()).await
}

#[utoipa::path(
    tag = "propertymappings",
    request_body = PropertyMappingWrite,
    responses((status = 201, body = PropertyMapping), (status = 400, description = "Invalid; a syntax error names line and column"),
        (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/propertymappings/source/oauth/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<PropertyMappingWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    body.check(&state.mappings, true)?;
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let now = time::now();
                let row = db::property_mappings::insert(
                    conn,
                    &NewMapping {
                        uuid: uuid::Uuid::new_v4().to_string(),
                        name: body.name.clone().unwrap_or_default(),
                        kind: SOURCE_OAUTH.into(),
                        expression: body.expression.clone().unwrap_or_default(),
                        managed: None,
                        created: now,
                        updated: now,
                    },
                )?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(PropertyMapping::from(row)))
}

async fn retrieve_mapping(
    state: web::Data<AppState>,
    caller: Caller,
    pk: String,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = mapping_uuid(&pk)?;
    let row = state.db.run(move |conn| load(conn, &uuid)).await?;
    Ok(HttpResponse::Ok().json(PropertyMapping::from(row)))
}

#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    responses((status = 200, body = PropertyMapping), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/propertymappings/source/oauth/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    retrieve_mapping(state, caller, pk.into_inner()).await
}

#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    responses((status = 200, body = PropertyMapping), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/propertymappings/all/{pk}/")]
pub async fn all_retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    retrieve_mapping(state, caller, pk.into_inner()).await
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    body: PropertyMappingWrite,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = mapping_uuid(&pk)?;
    body.check(&state.mappings, full)?;
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load(conn, &uuid)?;
                editable(&row)?;
                let row = db::property_mappings::update(
                    conn,
                    row.id,
                    &MappingChanges {
                        name: body.name.clone(),
                        expression: body.expression.clone(),
                        updated: None,
                    },
                )?;
                let fields: Vec<&str> = [
                    ("name", body.name.is_some()),
                    ("expression", body.expression.is_some()),
                ]
                .into_iter()
                .filter_map(|(n, set)| set.then_some(n))
                .collect();
                record_change(conn, "model_updated", &caller, &client, &model(&row), &fields)?;
                Ok::<_, ApiError>(row)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(PropertyMapping::from(row)))
}

#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    request_body = PropertyMappingWrite,
    responses((status = 200, body = PropertyMapping), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/propertymappings/source/oauth/{pk}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<PropertyMappingWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, true).await
}

#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    request_body = PropertyMappingWrite,
    responses((status = 200, body = PropertyMapping), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/propertymappings/source/oauth/{pk}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<PropertyMappingWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, false).await
}

#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    responses((status = 204), (status = 400, description = "Still used by a source"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/propertymappings/source/oauth/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = mapping_uuid(&pk)?;
    delete_audited(
        &state,
        caller,
        client,
        move |conn| {
            let row = load(conn, &uuid)?;
            editable(&row)?;
            let users = db::property_mappings::used_by(conn, row.id)?;
            if !users.is_empty() {
                return Err(ApiError::BadRequest(format!(
                    "This mapping is used by: {}. Remove it from those sources first.",
                    users.join(", ")
                )));
            }
            Ok(row)
        },
        |conn, row| db::property_mappings::delete(conn, row.id),
        model,
    )
    .await
}

/// Body of the dry run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MappingTest {
    /// The context the script sees: for user mappings `info`, `groups`, `claims`, `source`,
    /// `properties`, `user`, `request`; for group mappings `group`, `source`, `properties`.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub context: Value,
    /// `user` (default) or `group`.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub kind: Option<MappingKind>,
}

/// Runs a stored mapping on a given context without saving anything: `{"successful": true,
/// "result": {...}}` or `{"successful": false, "error": {"message", "line", "column"}}`.
#[utoipa::path(
    tag = "propertymappings",
    params(("pk" = String, Path, description = "Mapping UUID")),
    request_body = MappingTest,
    responses((status = 200, description = "The result or the script's error", body = Object),
        (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/propertymappings/all/{pk}/test/")]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
    body: ApiJson<MappingTest>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = mapping_uuid(&pk)?;
    let body = body.0;
    if !(body.context.is_object() || body.context.is_null()) {
        return Err(ApiError::field("context", "The context must be a JSON object."));
    }
    let row = state.db.run(move |conn| load(conn, &uuid)).await?;
    let request = DryRunRequest {
        context: body.context,
        kind: body.kind.unwrap_or(MappingKind::User),
    };
    // Scripts are CPU work bounded by their time budget: off the async workers, so a slow script
    // never holds up other requests.
    let engine_state = state.clone();
    let output: DryRunOutput = web::block(move || {
        engine_state
            .mappings
            .dry_run(&row.name, &row.expression, &request)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(output))
}
