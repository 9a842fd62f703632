//! Issuing tokens: access tokens and ID tokens are JWTs signed with the provider's key (`kid` in
//! the header); refresh tokens are random strings stored as hashes. The claims a user gets
//! follow the granted scopes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::keys::KeyMaterial;
use super::{Client, OAuthError};
use crate::crypto;
use crate::db::users::{self, UserRow};
use crate::db::{DbConn, StoreError, UserId};

/// The token endpoint's success body.
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

/// The user claims for `scopes` (`sub` always; `profile`: name, preferred_username, groups;
/// `email`: email, email_verified).
pub fn user_claims(
    conn: &mut DbConn,
    user: &UserRow,
    scopes: &[String],
) -> Result<Map<String, Value>, StoreError> {
    let mut claims = Map::new();
    claims.insert("sub".into(), json!(user.uuid));
    let has = |s: &str| scopes.iter().any(|x| x == s);
    if has("profile") {
        claims.insert("name".into(), json!(user.name));
        claims.insert("preferred_username".into(), json!(user.username));
        let groups = users::group_names_of(conn, UserId(user.id), None)?;
        claims.insert("groups".into(), json!(groups));
    }
    if has("email") {
        claims.insert("email".into(), json!(user.email));
        // Upstream addresses are not proof of ownership (Entra's `mail` is editable by tenant
        // admins), so an address counts as verified only when an attribute says so.
        let verified = user
            .attributes_json()
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        claims.insert("email_verified".into(), json!(verified));
    }
    Ok(claims)
}

/// OIDC `at_hash`: left half of SHA-256 of the access token (both our algorithms use SHA-256).
fn at_hash(access_token: &str) -> String {
    let digest = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// What one issuance is about.
pub struct Issue<'a> {
    pub client: &'a Client,
    pub issuer: &'a str,
    pub key: &'a KeyMaterial,
    pub user: &'a UserRow,
    pub scopes: &'a [String],
    pub now: NaiveDateTime,
    pub auth_time: NaiveDateTime,
    pub nonce: Option<&'a str>,
    /// The grant the tokens belong to (revoking it revokes them); none for client credentials.
    pub grant: Option<&'a str>,
    /// The user claims for `scopes` (computed once by the caller).
    pub claims: &'a Map<String, Value>,
}

/// Signs the access token and (with `openid`) the ID token.
pub fn sign(issue: &Issue<'_>) -> Result<(String, Option<String>, i64), OAuthError> {
    let provider = &issue.client.provider;
    let iat = issue.now.and_utc().timestamp();
    let lifetime = i64::from(provider.access_token_validity);
    let exp = iat + lifetime;
    let jti = crypto::random_token(16).map_err(|e| StoreError::Internal(e.to_string()))?;
    let scope = issue.scopes.join(" ");
    let mut access = json!({
        "iss": issue.issuer,
        "sub": issue.user.uuid,
        "aud": provider.client_id,
        "azp": provider.client_id,
        "client_id": provider.client_id,
        "iat": iat,
        "exp": exp,
        "jti": jti,
        "scope": scope,
    });
    if let (Some(grant), Some(map)) = (issue.grant, access.as_object_mut()) {
        map.insert("gid".into(), json!(grant));
    }
    let access_token = issue.key.sign("at+jwt", &access)?;
    let id_token = if issue.scopes.iter().any(|s| s == "openid") {
        let mut claims = issue.claims.clone();
        claims.insert("iss".into(), json!(issue.issuer));
        claims.insert("aud".into(), json!(provider.client_id));
        claims.insert("azp".into(), json!(provider.client_id));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(exp));
        claims.insert("auth_time".into(), json!(issue.auth_time.and_utc().timestamp()));
        claims.insert("at_hash".into(), json!(at_hash(&access_token)));
        if let Some(nonce) = issue.nonce {
            claims.insert("nonce".into(), json!(nonce));
        }
        Some(issue.key.sign("JWT", &Value::Object(claims))?)
    } else {
        None
    };
    Ok((access_token, id_token, lifetime))
}

/// A fresh refresh token and its hash.
pub fn new_refresh_token() -> Result<(String, String), StoreError> {
    let token = crypto::random_token(32).map_err(|e| StoreError::Internal(e.to_string()))?;
    let hash = crypto::hash_key(&token);
    Ok((token, hash))
}
