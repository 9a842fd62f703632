//! `sources/oauth/` (looked up by slug): OAuth/OIDC sources such as Entra ID, and
//! `sources/oauth/source_types/`. The client secret and private key are write-only and encrypted
//! at rest; the plugin validates its own settings.

use actix_web::{HttpResponse, delete, get, patch, post, put, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use gatehouse_plugins::{ClientCredential, SourceConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{IntoParams, ToSchema};

use super::audit::{ModelRef, delete_audited, record_change};
use super::auth::Caller;
use super::list::{ListParams, Paginated, bool_filter};
use crate::db::sources::{SourceFilter, SourceRow, SourceValues};
use crate::db::{self, DbConn, StoreError, time, write_tx};
use crate::error::{ApiError, FieldErrors, add_field_error as add};
use crate::flows::defaults::{SOURCE_AUTHENTICATION_FLOW, SOURCE_ENROLLMENT_FLOW};
use crate::http::client::ClientInfo;
use crate::http::json::{ApiJson, double_option};
use crate::sources::config::{private_key_context, secret_context};
use crate::sources::matching::{GROUP_MODES, MODES};
use crate::state::AppState;

/// Secrets expiring within this many days are flagged.
pub const SECRET_WARNING_DAYS: i64 = 30;

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceTypeInfo {
    pub name: String,
    pub verbose_name: String,
    pub icon_url: String,
    pub urls_customizable: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthSource {
    /// The source's UUID.
    pub pk: String,
    pub name: String,
    pub slug: String,
    pub enabled: bool,
    pub promoted: bool,
    pub provider_type: String,
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub source_type: Option<SourceTypeInfo>,
    /// Application (client) ID.
    pub consumer_key: String,
    /// Whether a client secret is stored (the secret itself is never returned).
    pub has_consumer_secret: bool,
    /// `client_secret_post` or `private_key_jwt`.
    pub client_auth: String,
    /// The certificate registered upstream (public); the private key is never returned.
    pub certificate: Option<String>,
    pub secret_expires: Option<DateTime<Utc>>,
    /// Set when the secret expires within 30 days (or has expired).
    pub secret_expiry_warning: Option<String>,
    pub additional_scopes: String,
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// The URLs in effect (explicit ones, else derived from the settings).
    #[schema(value_type = Object)]
    pub resolved_urls: Value,
    pub user_matching_mode: String,
    pub group_matching_mode: String,
    /// Whether logins rewrite the username of an account that a `*_link` mode joined (rather
    /// than one the source enrolled). Off by default: a linked account keeps its username.
    pub sync_username_on_link: bool,
    /// Flow UUIDs.
    pub authentication_flow: Option<String>,
    pub enrollment_flow: Option<String>,
    /// Property mapping UUIDs, in evaluation order.
    pub user_property_mappings: Vec<String>,
    pub group_property_mappings: Vec<String>,
    pub user_path_template: String,
    pub icon: String,
    pub icon_url: String,
    #[schema(value_type = Object)]
    pub settings: Value,
    /// The redirect URI to register upstream.
    pub callback_url: String,
}

/// The expiry warning for a secret, if any.
pub fn expiry_warning(expires: Option<NaiveDateTime>, now: NaiveDateTime) -> Option<String> {
    let expires = expires?;
    let days = (expires - now).num_days();
    if expires <= now {
        Some(format!(
            "The client secret expired on {}; sign-in fails until it is rotated.",
            expires.date()
        ))
    } else if days < SECRET_WARNING_DAYS {
        Some(format!(
            "The client secret expires on {} (in {days} days); create a new one in Entra ID and update this source.",
            expires.date()
        ))
    } else {
        None
    }
}

impl OAuthSource {
    fn load(state: &AppState, conn: &mut DbConn, row: SourceRow) -> Result<Self, ApiError> {
        let flows = db::flows::flow_uuids(
            conn,
            &[row.authentication_flow_id, row.enrollment_flow_id]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>(),
        )?;
        let mapping_uuids = |conn: &mut DbConn, role: &str| -> Result<Vec<String>, StoreError> {
            Ok(db::sources::mappings(conn, row.id, role)?
                .into_iter()
                .map(|m| m.uuid)
                .collect())
        };
        let user_property_mappings = mapping_uuids(conn, "user")?;
        let group_property_mappings = mapping_uuids(conn, "group")?;
        let plugin = state.plugins.get(&row.provider_type);
        let settings: Value = serde_json::from_str(&row.settings).unwrap_or_else(|_| json!({}));
        let resolved_urls = plugin
            .as_ref()
            .and_then(|p| p.resolve_urls(&config_for(&row, settings.clone())).ok())
            .map(|u| serde_json::to_value(u).unwrap_or_default())
            .unwrap_or_else(|| json!({}));
        Ok(Self {
            source_type: plugin.as_ref().map(|p| {
                let d = p.description();
                SourceTypeInfo {
                    name: d.name.clone(),
                    verbose_name: d.verbose_name.clone(),
                    icon_url: format!("/static/{}", d.icon),
                    urls_customizable: d.urls_customizable,
                }
            }),
            callback_url: crate::sources::callback_url(state, &row.slug),
            icon_url: row.icon_url(),
            secret_expiry_warning: expiry_warning(row.secret_expires, time::now()),
            secret_expires: row.secret_expires.map(time::to_utc),
            has_consumer_secret: row.consumer_secret.is_some(),
            authentication_flow: row.authentication_flow_id.and_then(|id| flows.get(&id).cloned()),
            enrollment_flow: row.enrollment_flow_id.and_then(|id| flows.get(&id).cloned()),
            user_property_mappings,
            group_property_mappings,
            resolved_urls,
            settings,
            pk: row.uuid,
            name: row.name,
            slug: row.slug,
            enabled: row.enabled,
            promoted: row.promoted,
            provider_type: row.provider_type,
            consumer_key: row.consumer_key,
            client_auth: row.client_auth,
            certificate: row.certificate,
            additional_scopes: row.additional_scopes,
            authorization_url: row.authorization_url,
            access_token_url: row.access_token_url,
            profile_url: row.profile_url,
            oidc_jwks_url: row.oidc_jwks_url,
            user_matching_mode: row.user_matching_mode,
            group_matching_mode: row.group_matching_mode,
            sync_username_on_link: row.sync_username_on_link,
            user_path_template: row.user_path_template,
            icon: row.icon,
        })
    }
}

/// A configuration for the plugin's URL resolution and validation (no secret needed).
fn config_for(row: &SourceRow, settings: Value) -> SourceConfig {
    crate::sources::config::config_with(row, ClientCredential::Secret(String::new()), settings)
}

/// Body of create and update. On update, absent fields keep their value; `null` clears the
/// nullable ones.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthSourceWrite {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub enabled: Option<bool>,
    pub promoted: Option<bool>,
    /// A source type name from `source_types/` (`entraid`, `openidconnect`).
    pub provider_type: Option<String>,
    pub consumer_key: Option<String>,
    /// Write-only; stored encrypted.
    pub consumer_secret: Option<String>,
    /// `client_secret_post` (default) or `private_key_jwt`.
    pub client_auth: Option<String>,
    /// PEM private key for `private_key_jwt`; write-only, stored encrypted.
    pub private_key: Option<String>,
    /// PEM certificate registered upstream, for `private_key_jwt`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub certificate: Option<Option<String>>,
    /// When the client secret expires (date or RFC 3339 time), to be warned 30 days before.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub secret_expires: Option<Option<String>>,
    /// Space-separated extra scopes, e.g. `https://graph.microsoft.com/GroupMember.Read.All`.
    pub additional_scopes: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub authorization_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub access_token_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub profile_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub oidc_jwks_url: Option<Option<String>>,
    /// `identifier`, `email_link`, `email_deny`, `username_link`, `username_deny`.
    pub user_matching_mode: Option<String>,
    /// `identifier`, `name_link`, `name_deny`.
    pub group_matching_mode: Option<String>,
    /// Let logins rewrite the username of a linked (not enrolled) account; default `false`.
    pub sync_username_on_link: Option<bool>,
    /// Flow UUID (default: `default-source-authentication`); `null` for none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub authentication_flow: Option<Option<String>>,
    /// Flow UUID (default: `default-source-enrollment`); `null` for none (no enrollment).
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub enrollment_flow: Option<Option<String>>,
    pub user_property_mappings: Option<Vec<String>>,
    pub group_property_mappings: Option<Vec<String>>,
    pub user_path_template: Option<String>,
    pub icon: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub settings: Option<Value>,
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time.
fn parse_expiry(raw: &str) -> Option<NaiveDateTime> {
    if let Ok(date) = NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
        return date.and_hms_opt(0, 0, 0);
    }
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| time::from_utc(t.with_timezone(&Utc)))
}

/// Applies a write body to `values`, checking every field; returns the plaintext secret and key
/// to encrypt (if given) and the mapping UUIDs.
struct Applied {
    secret: Option<String>,
    private_key: Option<String>,
    user_mappings: Option<Vec<i64>>,
    group_mappings: Option<Vec<i64>>,
}

fn apply(
    state: &AppState,
    conn: &mut DbConn,
    body: &OAuthSourceWrite,
    values: &mut SourceValues,
    existing: Option<&SourceRow>,
) -> Result<Applied, ApiError> {
    let mut errors = FieldErrors::new();
    let creating = existing.is_none();
    let require = |errors: &mut FieldErrors, field: &str, present: bool| {
        if creating && !present {
            add(errors, field, "This field is required.");
        }
    };
    require(&mut errors, "name", body.name.is_some());
    require(&mut errors, "slug", body.slug.is_some());
    require(&mut errors, "provider_type", body.provider_type.is_some());
    require(&mut errors, "consumer_key", body.consumer_key.is_some());
    if let Some(v) = &body.name {
        if v.trim().is_empty() {
            add(&mut errors, "name", "This field may not be blank.");
        } else if let Err(m) = crate::validate::name(v) {
            add(&mut errors, "name", m);
        }
        values.name = v.clone();
    }
    if let Some(v) = &body.slug {
        if let Err(m) = crate::flows::model::validate_slug(v) {
            add(&mut errors, "slug", m);
        }
        values.slug = v.clone();
    }
    if let Some(v) = body.enabled {
        values.enabled = v;
    }
    if let Some(v) = body.promoted {
        values.promoted = v;
    }
    if let Some(v) = &body.provider_type {
        if state.plugins.get(v).is_none() {
            let known: Vec<String> = state
                .plugins
                .all()
                .map(|p| p.description().name.clone())
                .collect();
            add(
                &mut errors,
                "provider_type",
                format!("`{v}` is not one of: {}.", known.join(", ")),
            );
        }
        values.provider_type = v.clone();
    }
    if let Some(v) = &body.consumer_key {
        if v.trim().is_empty() {
            add(&mut errors, "consumer_key", "This field may not be blank.");
        }
        values.consumer_key = v.trim().to_owned();
    }
    if let Some(v) = &body.client_auth {
        if !matches!(v.as_str(), "client_secret_post" | "private_key_jwt") {
            add(
                &mut errors,
                "client_auth",
                format!("`{v}` is not one of: client_secret_post, private_key_jwt."),
            );
        }
        values.client_auth = v.clone();
    }
    if let Some(v) = &body.consumer_secret
        && v.is_empty()
    {
        add(&mut errors, "consumer_secret", "This field may not be blank.");
    }
    let has_secret = body.consumer_secret.is_some() || existing.is_some_and(|r| r.consumer_secret.is_some());
    let has_key = body.private_key.is_some() || existing.is_some_and(|r| r.private_key.is_some());
    if let Some(v) = &body.certificate {
        values.certificate = v.clone().filter(|c| !c.trim().is_empty());
    }
    if values.client_auth == "private_key_jwt" {
        if !has_key {
            add(
                &mut errors,
                "private_key",
                "A private key is required for private_key_jwt.",
            );
        }
        if values.certificate.is_none() {
            add(
                &mut errors,
                "certificate",
                "The certificate registered upstream is required for private_key_jwt.",
            );
        }
    } else if !has_secret {
        add(&mut errors, "consumer_secret", "This field is required.");
    }
    if let Some(v) = &body.secret_expires {
        values.secret_expires = match v {
            None => None,
            Some(raw) => match parse_expiry(raw) {
                Some(at) => Some(at),
                None => {
                    add(
                        &mut errors,
                        "secret_expires",
                        "Use a date (YYYY-MM-DD) or an RFC 3339 time.",
                    );
                    None
                }
            },
        };
    }
    if let Some(v) = &body.additional_scopes {
        values.additional_scopes = v.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    for (field, value, slot) in [
        (
            "authorization_url",
            &body.authorization_url,
            &mut values.authorization_url,
        ),
        (
            "access_token_url",
            &body.access_token_url,
            &mut values.access_token_url,
        ),
        ("profile_url", &body.profile_url, &mut values.profile_url),
        ("oidc_jwks_url", &body.oidc_jwks_url, &mut values.oidc_jwks_url),
    ] {
        if let Some(v) = value {
            *slot = v.clone().filter(|u| !u.trim().is_empty());
            if let Some(url) = slot.as_deref()
                && url::Url::parse(url).is_err()
            {
                add(&mut errors, field, format!("`{url}` is not a URL."));
            }
        }
    }
    if let Some(v) = &body.user_matching_mode {
        if !MODES.contains(&v.as_str()) {
            add(
                &mut errors,
                "user_matching_mode",
                format!("`{v}` is not one of: {}.", MODES.join(", ")),
            );
        }
        values.user_matching_mode = v.clone();
    }
    if let Some(v) = &body.group_matching_mode {
        if !GROUP_MODES.contains(&v.as_str()) {
            add(
                &mut errors,
                "group_matching_mode",
                format!("`{v}` is not one of: {}.", GROUP_MODES.join(", ")),
            );
        }
        values.group_matching_mode = v.clone();
    }
    if let Some(v) = body.sync_username_on_link {
        values.sync_username_on_link = v;
    }
    for (field, value, slot) in [
        (
            "authentication_flow",
            &body.authentication_flow,
            &mut values.authentication_flow_id,
        ),
        (
            "enrollment_flow",
            &body.enrollment_flow,
            &mut values.enrollment_flow_id,
        ),
    ] {
        match value {
            None => {}
            Some(None) => *slot = None,
            Some(Some(uuid)) => match db::flows::flow_by_uuid(conn, uuid) {
                Ok(flow) => *slot = Some(flow.id),
                Err(StoreError::NotFound) => add(&mut errors, field, format!("Unknown flow `{uuid}`.")),
                Err(e) => return Err(e.into()),
            },
        }
    }
    let mut resolve_mappings = |errors: &mut FieldErrors,
                                field: &str,
                                uuids: &Option<Vec<String>>|
     -> Result<Option<Vec<i64>>, ApiError> {
        let Some(uuids) = uuids else { return Ok(None) };
        let rows = db::property_mappings::by_uuids(conn, uuids)?;
        for uuid in uuids {
            if !rows.iter().any(|r| &r.uuid == uuid) {
                add(errors, field, format!("Unknown property mapping `{uuid}`."));
            }
        }
        Ok(Some(rows.into_iter().map(|r| r.id).collect()))
    };
    let user_mappings = resolve_mappings(
        &mut errors,
        "user_property_mappings",
        &body.user_property_mappings,
    )?;
    let group_mappings = resolve_mappings(
        &mut errors,
        "group_property_mappings",
        &body.group_property_mappings,
    )?;
    if let Some(v) = &body.user_path_template {
        if let Err(m) = crate::validate::path(&v.replace("%(slug)s", "slug")) {
            add(&mut errors, "user_path_template", m);
        }
        values.user_path_template = v.clone();
    }
    if let Some(v) = &body.icon {
        values.icon = v.clone();
    }
    if let Some(v) = &body.settings {
        if v.is_object() {
            values.settings = v.to_string();
        } else {
            add(&mut errors, "settings", "Settings must be a JSON object.");
        }
    }
    // The plugin checks its part (tenant, cloud, URLs, group sync …).
    if errors.is_empty()
        && let Some(plugin) = state.plugins.get(&values.provider_type)
    {
        let config = SourceConfig {
            slug: values.slug.clone(),
            name: values.name.clone(),
            consumer_key: values.consumer_key.clone(),
            credential: if values.client_auth == "private_key_jwt" {
                ClientCredential::PrivateKeyJwt {
                    private_key_pem: body.private_key.clone().unwrap_or_default(),
                    certificate_pem: values.certificate.clone().unwrap_or_default(),
                }
            } else {
                ClientCredential::Secret(body.consumer_secret.clone().unwrap_or_else(|| "unchanged".into()))
            },
            additional_scopes: values.additional_scopes.clone(),
            authorization_url: values.authorization_url.clone(),
            access_token_url: values.access_token_url.clone(),
            profile_url: values.profile_url.clone(),
            oidc_jwks_url: values.oidc_jwks_url.clone(),
            settings: serde_json::from_str(&values.settings).unwrap_or_else(|_| json!({})),
        };
        if let Err(plugin_errors) = plugin.validate(&config) {
            for (field, messages) in plugin_errors.0 {
                for message in messages {
                    add(&mut errors, &field, message);
                }
            }
        }
        check_linking_trust(plugin.as_ref(), &config, values, &mut errors);
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(Applied {
        secret: body.consumer_secret.clone(),
        private_key: body.private_key.clone(),
        user_mappings,
        group_mappings,
    })
}

/// Linking by email, username or group name trusts the upstream's values to name people of the
/// operator's organisation. A source that accepts any tenant (Entra `common`/`organizations`
/// without `allowed_tenants`) lets anyone choose those values, so linking there is refused.
fn check_linking_trust(
    plugin: &dyn gatehouse_plugins::SourcePlugin,
    config: &SourceConfig,
    values: &SourceValues,
    errors: &mut FieldErrors,
) {
    if !plugin.accepts_any_tenant(config) {
        return;
    }
    let restrict = "set `settings.allowed_tenants` to the tenants whose people may sign in";
    if matches!(values.user_matching_mode.as_str(), "email_link" | "username_link") {
        add(
            errors,
            "user_matching_mode",
            format!(
                "`{}` would let any tenant's user take over a local account with the same email or username: {restrict}, or use another mode.",
                values.user_matching_mode
            ),
        );
    }
    if values.group_matching_mode == "name_link" {
        add(
            errors,
            "group_matching_mode",
            format!(
                "`name_link` would let any tenant's group join a local group of the same name: {restrict}, or use another mode."
            ),
        );
    }
}

fn model(row: &SourceRow) -> ModelRef {
    ModelRef {
        model_name: "source",
        pk: json!(row.uuid),
        name: row.slug.clone(),
    }
}

fn not_found(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::not_found("Source"),
        other => other.into(),
    }
}

/// Encrypts the secret and key for the row with `uuid`.
fn seal(state: &AppState, uuid: &str, applied: &Applied, values: &mut SourceValues) -> Result<(), ApiError> {
    if let Some(secret) = &applied.secret {
        values.consumer_secret = Some(state.keys.encrypt(secret.as_bytes(), &secret_context(uuid))?);
    }
    if let Some(key) = &applied.private_key {
        values.private_key = Some(state.keys.encrypt(key.as_bytes(), &private_key_context(uuid))?);
    }
    Ok(())
}

/// Records a `source_secret_expiring` event when the recorded expiry is near.
fn flag_expiry(conn: &mut DbConn, caller: &Caller, row: &SourceRow) -> Result<(), StoreError> {
    if let Some(warning) = expiry_warning(row.secret_expires, time::now()) {
        db::events::insert(
            conn,
            &db::events::Event {
                action: "source_secret_expiring",
                user: Some(caller.event_user()),
                context: json!({"source": row.slug, "expires": row.secret_expires.map(time::to_utc), "message": warning}),
                client_ip: None,
            },
        )?;
    }
    Ok(())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SourceFilters {
    pub slug: Option<String>,
    pub provider_type: Option<String>,
    #[param(value_type = Option<bool>)]
    pub enabled: Option<String>,
}

#[utoipa::path(
    tag = "sources",
    params(ListParams, SourceFilters),
    responses((status = 200, body = Paginated<OAuthSource>), (status = 400), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/sources/oauth/")]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    params: web::Query<ListParams>,
    filters: web::Query<SourceFilters>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let page = params.page()?;
    let ordering = params.ordering(db::sources::ORDERING_FIELDS, "name")?;
    let filters = filters.into_inner();
    let filter = SourceFilter {
        search: params.search(),
        slug: filters.slug,
        provider_type: filters.provider_type,
        enabled: bool_filter("enabled", &filters.enabled)?,
    };
    let app = state.clone();
    let (sources, count) = state
        .db
        .run(move |conn| {
            let (rows, count) = db::sources::list(conn, &filter, &ordering, &page)?;
            let sources = rows
                .into_iter()
                .map(|r| OAuthSource::load(&app, conn, r))
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, ApiError>((sources, count))
        })
        .await?;
    Ok(HttpResponse::Ok().json(Paginated::new(sources, count, page)?))
}

#[utoipa::path(
    tag = "sources",
    request_body = OAuthSourceWrite,
    responses((status = 201, body = OAuthSource), (status = 400), (status = 401), (status = 403), (status = 409)),
    security(("bearer" = []))
)]
#[post("/sources/oauth/")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    body: ApiJson<OAuthSourceWrite>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let body = body.0;
    let app = state.clone();
    let source = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let now = time::now();
                let flow_id =
                    |conn: &mut DbConn, slug: &str| db::flows::flow_by_slug(conn, slug).ok().map(|f| f.id);
                let mut values = SourceValues {
                    slug: String::new(),
                    name: String::new(),
                    provider_type: String::new(),
                    enabled: true,
                    promoted: false,
                    consumer_key: String::new(),
                    consumer_secret: None,
                    client_auth: "client_secret_post".into(),
                    private_key: None,
                    certificate: None,
                    secret_expires: None,
                    additional_scopes: String::new(),
                    authorization_url: None,
                    access_token_url: None,
                    profile_url: None,
                    oidc_jwks_url: None,
                    settings: "{}".into(),
                    user_matching_mode: "identifier".into(),
                    group_matching_mode: "identifier".into(),
                    authentication_flow_id: flow_id(conn, SOURCE_AUTHENTICATION_FLOW),
                    enrollment_flow_id: flow_id(conn, SOURCE_ENROLLMENT_FLOW),
                    user_path_template: "sources/%(slug)s".into(),
                    icon: String::new(),
                    updated: now,
                    sync_username_on_link: false,
                };
                let applied = apply(&app, conn, &body, &mut values, None)?;
                let uuid = uuid::Uuid::new_v4().to_string();
                seal(&app, &uuid, &applied, &mut values)?;
                let row = db::sources::insert(conn, &uuid, &values, now)?;
                if let Some(ids) = &applied.user_mappings {
                    db::sources::set_mappings(conn, row.id, "user", ids)?;
                }
                if let Some(ids) = &applied.group_mappings {
                    db::sources::set_mappings(conn, row.id, "group", ids)?;
                }
                record_change(conn, "model_created", &caller, &client, &model(&row), &[])?;
                flag_expiry(conn, &caller, &row)?;
                OAuthSource::load(&app, conn, row)
            })
        })
        .await?;
    Ok(HttpResponse::Created().json(source))
}

#[utoipa::path(
    tag = "sources",
    params(("slug" = String, Path)),
    responses((status = 200, body = OAuthSource), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[get("/sources/oauth/{slug}/")]
pub async fn retrieve(
    state: web::Data<AppState>,
    caller: Caller,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let slug = slug.into_inner();
    let app = state.clone();
    let source = state
        .db
        .run(move |conn| {
            let row = db::sources::by_slug(conn, &slug).map_err(not_found)?;
            OAuthSource::load(&app, conn, row)
        })
        .await?;
    Ok(HttpResponse::Ok().json(source))
}

async fn apply_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: String,
    body: OAuthSourceWrite,
    full: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    if full {
        let mut errors = FieldErrors::new();
        for (field, present) in [
            ("name", body.name.is_some()),
            ("slug", body.slug.is_some()),
            ("provider_type", body.provider_type.is_some()),
            ("consumer_key", body.consumer_key.is_some()),
        ] {
            if !present {
                add(&mut errors, field, "This field is required.");
            }
        }
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }
    }
    let app = state.clone();
    let source = state
        .db
        .run(move |conn| {
            write_tx(conn, |conn| {
                let row = db::sources::by_slug(conn, &slug).map_err(not_found)?;
                let mut values = SourceValues::of(&row);
                values.updated = time::now();
                let applied = apply(&app, conn, &body, &mut values, Some(&row))?;
                seal(&app, &row.uuid, &applied, &mut values)?;
                let updated = db::sources::update(conn, row.id, &values)?;
                // M2M trust: a federated source may not become open to every tenant.
                crate::provider::trust::check_federated_source(&app.plugins, conn, &updated)?;
                if let Some(ids) = &applied.user_mappings {
                    db::sources::set_mappings(conn, row.id, "user", ids)?;
                }
                if let Some(ids) = &applied.group_mappings {
                    db::sources::set_mappings(conn, row.id, "group", ids)?;
                }
                let mut fields: Vec<&str> = Vec::new();
                if applied.secret.is_some() {
                    fields.push("consumer_secret");
                }
                if applied.private_key.is_some() {
                    fields.push("private_key");
                }
                record_change(conn, "model_updated", &caller, &client, &model(&updated), &fields)?;
                if body.secret_expires.is_some() {
                    flag_expiry(conn, &caller, &updated)?;
                }
                OAuthSource::load(&app, conn, updated)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(source))
}

#[utoipa::path(
    tag = "sources",
    params(("slug" = String, Path)),
    request_body = OAuthSourceWrite,
    responses((status = 200, body = OAuthSource), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[put("/sources/oauth/{slug}/")]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<OAuthSourceWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, slug.into_inner(), body.0, true).await
}

#[utoipa::path(
    tag = "sources",
    params(("slug" = String, Path)),
    request_body = OAuthSourceWrite,
    responses((status = 200, body = OAuthSource), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409)),
    security(("bearer" = []))
)]
#[patch("/sources/oauth/{slug}/")]
pub async fn partial_update(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
    body: ApiJson<OAuthSourceWrite>,
) -> Result<HttpResponse, ApiError> {
    apply_update(state, caller, client, slug.into_inner(), body.0, false).await
}

#[utoipa::path(
    tag = "sources",
    params(("slug" = String, Path)),
    responses((status = 204), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []))
)]
#[delete("/sources/oauth/{slug}/")]
pub async fn destroy(
    state: web::Data<AppState>,
    caller: Caller,
    client: ClientInfo,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let slug = slug.into_inner();
    delete_audited(
        &state,
        caller,
        client,
        move |conn| db::sources::by_slug(conn, &slug).map_err(not_found),
        |conn, row| db::sources::delete(conn, row.id),
        model,
    )
    .await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SourceType {
    pub name: String,
    pub verbose_name: String,
    pub icon_url: String,
    pub urls_customizable: bool,
    pub authorization_url: Option<String>,
    pub access_token_url: Option<String>,
    pub profile_url: Option<String>,
    pub oidc_jwks_url: Option<String>,
    /// JSON Schema of the source's `settings`.
    #[schema(value_type = Object)]
    pub settings_schema: Value,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SourceTypeQuery {
    /// Only this type.
    pub name: Option<String>,
}

#[utoipa::path(
    tag = "sources",
    params(SourceTypeQuery),
    responses((status = 200, body = Vec<SourceType>), (status = 401), (status = 403)),
    security(("bearer" = []))
)]
#[get("/sources/oauth/source_types/")]
pub async fn source_types(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SourceTypeQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require_superuser()?;
    let mut types: Vec<SourceType> = state
        .plugins
        .all()
        .map(|p| {
            let d = p.description();
            SourceType {
                name: d.name.clone(),
                verbose_name: d.verbose_name.clone(),
                icon_url: format!("/static/{}", d.icon),
                urls_customizable: d.urls_customizable,
                authorization_url: d.authorization_url.clone(),
                access_token_url: d.access_token_url.clone(),
                profile_url: d.profile_url.clone(),
                oidc_jwks_url: d.oidc_jwks_url.clone(),
                settings_schema: d.settings_schema.clone(),
            }
        })
        .filter(|t| query.name.as_ref().is_none_or(|n| *n == t.name))
        .collect();
    types.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(HttpResponse::Ok().json(types))
}
