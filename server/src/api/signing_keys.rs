//! `crypto/signing_keys/`: the keys tokens are signed with. Private keys never leave the server;
//! rotation creates a successor and keeps the old key published until its tokens have expired.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated};
use crate::db::signing_keys::SigningKeyRow;
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::ApiError;
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, from_value};
use crate::provider::keys::{self, SigningAlgorithm};
use crate::state::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct SigningKey {
    /// The key's UUID.
    pub pk: String,
    pub name: String,
    /// `RS256` or `ES256`.
    pub algorithm: String,
    pub kid: String,
    /// Set on the keys Gatehouse created itself.
    pub managed: Option<String>,
    pub created: chrono::DateTime<chrono::Utc>,
    /// When a successor replaced it.
    pub rotated: Option<chrono::DateTime<chrono::Utc>>,
    /// Until when it stays published in JWKS.
    pub retire_after: Option<chrono::DateTime<chrono::Utc>>,
    #[schema(value_type = Object)]
    pub public_jwk: Value,
}

impl From<SigningKeyRow> for SigningKey {
    fn from(row: SigningKeyRow) -> Self {
        Self {
            public_jwk: serde_json::from_str(&row.public_jwk).unwrap_or(Value::Null),
            pk: row.uuid,
            name: row.name,
            algorithm: row.algorithm,
            kid: row.kid,
            managed: row.managed,
            created: time::to_utc(row.created),
            rotated: row.rotated.map(time::to_utc),
            retire_after: row.retire_after.map(time::to_utc),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SigningKeyCreate {
    pub name: String,
    /// `RS256` or `ES256`.
    pub algorithm: String,
}

fn model(row: &SigningKeyRow) -> ModelRef {
    ModelRef {
        model_name: "signing_key",
        pk: json!(row.uuid),
        name: row.name.clone(),
    }
}

fn key_uuid(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found("Signing key"))
}

fn load(conn: &mut DbConn, uuid: &str) -> Result<SigningKeyRow, ApiError> {
    db::signing_keys::by_uuid(conn, uuid).map_err(|e| match e {
        StoreError::NotFound => ApiError::not_found("Signing key"),
        other => other.into(),
    })
}

#[utoipa::path(
    tag = "crypto",
    params(ListParams),
    responses((status = 200, body = Paginated<SigningKey>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/crypto/signing_keys/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let rows = state.db.run(db::signing_keys::all).await?;
    let count = i64::try_from(rows.len()).unwrap_or(i64::MAX);
    let items: Vec<SigningKey> = rows
        .into_iter()
        .skip(usize::try_from(page.offset()).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit()).unwrap_or(usize::MAX))
        .map(SigningKey::from)
        .collect();
    Ok(HttpResponse::Ok().json(Paginated::new(items, count, page)?))
}

#[utoipa::path(
    tag = "crypto",
    request_body = SigningKeyCreate,
    responses((status = 201, body = SigningKey), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[post("/crypto/signing_keys/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<Value>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body: SigningKeyCreate = from_value(body.0)?;
    if body.name.trim().is_empty() {
        return Err(ApiError::field("name", "This field may not be blank."));
    }
    crate::validate::name(&body.name).map_err(|m| ApiError::field("name", m))?;
    let algorithm = SigningAlgorithm::parse(&body.algorithm)
        .ok_or_else(|| ApiError::field("algorithm", "Must be `RS256` or `ES256`."))?;
    let db_state = state.clone();
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = keys::create(conn, &db_state.keys, &body.name, algorithm, None, time::now())
                    .map_err(StoreError::from)?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SigningKey::from(row)))
}

#[utoipa::path(
    tag = "crypto",
    params(("pk" = String, Path, description = "Signing key UUID")),
    responses((status = 200, body = SigningKey), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/crypto/signing_keys/{pk}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = key_uuid(&pk)?;
    let row = state.db.run(move |conn| load(conn, &uuid)).await?;
    Ok(HttpResponse::Ok().json(SigningKey::from(row)))
}

/// Rotates a key in one transaction (shared by the API and the CLI): a successor with the same
/// name and algorithm signs from now on; the old key stays in JWKS for the longest access-token
/// lifetime of the providers that used it.
pub fn rotate_in_tx(
    conn: &mut DbConn,
    state_keys: &crate::crypto::Keys,
    old: &SigningKeyRow,
) -> Result<SigningKeyRow, ApiError> {
    if old.rotated.is_some() {
        return Err(ApiError::BadRequest(
            "This key was already rotated; rotate its successor.".into(),
        ));
    }
    let grace_seconds = db::providers::max_token_validity_for_key(conn, old.id)?.unwrap_or(3600);
    let new = keys::rotate(
        conn,
        state_keys,
        old,
        chrono::Duration::seconds(i64::from(grace_seconds)),
        time::now(),
    )
    .map_err(StoreError::from)?;
    Ok(new)
}

#[utoipa::path(
    tag = "crypto",
    params(("pk" = String, Path, description = "Signing key UUID")),
    responses((status = 201, body = SigningKey, description = "The successor key"), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/crypto/signing_keys/{pk}/rotate/")]
pub async fn rotate(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = key_uuid(&pk)?;
    let db_state = state.clone();
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let old = load(conn, &uuid)?;
                let new = rotate_in_tx(conn, &db_state.keys, &old)?;
                record_change(conn, "signing_key_rotated", &caller, &client, &model(&old), &[])?;
                Ok::<_, ApiError>(new)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(SigningKey::from(row)))
}

#[utoipa::path(
    tag = "crypto",
    params(("pk" = String, Path, description = "Signing key UUID")),
    responses((status = 204), (status = 400, description = "Still used, or a current managed key"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/crypto/signing_keys/{pk}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    pk: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let uuid = key_uuid(&pk)?;
    delete_audited(
        &state,
        caller,
        client,
        move |conn| {
            let row = load(conn, &uuid)?;
            if row.managed.is_some() && row.rotated.is_none() {
                return Err(ApiError::BadRequest(
                    "This is a current default key; rotate it instead of deleting it.".into(),
                ));
            }
            if db::providers::max_token_validity_for_key(conn, row.id)?.is_some() {
                return Err(ApiError::BadRequest(
                    "Providers still sign with this key; give them another key first.".into(),
                ));
            }
            Ok(row)
        },
        |conn, row| db::signing_keys::delete(conn, row.id),
        model,
    )
    .await
}
