//! Endpoints about issued tokens: userinfo (OIDC Core §5.3), introspection (RFC 7662; a
//! confidential client or an admin API token must authenticate) and
//! revocation (RFC 7009). Access tokens are JWTs; they count as live while the signature, expiry
//! and issuer hold, their grant is not revoked, their `jti` was not revoked and the user is
//! active.

use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde_json::{Value, json};

use super::client_auth::{self, Params};
use super::{OAuthError, tokens};
use crate::crypto;
use crate::db::providers::ProviderRow;
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError, oauth, time};
use crate::state::AppState;

/// A live access token: its claims and its user.
pub struct LiveToken {
    pub claims: Value,
    pub user: UserRow,
}

fn claim<'a>(claims: &'a Value, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// Checks an access token we issued. `None` when it is not (or no longer) valid.
pub fn live_access_token(
    state: &AppState,
    conn: &mut DbConn,
    token: &str,
) -> Result<Option<LiveToken>, StoreError> {
    let Ok(header) = jsonwebtoken::decode_header(token) else {
        return Ok(None);
    };
    if header.typ.as_deref() != Some("at+jwt") {
        // ID tokens are not access tokens (they are signed by the same keys).
        return Ok(None);
    }
    let Some(kid) = header.kid else {
        return Ok(None);
    };
    let now = time::now();
    let Some(key) = state.provider_keys.by_kid(conn, &state.keys, &kid, now)? else {
        return Ok(None);
    };
    let Some(claims) = key.verify(token, None) else {
        return Ok(None);
    };
    let issuer_prefix = state.settings.absolute_url("/application/o/");
    if !claim(&claims, "iss").is_some_and(|iss| iss.starts_with(&issuer_prefix)) {
        return Ok(None);
    }
    if let Some(grant) = claim(&claims, "gid")
        && !oauth::grant_live(conn, grant)?
    {
        return Ok(None);
    }
    if let Some(jti) = claim(&claims, "jti")
        && oauth::jti_revoked(conn, jti)?
    {
        return Ok(None);
    }
    let Some(sub) = claim(&claims, "sub") else {
        return Ok(None);
    };
    match db::users::by_uuid(conn, sub) {
        Ok(user) if user.is_active => Ok(Some(LiveToken { claims, user })),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|t| t.trim().to_owned())
}

async fn userinfo(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let token = match bearer(&req) {
        Some(t) => Some(t),
        // RFC 6750 §2.2: the form-encoded body parameter.
        None if !body.is_empty() => Params::parse(&req, &body)
            .ok()
            .and_then(|p| p.get("access_token").map(str::to_owned)),
        None => None,
    };
    let Some(token) = token else {
        return OAuthError::invalid_token("no access token: send it as `Authorization: Bearer <token>`")
            .response();
    };
    let db_state = state.clone();
    let result = state
        .db
        .run(move |conn| {
            let Some(live) = live_access_token(&db_state, conn, &token)? else {
                return Ok::<_, StoreError>(None);
            };
            let scopes: Vec<String> = claim(&live.claims, "scope")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_owned)
                .collect();
            Ok(Some(tokens::user_claims(conn, &live.user, &scopes)?))
        })
        .await;
    match result {
        Ok(Some(claims)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(claims),
        Ok(None) => OAuthError::invalid_token("the access token is not valid (expired, revoked or unknown)")
            .response(),
        Err(e) => OAuthError::from(e).response(),
    }
}

#[get("/application/o/userinfo/")]
pub async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    userinfo(state, req, web::Bytes::new()).await
}

#[post("/application/o/userinfo/")]
pub async fn userinfo_post(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    userinfo(state, req, body).await
}

/// Who asks an introspection question.
enum Asker {
    /// A confidential client, authenticated: it learns only about tokens issued to it.
    Client(client_auth::Presented),
    /// A superuser's admin API token (a resource server's operator): any token.
    Admin,
}

/// RFC 7662 §2.1 requires the caller to authenticate: a confidential client's secret or an
/// admin API token as bearer. A public client's `client_id` proves nothing (anyone can send
/// it), so it is refused rather than answered.
async fn asker(state: &AppState, req: &HttpRequest, params: &Params) -> Result<Asker, OAuthError> {
    let Some(key) = bearer(req) else {
        return Ok(Asker::Client(client_auth::presented(req, params)?));
    };
    let caller = crate::api::auth::authenticate_token(state, key)
        .await
        .map_err(|_| OAuthError::invalid_client("the bearer token is not a valid API token"))?;
    if caller.is_superuser {
        Ok(Asker::Admin)
    } else {
        Err(OAuthError::invalid_client(
            "only a superuser's API token may introspect tokens",
        ))
    }
}

/// RFC 7662. A client learns only about tokens issued to it; an admin API token about any.
#[post("/application/o/introspect/")]
pub async fn introspect(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let run = async {
        let params = Params::parse(&req, &body)?;
        let asker = asker(&state, &req, &params).await?;
        let token = params.require("token")?.to_owned();
        let db_state = state.clone();
        state
            .db
            .run(move |conn| {
                let client = match asker {
                    Asker::Admin => None,
                    Asker::Client(presented) => {
                        let client = client_auth::load_client(conn, &presented.client_id)?;
                        if client.provider.is_public() {
                            return Err(OAuthError::invalid_client(
                                "public clients cannot introspect tokens: authenticate as a \
                                 confidential client or with an admin API token",
                            ));
                        }
                        client_auth::authenticate(&client, &presented)?;
                        Some(client)
                    }
                };
                describe(&db_state, conn, client.as_ref().map(|c| &c.provider), &token)
            })
            .await
    };
    match run.await {
        Ok(body) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .json(body),
        Err(e) => e.response(),
    }
}

/// The introspection answer for `token`, limited to the tokens of `owner` when given.
fn describe(
    state: &AppState,
    conn: &mut DbConn,
    owner: Option<&ProviderRow>,
    token: &str,
) -> Result<Value, OAuthError> {
    let inactive = json!({"active": false});
    if let Some(live) = live_access_token(state, conn, token)? {
        if owner.is_some_and(|o| claim(&live.claims, "client_id") != Some(o.client_id.as_str())) {
            return Ok(inactive);
        }
        let mut out = json!({
            "active": true,
            "token_type": "Bearer",
            "username": live.user.username,
        });
        if let (Some(map), Some(claims)) = (out.as_object_mut(), live.claims.as_object()) {
            for name in ["scope", "client_id", "sub", "aud", "iss", "exp", "iat", "jti"] {
                if let Some(v) = claims.get(name) {
                    map.insert(name.into(), v.clone());
                }
            }
        }
        return Ok(out);
    }
    let Some((row, grant)) = oauth::refresh_by_hash(conn, &crypto::hash_key(token))? else {
        return Ok(inactive);
    };
    let now = time::now();
    if owner.is_some_and(|o| grant.provider_id != o.id) || grant.revoked || row.rotated || row.expires <= now
    {
        return Ok(inactive);
    }
    let user = db::users::get(conn, db::UserId(grant.user_id))?;
    if !user.is_active {
        return Ok(inactive);
    }
    let provider = db::providers::get(conn, grant.provider_id)?;
    Ok(json!({
        "active": true,
        "token_type": "refresh_token",
        "scope": grant.scope,
        "client_id": provider.client_id,
        "username": user.username,
        "sub": user.uuid,
        "exp": row.expires.and_utc().timestamp(),
        "iat": row.created.and_utc().timestamp(),
    }))
}

/// RFC 7009. A refresh token revokes its whole grant (and so the access tokens of that grant);
/// an access token is revoked alone, by `jti`, until it expires. Unknown tokens answer 200 too.
#[post("/application/o/revoke/")]
pub async fn revoke(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let run = async {
        let params = Params::parse(&req, &body)?;
        let presented = client_auth::presented(&req, &params)?;
        let token = params.require("token")?.to_owned();
        let db_state = state.clone();
        state
            .db
            .run(move |conn| {
                let client = client_auth::load_client(conn, &presented.client_id)?;
                client_auth::authenticate(&client, &presented)?;
                if let Some((_, grant)) = oauth::refresh_by_hash(conn, &crypto::hash_key(&token))? {
                    if grant.provider_id == client.provider.id {
                        oauth::revoke_grant(conn, grant.id)?;
                    }
                    return Ok(());
                }
                if let Some(live) = live_access_token(&db_state, conn, &token)?
                    && claim(&live.claims, "client_id") == Some(client.provider.client_id.as_str())
                {
                    let exp = live.claims.get("exp").and_then(Value::as_i64).unwrap_or_default();
                    let expires =
                        chrono::DateTime::from_timestamp(exp, 0).map_or_else(time::now, |t| t.naive_utc());
                    if let Some(jti) = claim(&live.claims, "jti") {
                        oauth::revoke_jti(conn, jti, expires)?;
                    }
                }
                Ok::<_, OAuthError>(())
            })
            .await
    };
    match run.await {
        Ok(()) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .finish(),
        Err(e) => e.response(),
    }
}
