//! `POST /application/o/token/`: `authorization_code` (single-use codes; a replayed code revokes
//! what it issued), `refresh_token` (rotation; a reused refresh token revokes the grant) and
//! `client_credentials` (a confidential client's own token, or the machine-to-machine exchange
//! of an Entra token in `client_assertion`).

use actix_web::{HttpRequest, HttpResponse, post, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Duration;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::client_auth::{self, Params};
use super::tokens::{self, Issue, TokenResponse};
use super::{Client, OAuthError};
use crate::crypto;
use crate::db::oauth::{self, NewGrant};
use crate::db::users::UserRow;
use crate::db::{self, DbConn, StoreError, UserId, time, write_tx};
use crate::state::AppState;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

impl From<diesel::result::Error> for OAuthError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

pub fn token_json(body: &TokenResponse) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(body)
}

#[post("/application/o/token/")]
pub async fn token(state: web::Data<AppState>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match handle(state, req, body).await {
        Ok(response) => token_json(&response),
        Err(error) => error.response(),
    }
}

async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<TokenResponse, OAuthError> {
    let params = Params::parse(&req, &body)?;
    match params.require("grant_type")? {
        "authorization_code" => {
            let presented = client_auth::presented(&req, &params)?;
            let db_state = state.clone();
            state
                .db
                .run(move |conn| redeem_code(&db_state, conn, &params, &presented))
                .await
        }
        "refresh_token" => {
            let presented = client_auth::presented(&req, &params)?;
            let db_state = state.clone();
            state
                .db
                .run(move |conn| refresh(&db_state, conn, &params, &presented))
                .await
        }
        "client_credentials" => {
            if params.get("client_assertion_type").is_some() || params.get("client_assertion").is_some() {
                return super::m2m::exchange(&state, &req, &params).await;
            }
            let presented = client_auth::presented(&req, &params)?;
            let db_state = state.clone();
            state
                .db
                .run(move |conn| own_credentials(&db_state, conn, &params, &presented))
                .await
        }
        other => Err(OAuthError::new(
            "unsupported_grant_type",
            format!("the grant type `{other}` is not supported"),
        )),
    }
}

/// RFC 7636 §4.6.
/// S256 only; a `plain` code (none are issued any more) never matches.
fn pkce_matches(method: &str, challenge: &str, verifier: &str) -> bool {
    let computed = match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())),
        _ => return false,
    };
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn active_user(conn: &mut DbConn, id: i64) -> Result<UserRow, OAuthError> {
    match db::users::get(conn, UserId(id)) {
        Ok(user) if user.is_active => Ok(user),
        Ok(_) | Err(StoreError::NotFound) => Err(OAuthError::invalid_grant("the user is no longer active")),
        Err(e) => Err(e.into()),
    }
}

fn authenticated_client(conn: &mut DbConn, presented: &client_auth::Presented) -> Result<Client, OAuthError> {
    let client = client_auth::load_client(conn, &presented.client_id)?;
    client_auth::authenticate(&client, presented)?;
    Ok(client)
}

/// Outcome of a transaction that must commit even when the request fails (a burned code, a
/// revoked grant): the outer `Result` is the transaction's, the inner one the answer.
type Committed = Result<Result<TokenResponse, OAuthError>, OAuthError>;

fn redeem_code(
    state: &AppState,
    conn: &mut DbConn,
    params: &Params,
    presented: &client_auth::Presented,
) -> Result<TokenResponse, OAuthError> {
    let code = params.require("code")?.to_owned();
    let redirect_uri = params.require("redirect_uri")?.to_owned();
    let verifier = params.get("code_verifier").map(str::to_owned);
    let client = authenticated_client(conn, presented)?;
    let committed: Committed = write_tx(conn, |conn| {
        let now = time::now();
        let Some(row) = oauth::code_by_hash(conn, &crypto::hash_key(&code))? else {
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code is not valid",
            )));
        };
        if row.provider_id != client.provider.id {
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was issued to another client",
            )));
        }
        if row.used {
            // RFC 6749 §4.1.2: a code used twice revokes what it issued.
            if let Some(grant) = row.grant_id {
                oauth::revoke_grant(conn, grant)?;
            }
            tracing::warn!(provider = %client.provider.name, "authorization code replayed; its tokens are revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked",
            )));
        }
        if row.expires <= now {
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code has expired",
            )));
        }
        if row.redirect_uri != redirect_uri {
            return Ok(Err(OAuthError::invalid_grant(
                "redirect_uri does not match the one of the authorization request",
            )));
        }
        let pkce_error = match (&row.code_challenge, &verifier) {
            (Some(challenge), Some(v)) => {
                let method = row.code_challenge_method.as_deref().unwrap_or("plain");
                (!valid_verifier(v) || !pkce_matches(method, challenge, v))
                    .then_some("the PKCE code_verifier does not match the code_challenge")
            }
            (Some(_), None) => Some("code_verifier is required: the authorization used PKCE"),
            (None, Some(_)) => {
                Some("code_verifier sent, but the authorization request had no code_challenge")
            }
            (None, None) => None,
        };
        if let Some(message) = pkce_error {
            // A wrong verifier burns the code: it cannot be tried again.
            oauth::burn_code(conn, row.id)?;
            return Ok(Err(OAuthError::invalid_grant(message)));
        }
        let user = match active_user(conn, row.user_id) {
            Ok(user) => user,
            Err(e) => return Ok(Err(e)),
        };
        let scopes: Vec<String> = row.scope.split_whitespace().map(str::to_owned).collect();
        let refresh_validity = Duration::seconds(i64::from(client.provider.refresh_token_validity));
        let access_validity = Duration::seconds(i64::from(client.provider.access_token_validity));
        let grant = oauth::insert_grant(
            conn,
            &NewGrant {
                uuid: uuid::Uuid::new_v4().to_string(),
                provider_id: client.provider.id,
                user_id: user.id,
                scope: row.scope.clone(),
                nonce: row.nonce.clone(),
                auth_time: row.auth_time,
                created: now,
                expires: now + refresh_validity.max(access_validity),
            },
        )?;
        if !oauth::claim_code(conn, row.id, grant.id)? {
            // A concurrent redemption won (PostgreSQL let both read the code unused). The code was
            // still presented twice, so the replay rule applies: revoke what the winner got, and
            // the grant made here for nothing.
            oauth::revoke_grant(conn, grant.id)?;
            if let Some(winner) = oauth::code_by_hash(conn, &row.code_hash)?.and_then(|r| r.grant_id) {
                oauth::revoke_grant(conn, winner)?;
            }
            tracing::warn!(provider = %client.provider.name, "authorization code redeemed concurrently; its tokens are revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was already used; the tokens issued for it are revoked",
            )));
        }
        let response = issue(
            state,
            conn,
            &client,
            &user,
            &scopes,
            &grant,
            row.nonce.as_deref(),
            now,
        )?;
        Ok(Ok(response))
    });
    committed?
}

/// Signs tokens for a grant, with a refresh token when `offline_access` was granted.
#[allow(clippy::too_many_arguments)]
fn issue(
    state: &AppState,
    conn: &mut DbConn,
    client: &Client,
    user: &UserRow,
    scopes: &[String],
    grant: &oauth::GrantRow,
    nonce: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<TokenResponse, OAuthError> {
    let key = state
        .provider_keys
        .get(conn, &state.keys, client.provider.signing_key_id)?;
    let claims = tokens::user_claims(conn, user, scopes)?;
    let issuer = client.issuer(&state.settings);
    let (access_token, id_token, expires_in) = tokens::sign(&Issue {
        client,
        issuer: &issuer,
        key: &key,
        user,
        scopes,
        now,
        auth_time: grant.auth_time,
        nonce,
        grant: Some(&grant.uuid),
        claims: &claims,
    })?;
    let refresh_token = if scopes.iter().any(|s| s == "offline_access") {
        let (refresh, hash) = tokens::new_refresh_token()?;
        let expires = now + Duration::seconds(i64::from(client.provider.refresh_token_validity));
        oauth::insert_refresh_token(conn, &hash, grant.id, now, expires)?;
        oauth::extend_grant(conn, grant.id, expires)?;
        Some(refresh)
    } else {
        None
    };
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scopes.join(" "),
        id_token,
        refresh_token,
    })
}

fn refresh(
    state: &AppState,
    conn: &mut DbConn,
    params: &Params,
    presented: &client_auth::Presented,
) -> Result<TokenResponse, OAuthError> {
    let presented_token = params.require("refresh_token")?.to_owned();
    let requested_scope = params.get("scope").map(str::to_owned);
    let client = authenticated_client(conn, presented)?;
    let committed: Committed = write_tx(conn, |conn| {
        let now = time::now();
        let Some((row, grant)) = oauth::refresh_by_hash(conn, &crypto::hash_key(&presented_token))? else {
            return Ok(Err(OAuthError::invalid_grant("the refresh token is not valid")));
        };
        if grant.provider_id != client.provider.id {
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was issued to another client",
            )));
        }
        if grant.revoked {
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token has been revoked",
            )));
        }
        if row.rotated {
            // Reuse after rotation: someone holds a copy. Revoke the whole grant (RFC 9700 §4.14).
            oauth::revoke_grant(conn, grant.id)?;
            tracing::warn!(provider = %client.provider.name, "refresh token reused after rotation; grant revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was already used; the grant is revoked",
            )));
        }
        if row.expires <= now {
            return Ok(Err(OAuthError::invalid_grant("the refresh token has expired")));
        }
        let granted: Vec<String> = grant.scope.split_whitespace().map(str::to_owned).collect();
        let scopes = match &requested_scope {
            Some(requested) => {
                let asked: Vec<String> = requested.split_whitespace().map(str::to_owned).collect();
                if let Some(extra) = asked.iter().find(|s| !granted.contains(s)) {
                    return Ok(Err(OAuthError::new(
                        "invalid_scope",
                        format!("the scope `{extra}` was not granted originally"),
                    )));
                }
                asked
            }
            None => granted,
        };
        let user = match active_user(conn, grant.user_id) {
            Ok(user) => user,
            Err(e) => return Ok(Err(e)),
        };
        if !oauth::rotate_refresh(conn, row.id)? {
            // A concurrent rotation won: the token was used twice all the same, so the reuse rule
            // applies whichever request read it first.
            oauth::revoke_grant(conn, grant.id)?;
            tracing::warn!(provider = %client.provider.name, "refresh token used concurrently; grant revoked");
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was already used; the grant is revoked",
            )));
        }
        // The rotated token must carry on even if `offline_access` was narrowed away.
        let mut scopes = scopes;
        if !scopes.iter().any(|s| s == "offline_access") {
            scopes.push("offline_access".into());
        }
        Ok(Ok(issue(
            state, conn, &client, &user, &scopes, &grant, None, now,
        )?))
    });
    committed?
}

/// `client_credentials` with the client's own secret: the token is about the client, which is
/// represented by a service account.
fn own_credentials(
    state: &AppState,
    conn: &mut DbConn,
    params: &Params,
    presented: &client_auth::Presented,
) -> Result<TokenResponse, OAuthError> {
    let client = authenticated_client(conn, presented)?;
    if client.provider.is_public() {
        return Err(OAuthError::new(
            "unauthorized_client",
            "public clients cannot use client_credentials",
        ));
    }
    let scopes = super::m2m::machine_scopes(&client, params.get("scope"))?;
    let username = format!("{}-client", super::m2m::username_part(&client.provider.name));
    let user = super::m2m::service_account(
        conn,
        &super::m2m::ServiceAccount {
            username,
            name: format!("{} (client credentials)", client.provider.name),
            attributes: serde_json::json!({"oauth_client_id": client.provider.client_id}),
            path: "service-accounts".into(),
        },
    )?;
    super::m2m::issue_machine(state, conn, &client, &user, &scopes)
}
