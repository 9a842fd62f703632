//! `core/tokens/` (looked up by identifier). The key is shown once, when the token is created or
//! its key rotated; only its SHA-256 is stored. Non-superusers manage only their own tokens.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, int_filter};
use crate::db::tokens::{NewToken, TokenChanges, TokenFilter, TokenRow};
use crate::db::{self, DbConn, StoreError, UserId, time, write_tx};
use crate::error::{ApiError, FieldErrors};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, double_option};
use crate::state::AppState;
use crate::validate;

/// Tokens expire after this long unless the request says otherwise.
const DEFAULT_VALIDITY_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct Token {
    pub identifier: String,
    /// Owner user id.
    pub user: i64,
    pub intent: String,
    pub description: String,
    pub expires: Option<DateTime<Utc>>,
    pub expiring: bool,
    pub managed: Option<String>,
    pub created: DateTime<Utc>,
    pub last_used: Option<DateTime<Utc>>,
    /// Only present in the answer to create and rotate_key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

impl Token {
    fn from_row(row: TokenRow, key: Option<String>) -> Self {
        Self {
            identifier: row.identifier,
            user: row.user_id,
            intent: row.intent,
            description: row.description,
            expiring: row.expires.is_some(),
            expires: row.expires.map(time::to_utc),
            managed: row.managed,
            created: time::to_utc(row.created),
            last_used: row.last_used.map(time::to_utc),
            key,
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenWrite {
    pub identifier: Option<String>,
    /// Owner user id (default: the caller). Only superusers may name another user.
    pub user: Option<i64>,
    /// Only `api` is accepted.
    pub intent: Option<String>,
    pub description: Option<String>,
    /// When the token stops working; null for never (with `expiring: false`).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires: Option<Option<DateTime<Utc>>>,
    /// `false` makes the token never expire. Default true (30 days unless `expires` is given).
    pub expiring: Option<bool>,
}

impl TokenWrite {
    fn check(&self, require_identifier: bool) -> Result<(), ApiError> {
        let mut errors = FieldErrors::new();
        match &self.identifier {
            Some(v) => {
                if let Err(m) = validate::identifier(v) {
                    errors.insert("identifier".into(), vec![m]);
                }
            }
            None if require_identifier => {
                errors.insert("identifier".into(), vec!["This field is required.".into()]);
            }
            None => {}
        }
        if let Some(intent) = &self.intent
            && intent != "api"
        {
            errors.insert("intent".into(), vec![format!("`{intent}` is not one of: api.")]);
        }
        if let Some(description) = &self.description
            && description.chars().count() > 1000
        {
            errors.insert(
                "description".into(),
                vec!["Ensure this field has no more than 1000 characters.".into()],
            );
        }
        if let Some(Some(expires)) = &self.expires
            && *expires <= Utc::now()
        {
            errors.insert("expires".into(), vec!["The expiry must be in the future.".into()]);
        }
        if self.expiring == Some(false) && matches!(self.expires, Some(Some(_))) {
            errors.insert(
                "expiring".into(),
                vec!["A token with `expiring: false` cannot have an expiry date.".into()],
            );
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(errors))
        }
    }

    /// The stored expiry for a new token.
    fn initial_expiry(&self) -> Option<chrono::NaiveDateTime> {
        match (self.expiring, &self.expires) {
            (Some(false), _) | (_, Some(None)) => None,
            (_, Some(Some(at))) => Some(time::from_utc(*at)),
            (_, None) => Some(time::now() + chrono::Duration::days(DEFAULT_VALIDITY_DAYS)),
        }
    }
}

fn model(row: &TokenRow) -> ModelRef {
    ModelRef {
        model_name: "token",
        pk: json!(row.identifier),
        name: row.identifier.clone(),
    }
}

/// Loads a token the caller may see; someone else's token is reported as missing, not forbidden,
/// so that identifiers cannot be probed.
fn visible(conn: &mut DbConn, caller: &Caller, identifier: &str) -> Result<TokenRow, ApiError> {
    match db::tokens::find_by_identifier(conn, identifier)? {
        Some(row) if caller.is_superuser || row.user_id == caller.user.id => Ok(row),
        _ => Err(ApiError::not_found("Token")),
    }
}

fn owner(conn: &mut DbConn, caller: &Caller, requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(caller.user.id),
        Some(id) if id == caller.user.id => Ok(id),
        Some(_) if !caller.is_superuser => {
            Err(ApiError::Forbidden("You may only manage your own tokens.".into()))
        }
        Some(id) => match db::users::get(conn, UserId(id)) {
            Ok(user) => Ok(user.id),
            Err(StoreError::NotFound) => Err(ApiError::field("user", format!("Unknown user {id}."))),
            Err(e) => Err(e.into()),
        },
    }
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TokenFilters {
    pub identifier: Option<String>,
    /// Owner user id.
    #[param(value_type = Option<i64>)]
    pub user: Option<String>,
    pub intent: Option<String>,
}

#[utoipa::path(
    tag = "core",
    params(ListParams, TokenFilters),
    responses((status = 200, body = Paginated<Token>), (status = 400), (status = 401)),
    security(("bearer" = []))
)]
#[get("/core/tokens/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<TokenFilters>,
) -> Result<HttpResponse, ApiError> {
    let page = params.page()?;
    let ordering = params.ordering(db::tokens::ORDERING_FIELDS, "identifier")?;
    let filters = filters.into_inner();
    let mut filter = TokenFilter {
        search: params.search(),
        identifier: filters.identifier,
        user: int_filter("user", &filters.user)?.map(UserId),
        intent: filters.intent,
    };
    if !caller.is_superuser {
        filter.user = Some(caller.user.id());
        if int_filter("user", &filters.user)?.is_some_and(|u| u != caller.user.id) {
            return Err(ApiError::Forbidden("You may only list your own tokens.".into()));
        }
    }
    let (rows, count) = state
        .db
        .run(move |conn| db::tokens::list(conn, &filter, &ordering, &page))
        .await
        .map_err(ApiError::from)?;
    let tokens = rows.into_iter().map(|r| Token::from_row(r, None)).collect();
    Ok(HttpResponse::Ok().json(Paginated::new(tokens, count, page)?))
}

#[utoipa::path(
    tag = "core",
    request_body = TokenWrite,
    responses((status = 201, body = Token, description = "The token, with its key (shown only now)"),
        (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/core/tokens/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<TokenWrite>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    body.check(true)?;
    let key = crate::crypto::random_token(32)?;
    let key_hash = crate::crypto::hash_key(&key);
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let user_id = owner(conn, &caller, body.user)?;
                let row = db::tokens::insert(
                    conn,
                    &NewToken {
                        identifier: body.identifier.clone().unwrap_or_default(),
                        key_hash,
                        user_id,
                        intent: "api".into(),
                        description: body.description.clone().unwrap_or_default(),
                        expires: body.initial_expiry(),
                        managed: None,
                        created: time::now(),
                    },
                )?;
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                Ok::<_, ApiError>(row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(Token::from_row(row, Some(key))))
}

#[utoipa::path(
    tag = "core",
    params(("identifier" = String, Path)),
    responses((status = 200, body = Token), (status = 401), (status = 404)),
    security(("bearer" = []))
)]
#[get("/core/tokens/{identifier}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = identifier.into_inner();
    let row = state
        .db
        .run(move |conn| visible(conn, &caller, &identifier))
        .await?;
    Ok(HttpResponse::Ok().json(Token::from_row(row, None)))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    identifier: String,
    body: TokenWrite,
) -> Result<HttpResponse, ApiError> {
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = visible(conn, &caller, &identifier)?;
                if body.identifier.as_ref().is_some_and(|i| *i != row.identifier) {
                    return Err(ApiError::field("identifier", "The identifier cannot be changed."));
                }
                if row.managed.is_some() {
                    return Err(ApiError::Forbidden("Managed tokens cannot be edited.".into()));
                }
                let mut changes = TokenChanges {
                    description: body.description.clone(),
                    ..TokenChanges::default()
                };
                if let Some(user) = body.user {
                    changes.user_id = Some(owner(conn, &caller, Some(user))?);
                }
                changes.expires = match (body.expiring, &body.expires) {
                    (Some(false), _) | (_, Some(None)) => Some(None),
                    (_, Some(Some(at))) => Some(Some(time::from_utc(*at))),
                    (Some(true), None) if row.expires.is_none() => {
                        Some(Some(time::now() + chrono::Duration::days(DEFAULT_VALIDITY_DAYS)))
                    }
                    _ => None,
                };
                let updated = db::tokens::update(conn, row.id, &changes)?;
                let fields: Vec<&str> = [
                    ("description", body.description.is_some()),
                    ("user", body.user.is_some()),
                    ("expires", changes.expires.is_some()),
                ]
                .into_iter()
                .filter_map(|(n, set)| set.then_some(n))
                .collect();
                record_change(conn, "model_updated", &caller, &client, &model(&updated), &fields)?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Token::from_row(row, None)))
}

#[utoipa::path(
    tag = "core",
    params(("identifier" = String, Path)),
    request_body = TokenWrite,
    responses((status = 200, body = Token), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[put("/core/tokens/{identifier}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    identifier: web::Path<String>,
    body: ApiJson<TokenWrite>,
) -> Result<HttpResponse, ApiError> {
    body.0.check(true)?;
    apply_update(state, caller, client, identifier.into_inner(), body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("identifier" = String, Path)),
    request_body = TokenWrite,
    responses((status = 200, body = Token), (status = 400), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[patch("/core/tokens/{identifier}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    identifier: web::Path<String>,
    body: ApiJson<TokenWrite>,
) -> Result<HttpResponse, ApiError> {
    body.0.check(false)?;
    apply_update(state, caller, client, identifier.into_inner(), body.0).await
}

#[utoipa::path(
    tag = "core",
    params(("identifier" = String, Path)),
    responses((status = 200, body = Token, description = "The token with its new key (shown only now)"),
        (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[post("/core/tokens/{identifier}/rotate_key/")]
pub async fn rotate_key(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = identifier.into_inner();
    let key = crate::crypto::random_token(32)?;
    let key_hash = crate::crypto::hash_key(&key);
    let row = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = visible(conn, &caller, &identifier)?;
                if row.managed.is_some() {
                    return Err(ApiError::Forbidden(
                        "Managed tokens cannot be rotated here.".into(),
                    ));
                }
                let changes = TokenChanges {
                    key_hash: Some(key_hash),
                    ..TokenChanges::default()
                };
                let updated = db::tokens::update(conn, row.id, &changes)?;
                record_change(
                    conn,
                    "token_key_rotated",
                    &caller,
                    &client,
                    &model(&updated),
                    &["key"],
                )?;
                Ok(updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Token::from_row(row, Some(key))))
}

#[utoipa::path(
    tag = "core",
    params(("identifier" = String, Path)),
    responses((status = 204), (status = 401), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/core/tokens/{identifier}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    identifier: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let identifier = identifier.into_inner();
    let viewer = caller.clone();
    delete_audited(
        &state,
        caller,
        client,
        move |conn| visible(conn, &viewer, &identifier),
        |conn, row| db::tokens::delete(conn, row.id),
        model,
    )
    .await
}
