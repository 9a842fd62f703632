//! Machine-to-machine (DESIGN §8): a service sends the token it got from Entra ID with the
//! client-credentials grant (`scope=api://<client id>/.default`) as `client_assertion`; Gatehouse
//! validates it against the provider's `jwt_federation_sources` through their plugins (signature,
//! issuer, audience, lifetime, app-only, allowed apps and required roles — see [`trust`]), maps
//! the calling application to a service account through the source's user mappings, and answers
//! with its own tokens.
//!
//! A successful exchange of a known application writes nothing: the service account is only
//! written when it is created or its mapped properties change.

use actix_web::HttpRequest;
use gatehouse_mappings::{RequestInfo, SourceInfo};
use gatehouse_plugins::{BaseProperties, GroupSync, MachineIdentity, UpstreamIdentity, UpstreamTokens};
use serde_json::{Value, json};

use super::client_auth::{self, Params};
use super::token::JWT_BEARER;
use super::tokens::{self, Issue, TokenResponse};
use super::trust;
use super::{Client, OAuthError, granted_scopes};
use crate::db::sources::SourceRow;
use crate::db::users::{self, NewUser, UserChanges, UserRow};
use crate::db::{self, DbConn, StoreError, time};
use crate::http::client::ClientInfo;
use crate::sources::mapping::{self, Mapped, MappingInput};
use crate::state::AppState;

/// The scopes of a machine token: what was asked for (default `openid profile email`), minus
/// `offline_access` (there is nothing to refresh: the service asks again).
pub fn machine_scopes(client: &Client, requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let requested = requested.unwrap_or("openid profile email");
    let scopes: Vec<String> = granted_scopes(&client.provider, requested)
        .into_iter()
        .filter(|s| s != "offline_access")
        .collect();
    if let Some(unknown) = requested
        .split_whitespace()
        .find(|s| *s != "offline_access" && !scopes.iter().any(|g| g == s))
    {
        return Err(OAuthError::new(
            "invalid_scope",
            format!("the scope `{unknown}` is not available to this client"),
        ));
    }
    Ok(scopes)
}

/// A name usable inside a username: lower case, runs of other characters as `-`.
pub fn username_part(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// The service account a machine is represented by.
#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub username: String,
    pub name: String,
    pub attributes: Value,
    pub path: String,
}

/// Finds or creates the service account; updates it only when its properties changed. A
/// username that belongs to a person is refused rather than taken over.
pub fn service_account(conn: &mut DbConn, wanted: &ServiceAccount) -> Result<UserRow, OAuthError> {
    let check = |user: UserRow| -> Result<UserRow, OAuthError> {
        if user.user_type != "service_account" {
            return Err(OAuthError::invalid_grant(format!(
                "the username `{}` belongs to a user who is not a service account",
                user.username
            )));
        }
        if !user.is_active {
            return Err(OAuthError::invalid_grant("the service account is deactivated"));
        }
        Ok(user)
    };
    if let Some(user) = users::find_by_username(conn, &wanted.username)? {
        let user = check(user)?;
        let attributes = wanted.attributes.to_string();
        if user.name == wanted.name && user.attributes_json() == wanted.attributes {
            return Ok(user);
        }
        return Ok(users::update(
            conn,
            user.id(),
            &UserChanges {
                name: Some(wanted.name.clone()),
                attributes: Some(attributes),
                ..UserChanges::default()
            },
        )?);
    }
    let mut new = NewUser::new(&wanted.username);
    new.name = wanted.name.clone();
    new.user_type = "service_account".into();
    new.path = wanted.path.clone();
    new.attributes = wanted.attributes.to_string();
    match users::insert(conn, &new) {
        Ok(user) => Ok(user),
        // Two first exchanges at once: the other one created it.
        Err(StoreError::Unique { .. }) => match users::find_by_username(conn, &wanted.username)? {
            Some(user) => check(user),
            None => Err(StoreError::Internal("service account vanished".into()).into()),
        },
        Err(e) => Err(e.into()),
    }
}

/// Signs a machine token response (access token and ID token, no refresh token).
pub fn issue_machine(
    state: &AppState,
    conn: &mut DbConn,
    client: &Client,
    user: &UserRow,
    scopes: &[String],
) -> Result<TokenResponse, OAuthError> {
    let now = time::now();
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
        auth_time: now,
        nonce: None,
        grant: None,
        claims: &claims,
    })?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scopes.join(" "),
        id_token,
        refresh_token: None,
    })
}

/// What the database says about the client and its federated sources.
struct Federation {
    client: Client,
    sources: Vec<(SourceRow, Vec<gatehouse_mappings::Mapping>)>,
}

pub async fn exchange(
    state: &actix_web::web::Data<AppState>,
    req: &HttpRequest,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client_id = params.require("client_id")?.to_owned();
    if params.get("client_assertion_type") != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_request(format!(
            "client_assertion_type must be {JWT_BEARER}"
        )));
    }
    let assertion = params.require("client_assertion")?.to_owned();
    let scopes_param = params.get("scope").map(str::to_owned);
    let federation = state
        .db
        .run(move |conn| {
            let client = client_auth::load_client(conn, &client_id)?;
            let sources = db::providers::federation_sources(conn, client.provider.id)?
                .into_iter()
                .filter(|s| s.enabled)
                .map(|source| {
                    let scripts = db::sources::mappings(conn, source.id, "user")?
                        .into_iter()
                        .map(|m| gatehouse_mappings::Mapping::new(m.name, m.expression))
                        .collect();
                    Ok::<_, StoreError>((source, scripts))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, OAuthError>(Federation { client, sources })
        })
        .await?;
    let client = federation.client;
    let scopes = machine_scopes(&client, scopes_param.as_deref())?;
    if federation.sources.is_empty() {
        return Err(OAuthError::invalid_grant(
            "this client accepts no machine tokens: its provider has no jwt_federation_sources",
        ));
    }
    let rules = trust::rules_of(&client.provider);
    if !rules.names_callers() {
        // A provider left so by the 000006 migration: the operator must name who may exchange.
        return Err(OAuthError::invalid_grant(format!(
            "this provider refuses machine tokens until it is fixed. {}",
            trust::NAMES_NOBODY
        )));
    }
    let mut failures = Vec::new();
    let mut validated = None;
    for (source, scripts) in federation.sources {
        if trust::accepts_any_tenant(&state.plugins, &source) {
            failures.push(format!(
                "{}: the source accepts every tenant; set its settings.allowed_tenants",
                source.slug
            ));
            continue;
        }
        let (plugin, cfg) = match crate::sources::config::plugin_config(state, &source) {
            Ok(found) => found,
            Err(message) => {
                tracing::warn!(source = %source.slug, %message, "federated source unusable");
                failures.push(format!("{}: the source is misconfigured", source.slug));
                continue;
            }
        };
        match plugin
            .validate_machine_token(&state.plugin_context, &cfg, &assertion, &rules)
            .await
        {
            Ok(identity) => {
                validated = Some((source, scripts, identity));
                break;
            }
            Err(e) => failures.push(match &e {
                gatehouse_plugins::PluginError::MachineToken { description, .. } => description.clone(),
                other => other.to_string(),
            }),
        }
    }
    let Some((source, scripts, identity)) = validated else {
        let description = if failures.len() == 1 {
            failures.remove(0)
        } else {
            format!("no federated source accepted the token: {}", failures.join("; "))
        };
        return Err(OAuthError::invalid_grant(description));
    };
    let account = map_account(state, req, &client, &source, scripts, &identity).await?;
    let db_state = state.clone();
    state
        .db
        .run(move |conn| {
            // The common case (a known app, nothing changed) is a read: no write transaction,
            // which on SQLite would take the database's write lock for every exchange.
            let known = match db::users::find_by_username(conn, &account.username)? {
                Some(user)
                    if user.user_type == "service_account"
                        && user.is_active
                        && user.name == account.name
                        && user.attributes_json() == account.attributes =>
                {
                    Some(user)
                }
                _ => None,
            };
            let user = match known {
                Some(user) => user,
                None => db::write_tx(conn, |conn| service_account(conn, &account))?,
            };
            issue_machine(&db_state, conn, &client, &user, &scopes)
        })
        .await
}

/// The service account for a validated machine identity: default username
/// `<provider>-<app id>`, then the source's user mappings (which see the token's claims as
/// `info` and `claims`, with `info.gatehouse_machine = true`).
async fn map_account(
    state: &actix_web::web::Data<AppState>,
    req: &HttpRequest,
    client: &Client,
    source: &SourceRow,
    scripts: Vec<gatehouse_mappings::Mapping>,
    identity: &MachineIdentity,
) -> Result<ServiceAccount, OAuthError> {
    let default_username = format!("{}-{}", username_part(&client.provider.name), identity.app_id);
    let display = identity
        .claims
        .get("app_displayname")
        .and_then(Value::as_str)
        .map_or_else(|| identity.app_id.clone(), str::to_owned);
    let base_attributes = json!({
        "m2m": {"source": source.slug, "app_id": identity.app_id, "tenant_id": identity.tenant_id},
    });
    if scripts.is_empty() {
        return Ok(ServiceAccount {
            username: default_username,
            name: display,
            attributes: base_attributes,
            path: format!("service-accounts/{}", source.slug),
        });
    }
    let mut info = identity.claims.as_object().cloned().unwrap_or_default();
    info.insert("gatehouse_machine".into(), Value::Bool(true));
    let upstream = UpstreamIdentity {
        identifier: identity.app_id.clone(),
        info: Value::Object(info),
        base: BaseProperties {
            username: Some(default_username),
            email: None,
            name: Some(display),
        },
        groups: GroupSync::Off,
        claims: identity.claims.clone(),
        tokens: UpstreamTokens {
            access_token: String::new(),
            refresh_token: None,
            expires_at: None,
            id_token: None,
        },
    };
    let client_info = ClientInfo::of(req);
    let engine_state = state.clone();
    let source_info = SourceInfo {
        slug: source.slug.clone(),
        name: source.name.clone(),
        provider_type: source.provider_type.clone(),
    };
    let path = format!("service-accounts/{}", source.slug);
    let mapped = tokio::task::spawn_blocking(move || {
        mapping::evaluate(
            &engine_state.mappings,
            MappingInput {
                identity: &upstream,
                groups: None,
                source: source_info,
                path,
                user_mappings: scripts,
                group_mappings: Vec::new(),
                existing_user: None,
                request: RequestInfo {
                    ip: client_info.ip,
                    user_agent: client_info.user_agent,
                },
            },
        )
    })
    .await
    .map_err(|e| StoreError::Internal(format!("mapping task failed: {e}")))?;
    let properties = match mapped {
        Mapped::Ok { properties, .. } => properties,
        Mapped::Denied { mapping, message, .. } => {
            return Err(OAuthError::invalid_grant(format!(
                "denied by mapping `{mapping}`: {message}"
            )));
        }
        Mapped::Failed { error, .. } => {
            tracing::warn!(source = %source.slug, error = %error.message, "machine mapping failed");
            return Err(OAuthError::invalid_grant(format!(
                "the source's mappings failed for this application: {}",
                error.message
            )));
        }
    };
    let text = |key: &str| properties.get(key).and_then(Value::as_str).map(str::to_owned);
    let username = text("username").unwrap_or_default();
    crate::validate::username(&username)
        .map_err(|m| OAuthError::invalid_grant(format!("the mapped username is not valid: {m}")))?;
    let mut attributes = base_attributes;
    if let (Some(Value::Object(extra)), Some(map)) =
        (properties.get("attributes"), attributes.as_object_mut())
    {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    Ok(ServiceAccount {
        username,
        name: text("name").unwrap_or_else(|| identity.app_id.clone()),
        attributes,
        path: text("path").unwrap_or_else(|| format!("service-accounts/{}", source.slug)),
    })
}
