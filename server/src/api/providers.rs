//! `providers/oauth2/`: clients of Gatehouse's OAuth2/OIDC provider. The client secret is
//! generated (or set) on write, returned once in that response, and stored as a SHA-256 hash.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::providers::{ProviderRow, ProviderValues};
use crate::db::sources::SourceRow;
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors, add_field_error as add};
use crate::http::client::ClientInfo;
use crate::http::json::ApiJson;
use crate::provider::redirect::{self, RedirectUri};
use crate::provider::{DEFAULT_SCOPES, SCOPES, keys};
use crate::state::AppState;

/// Defaults: codes live a minute, access tokens an hour, refresh tokens 30 days.
const DEFAULT_CODE_VALIDITY: i32 = 60;
const DEFAULT_ACCESS_VALIDITY: i32 = 3600;
const DEFAULT_REFRESH_VALIDITY: i32 = 30 * 86_400;
/// Secrets we accept must be high-entropy: they are stored as a plain SHA-256.
const MIN_SECRET_LEN: usize = 32;

#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    /// The provider's UUID.
    pub pk: String,
    pub name: String,
    /// `confidential` or `public`.
    pub client_type: String,
    pub client_id: String,
    /// Only in the response that created or changed it; never readable afterwards.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub has_client_secret: bool,
    pub redirect_uris: Vec<RedirectUri>,
    /// Flow UUID.
    pub authorization_flow: Option<String>,
    /// Signing key UUID.
    pub signing_key: String,
    /// Seconds.
    pub access_code_validity: i32,
    pub access_token_validity: i32,
    pub refresh_token_validity: i32,
    /// Space-separated scopes the provider grants.
    pub scopes: String,
    /// Source UUIDs whose machine tokens (`client_assertion`) this provider accepts.
    pub jwt_federation_sources: Vec<String>,
    /// Extra accepted audiences of machine tokens (default: `api://<source client id>` and the
    /// source client id).
    pub jwt_federation_audiences: Vec<String>,
    /// Calling applications (Entra app ids) allowed to exchange tokens. With
    /// `jwt_federation_sources` set, this or `jwt_federation_required_roles` must be non-empty.
    pub jwt_federation_app_ids: Vec<String>,
    /// App roles that must all appear in a machine token's `roles` claim (assigned to the
    /// calling application in Entra). With `jwt_federation_sources` set, this or
    /// `jwt_federation_app_ids` must be non-empty.
    pub jwt_federation_required_roles: Vec<String>,
    /// The slug of the application using this provider.
    pub assigned_application_slug: Option<String>,
    pub issuer: Option<String>,
}

fn view(
    conn: &mut DbConn,
    state: &AppState,
    row: ProviderRow,
    secret: Option<String>,
) -> Result<Provider, StoreError> {
    let flow = match row.authorization_flow_id {
        Some(id) => Some(db::flows::flow_by_id(conn, id)?.uuid),
        None => None,
    };
    let key = db::signing_keys::get(conn, row.signing_key_id)?;
    let app = db::providers::application_of(conn, row.id)?;
    Ok(Provider {
        pk: row.uuid.clone(),
        name: row.name.clone(),
        client_type: row.client_type.clone(),
        client_id: row.client_id.clone(),
        client_secret: secret,
        has_client_secret: row.client_secret_hash.is_some(),
        redirect_uris: serde_json::from_str(&row.redirect_uris).unwrap_or_default(),
        authorization_flow: flow,
        signing_key: key.uuid,
        access_code_validity: row.access_code_validity,
        access_token_validity: row.access_token_validity,
        refresh_token_validity: row.refresh_token_validity,
        scopes: row.scopes.clone(),
        jwt_federation_sources: db::providers::federation_source_uuids(conn, row.id)?,
        jwt_federation_audiences: serde_json::from_str(&row.federation_audiences).unwrap_or_default(),
        jwt_federation_app_ids: row.federation_app_id_list(),
        jwt_federation_required_roles: row.federation_role_list(),
        issuer: app
            .as_ref()
            .map(|a| crate::provider::issuer(&state.settings, &a.slug)),
        assigned_application_slug: app.map(|a| a.slug),
    })
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderWrite {
    pub name: Option<String>,
    pub client_type: Option<String>,
    pub client_id: Option<String>,
    /// Write-only; generated for confidential clients when not given. At least 32 characters.
    pub client_secret: Option<String>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    /// Flow UUID (default: the implicit-consent authorization flow).
    pub authorization_flow: Option<String>,
    /// Signing key UUID (default: the managed RS256 key).
    pub signing_key: Option<String>,
    pub access_code_validity: Option<i32>,
    pub access_token_validity: Option<i32>,
    pub refresh_token_validity: Option<i32>,
    pub scopes: Option<String>,
    pub jwt_federation_sources: Option<Vec<String>>,
    pub jwt_federation_audiences: Option<Vec<String>>,
    /// Calling applications allowed to exchange machine tokens.
    pub jwt_federation_app_ids: Option<Vec<String>>,
    /// App roles that must all appear in a machine token's `roles` claim.
    pub jwt_federation_required_roles: Option<Vec<String>>,
}

fn new_secret() -> Result<String, ApiError> {
    crate::crypto::random_token(48).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Applies `body` to `values` (defaults first for a create); returns the plaintext secret to show
/// and the federated sources when they change.
fn apply(
    conn: &mut DbConn,
    body: &ProviderWrite,
    values: &mut ProviderValues,
    full: bool,
    creating: bool,
) -> Result<(Option<String>, Option<Vec<SourceRow>>), ApiError> {
    let mut errors = FieldErrors::new();
    match &body.name {
        Some(n) if n.trim().is_empty() => add(&mut errors, "name", "This field may not be blank."),
        Some(n) => match crate::validate::name(n) {
            Ok(()) => values.name = n.clone(),
            Err(m) => add(&mut errors, "name", m),
        },
        None if full => add(&mut errors, "name", "This field is required."),
        None => {}
    }
    if let Some(t) = &body.client_type {
        if matches!(t.as_str(), "confidential" | "public") {
            values.client_type = t.clone();
        } else {
            add(&mut errors, "client_type", "Must be `confidential` or `public`.");
        }
    }
    if let Some(id) = &body.client_id {
        if id.is_empty() || id.len() > 255 || !id.chars().all(|c| c.is_ascii_graphic()) {
            add(
                &mut errors,
                "client_id",
                "1 to 255 printable ASCII characters without spaces.",
            );
        } else {
            values.client_id = id.clone();
        }
    }
    let mut shown_secret = None;
    if values.client_type == "public" {
        if body.client_secret.is_some() {
            add(&mut errors, "client_secret", "Public clients have no secret.");
        }
        values.client_secret_hash = None;
    } else if let Some(secret) = &body.client_secret {
        if secret.len() < MIN_SECRET_LEN {
            add(
                &mut errors,
                "client_secret",
                format!("Use at least {MIN_SECRET_LEN} characters (omit it to have one generated)."),
            );
        } else {
            values.client_secret_hash = Some(crate::crypto::hash_key(secret));
            shown_secret = Some(secret.clone());
        }
    } else if values.client_secret_hash.is_none() || creating {
        let secret = new_secret()?;
        values.client_secret_hash = Some(crate::crypto::hash_key(&secret));
        shown_secret = Some(secret);
    }
    if let Some(uris) = &body.redirect_uris {
        for rule in uris {
            if let Err(m) = redirect::validate(rule) {
                add(&mut errors, "redirect_uris", m);
            }
        }
        values.redirect_uris = serde_json::to_string(uris).map_err(StoreError::from)?;
    }
    if let Some(uuid) = &body.authorization_flow {
        match db::flows::flow_by_uuid(conn, uuid) {
            Ok(flow) => values.authorization_flow_id = Some(flow.id),
            Err(StoreError::NotFound) => add(
                &mut errors,
                "authorization_flow",
                format!("Unknown flow `{uuid}`."),
            ),
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(uuid) = &body.signing_key {
        match db::signing_keys::by_uuid(conn, uuid) {
            Ok(key) if key.rotated.is_none() => values.signing_key_id = key.id,
            Ok(_) => add(
                &mut errors,
                "signing_key",
                "This key was rotated out; use its successor.",
            ),
            Err(StoreError::NotFound) => add(
                &mut errors,
                "signing_key",
                format!("Unknown signing key `{uuid}`."),
            ),
            Err(e) => return Err(e.into()),
        }
    }
    for (field, value, slot, range) in [
        (
            "access_code_validity",
            body.access_code_validity,
            &mut values.access_code_validity,
            1..=600,
        ),
        (
            "access_token_validity",
            body.access_token_validity,
            &mut values.access_token_validity,
            60..=86_400,
        ),
        (
            "refresh_token_validity",
            body.refresh_token_validity,
            &mut values.refresh_token_validity,
            60..=365 * 86_400,
        ),
    ] {
        if let Some(v) = value {
            if range.contains(&v) {
                *slot = v;
            } else {
                add(
                    &mut errors,
                    field,
                    format!("Between {} and {} seconds.", range.start(), range.end()),
                );
            }
        }
    }
    if let Some(scopes) = &body.scopes {
        let unknown: Vec<&str> = scopes
            .split_whitespace()
            .filter(|s| !SCOPES.iter().any(|(name, _)| name == s))
            .collect();
        if !unknown.is_empty() {
            add(
                &mut errors,
                "scopes",
                format!("Unknown scopes: {}.", unknown.join(", ")),
            );
        } else if scopes.split_whitespace().next().is_none() {
            add(&mut errors, "scopes", "At least one scope.");
        } else {
            values.scopes = scopes.split_whitespace().collect::<Vec<_>>().join(" ");
        }
    }
    for (field, entries, slot) in [
        (
            "jwt_federation_audiences",
            &body.jwt_federation_audiences,
            &mut values.federation_audiences,
        ),
        (
            "jwt_federation_app_ids",
            &body.jwt_federation_app_ids,
            &mut values.federation_app_ids,
        ),
        (
            "jwt_federation_required_roles",
            &body.jwt_federation_required_roles,
            &mut values.federation_required_roles,
        ),
    ] {
        if let Some(entries) = entries {
            if entries.iter().any(|v| v.trim().is_empty() || v.len() > 255) {
                add(
                    &mut errors,
                    field,
                    "Entries must be non-empty and at most 255 characters.",
                );
            }
            *slot = serde_json::to_string(entries).map_err(StoreError::from)?;
        }
    }
    let federation = match &body.jwt_federation_sources {
        None => None,
        Some(uuids) => {
            let mut rows: Vec<SourceRow> = Vec::new();
            for uuid in uuids {
                match db::sources::by_uuid(conn, uuid) {
                    Ok(source) if !rows.iter().any(|r| r.id == source.id) => rows.push(source),
                    Ok(_) => add(
                        &mut errors,
                        "jwt_federation_sources",
                        format!("`{uuid}` is listed twice."),
                    ),
                    Err(StoreError::NotFound) => {
                        add(
                            &mut errors,
                            "jwt_federation_sources",
                            format!("Unknown source `{uuid}`."),
                        );
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            Some(rows)
        }
    };
    if errors.is_empty() {
        Ok((shown_secret, federation))
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn ids_of(sources: &[SourceRow]) -> Vec<i64> {
    sources.iter().map(|s| s.id).collect()
}

/// The M2M trust rules (who may exchange, no source open to every tenant).
fn check_trust(state: &AppState, sources: &[SourceRow], values: &ProviderValues) -> Result<(), ApiError> {
    crate::provider::trust::check_provider(
        &state.plugins,
        sources,
        &values.federation_app_ids,
        &values.federation_required_roles,
    )
}

fn model(row: &ProviderRow) -> ModelRef {
    ModelRef {
        model_name: "oauth2_provider",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

fn provider_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Provider"))
}

fn load(conn: &mut DbConn, uuid: &str) -> Result<ProviderRow, ApiError> {
    db::providers::by_uuid(conn, uuid).map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Provider"),
        other => other.into(),
    })
}

#[utoipa::path(
    tag = "providers",
    params(ListParams),
    responses((status = 200, body = Paginated<Provider>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/providers/oauth2/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::providers::ORDERING_FIELDS, "name")?;
    let search = params.search();
    let db_state = state.clone();
    let (items, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::providers::list(conn, &search, &ordering, &page)?;
            let items = rows
                .into_iter()
                .map(|row| view(conn, &db_state, row, None))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, StoreError>((items, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "providers",
    request_body = ProviderWrite,
    responses((status = 201, body = Provider, description = "Created; `client_secret` is shown this once"),
        (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/providers/oauth2/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<ProviderWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let default_key = db::signing_keys::current_managed(conn, keys::DEFAULT_RS256)?
                    .ok_or_else(|| ApiError::Internal("the default signing key is missing".into()))?;
                let default_flow =
                    db::flows::flow_by_slug(conn, crate::flows::defaults::IMPLICIT_CONSENT_FLOW).ok();
                let mut values = ProviderValues {
                    name: String::new(),
                    client_type: "confidential".into(),
                    client_id: crate::crypto::random_token(30)
                        .map_err(|e| ApiError::Internal(e.to_string()))?,
                    client_secret_hash: None,
                    redirect_uris: "[]".into(),
                    authorization_flow_id: default_flow.map(|f| f.id),
                    signing_key_id: default_key.id,
                    access_code_validity: DEFAULT_CODE_VALIDITY,
                    access_token_validity: DEFAULT_ACCESS_VALIDITY,
                    refresh_token_validity: DEFAULT_REFRESH_VALIDITY,
                    scopes: DEFAULT_SCOPES.into(),
                    federation_audiences: "[]".into(),
                    federation_app_ids: "[]".into(),
                    federation_required_roles: "[]".into(),
                    updated: time::now(),
                };
                let (secret, federation) = apply(conn, &body, &mut values, true, true)?;
                let sources = federation.unwrap_or_default();
                check_trust(&db_state, &sources, &values)?;
                let row = db::providers::insert(conn, &uuid::Uuid::new_v4().to_string(), &values)?;
                if !sources.is_empty() {
                    db::providers::set_federation_sources(conn, row.id, &ids_of(&sources))?;
                }
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(view(conn, &db_state, row, secret)?)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

#[utoipa::path(
    tag = "providers",
    params(("pk" = String, Path, description = "Provider UUID")),
    responses((status = 200, body = Provider), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/providers/oauth2/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = provider_uuid(&pk)?;
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            let row = load(conn, &uuid)?;
            Ok::<_, ApiError>(view(conn, &db_state, row, None)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: String,
    body: ProviderWrite,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = provider_uuid(&pk)?;
    let db_state = state.clone();
    let view = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = load(conn, &uuid)?;
                let mut values = ProviderValues {
                    name: row.name.clone(),
                    client_type: row.client_type.clone(),
                    client_id: row.client_id.clone(),
                    client_secret_hash: row.client_secret_hash.clone(),
                    redirect_uris: row.redirect_uris.clone(),
                    authorization_flow_id: row.authorization_flow_id,
                    signing_key_id: row.signing_key_id,
                    access_code_validity: row.access_code_validity,
                    access_token_validity: row.access_token_validity,
                    refresh_token_validity: row.refresh_token_validity,
                    scopes: row.scopes.clone(),
                    federation_audiences: row.federation_audiences.clone(),
                    federation_app_ids: row.federation_app_ids.clone(),
                    federation_required_roles: row.federation_required_roles.clone(),
                    updated: time::now(),
                };
                let (secret, federation) = apply(conn, &body, &mut values, full, false)?;
                let sources = match &federation {
                    Some(rows) => rows.clone(),
                    None => db::providers::federation_sources(conn, row.id)?,
                };
                check_trust(&db_state, &sources, &values)?;
                let row = db::providers::update(conn, row.id, &values)?;
                if let Some(rows) = federation {
                    db::providers::set_federation_sources(conn, row.id, &ids_of(&rows))?;
                }
                let fields: Vec<&str> = [
                    ("name", body.name.is_some()),
                    ("client_type", body.client_type.is_some()),
                    ("client_id", body.client_id.is_some()),
                    ("client_secret", secret.is_some()),
                    ("redirect_uris", body.redirect_uris.is_some()),
                    ("authorization_flow", body.authorization_flow.is_some()),
                    ("signing_key", body.signing_key.is_some()),
                    ("scopes", body.scopes.is_some()),
                    ("jwt_federation_sources", body.jwt_federation_sources.is_some()),
                    ("jwt_federation_app_ids", body.jwt_federation_app_ids.is_some()),
                    (
                        "jwt_federation_required_roles",
                        body.jwt_federation_required_roles.is_some(),
                    ),
                ]
                .into_iter()
                .filter_map(|(n, set)| set.then_some(n))
                .collect();
                record_change(conn, "model_updated", &caller, &client, &model(&row), &fields)?;
                Ok::<_, ApiError>(view(conn, &db_state, row, secret)?)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

#[utoipa::path(
    tag = "providers",
    params(("pk" = String, Path, description = "Provider UUID")),
    request_body = ProviderWrite,
    responses((status = 200, body = Provider), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/providers/oauth2/{pk}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<ProviderWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, true).await
}

#[utoipa::path(
    tag = "providers",
    params(("pk" = String, Path, description = "Provider UUID")),
    request_body = ProviderWrite,
    responses((status = 200, body = Provider), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/providers/oauth2/{pk}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
    body: ApiJson<ProviderWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, pk.into_inner(), body.0, false).await
}

/// Replaces the client secret with a generated one, returned in this response only.
#[utoipa::path(
    tag = "providers",
    params(("pk" = String, Path, description = "Provider UUID")),
    responses((status = 200, body = Provider), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/providers/oauth2/{pk}/rotate_secret/")]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = provider_uuid(&pk)?;
    let secret = new_secret()?;
    let body = ProviderWrite {
        client_secret: Some(secret),
        ..ProviderWrite::default()
    };
    apply_update(state, caller, client, uuid, body, false).await
}

#[utoipa::path(
    tag = "providers",
    params(("pk" = String, Path, description = "Provider UUID")),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/providers/oauth2/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = provider_uuid(&pk)?;
    delete_audited(
        &state,
        caller,
        client,
        move |conn| load(conn, &uuid),
        |conn, row| db::providers::delete(conn, row.id),
        model,
    )
    .await
}
