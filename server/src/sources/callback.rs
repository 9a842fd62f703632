//! `GET|POST /source/oauth/callback/<slug>/`: the redirect URI registered upstream. Checks the
//! state (single use, this browser, not expired), shows upstream errors readably, lets the plugin
//! complete the login, maps the profile, matches a local user and runs the source's
//! authentication or enrollment flow. Every failure is a readable page and a `login_failed`
//! event; nothing is half-written (the flow's writes are one transaction).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use gatehouse_mappings::{RequestInfo, SourceInfo};
use gatehouse_plugins::{CallbackData, GroupSync, PluginError, UpstreamIdentity};
use serde::Deserialize;
use serde_json::{Value, json};

use super::mapping::{Mapped, MappingInput};
use super::matching::{Claimed, Matched, guard_properties, match_user};
use super::{BROWSER_COOKIE, failure_page, record_failure, user_path};
use crate::crypto;
use crate::db::connections::ConnectionOrigin;
use crate::db::group_sync::GroupMatching;
use crate::db::sources::SourceRow;
use crate::db::{self, StoreError, UserId, time};
use crate::flows::FlowContext;
use crate::flows::executor::{self, Outcome, Step};
use crate::flows::stages::source_sync::{self, SourceSyncSettings};
use crate::flows::stages::{FlowEnv, PlannedStage};
use crate::http::client::ClientInfo;
use crate::sessions::SESSION_COOKIE;
use crate::state::AppState;
use crate::text::{upstream_json, upstream_text};
use crate::web::cookies;

#[derive(Debug, Default, Deserialize)]
pub struct CallbackParams {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

#[get("/source/oauth/callback/{slug}/")]
pub async fn callback_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    query: web::Query<CallbackParams>,
) -> HttpResponse {
    handle(state, req, slug.into_inner(), query.into_inner()).await
}

/// `response_mode=form_post` answers arrive as a form.
#[post("/source/oauth/callback/{slug}/")]
pub async fn callback_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let params = if body.len() > 64 * 1024 {
        CallbackParams::default()
    } else {
        serde_urlencoded::from_bytes(&body).unwrap_or_default()
    };
    handle(state, req, slug.into_inner(), params).await
}

/// A failure: a page for the browser and an event for the administrator.
struct Failure {
    status: StatusCode,
    message: String,
    reason: &'static str,
    detail: Value,
}

impl Failure {
    fn new(status: StatusCode, reason: &'static str, message: impl Into<String>, detail: Value) -> Self {
        Self {
            status,
            message: message.into(),
            reason,
            detail,
        }
    }
}

async fn handle(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: String,
    params: CallbackParams,
) -> HttpResponse {
    let client = ClientInfo::of(&req);
    let lookup = {
        let slug = slug.clone();
        state.db.run(move |conn| db::sources::by_slug(conn, &slug)).await
    };
    let source = match lookup {
        Ok(source) if source.enabled => source,
        Ok(_) | Err(StoreError::NotFound) => {
            return crate::web::message(
                &state,
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such sign-in option here.",
                Some("/flows/-/default/authentication/"),
            );
        }
        Err(e) => return crate::web::pages::flow::unavailable(&state, &e),
    };
    match complete(&state, &req, &client, &source, params).await {
        Ok(response) => response,
        Err(mut failure) => {
            // Failures quote upstream text (error descriptions, plugin errors): strip and cap it
            // before it reaches the event, the log line and the page.
            failure.message = upstream_text(&failure.message);
            failure.detail = upstream_json(&failure.detail);
            let name = source.name.clone();
            let (client_for_event, reason, detail) = (client.clone(), failure.reason, failure.detail.clone());
            let message = failure.message.clone();
            let recorded = state
                .db
                .run(move |conn| {
                    record_failure(
                        conn,
                        &client_for_event,
                        &name,
                        reason,
                        json!({"message": message, "detail": detail}),
                    )
                })
                .await;
            if let Err(e) = recorded {
                tracing::warn!(error = %e, "could not record a failed source login");
            }
            tracing::info!(source = %source.slug, reason = failure.reason, message = %failure.message, "source login failed");
            failure_page(&state, failure.status, &source.name, &failure.message)
        }
    }
}

fn plugin_failure(error: &PluginError) -> Failure {
    let status = match error {
        PluginError::Network(_) | PluginError::Metadata(_) => StatusCode::BAD_GATEWAY,
        PluginError::Configuration(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let message = match error {
        PluginError::Configuration(_) => {
            "This sign-in option is misconfigured; please contact your administrator.".into()
        }
        other => capitalise(&other.to_string()),
    };
    Failure::new(status, error.kind(), message, error.detail())
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn invalid_state() -> Failure {
    Failure::new(
        StatusCode::BAD_REQUEST,
        "state",
        "This sign-in request is invalid, expired or was already used. Start again.",
        Value::Null,
    )
}

/// Takes the login's state row, single use, when this browser started the login at this source
/// and it has not expired. The binding is checked before the row is deleted: a callback from
/// another browser (someone who learnt the victim's callback URL) is refused and leaves the row
/// for the victim. `Err(None)` for an invalid state, `Err(Some(_))` when the database failed.
async fn take_state(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    source: &SourceRow,
    state_param: &str,
) -> Result<db::oauth_states::OAuthStateRow, Option<StoreError>> {
    let browser = cookies::read(req, BROWSER_COOKIE).unwrap_or_default();
    if browser.is_empty() {
        return Err(None);
    }
    let browser_hash = crypto::hash_key(&browser);
    let state_hash = crypto::hash_key(state_param);
    let source_id = source.id;
    let now = time::now();
    let accept = move |row: &db::oauth_states::OAuthStateRow| {
        use subtle::ConstantTimeEq;
        let same_browser = bool::from(browser_hash.as_bytes().ct_eq(row.browser_hash.as_bytes()));
        same_browser && row.source_id == source_id && row.expires > now
    };
    let taken = state
        .db
        .run(move |conn| db::oauth_states::take_if(conn, &state_hash, accept))
        .await
        .map_err(Some)?;
    taken.ok_or(None)
}

async fn complete(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    client: &ClientInfo,
    source: &SourceRow,
    params: CallbackParams,
) -> Result<HttpResponse, Failure> {
    let store = |e: StoreError| {
        Failure::new(
            if e.is_unavailable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            "database",
            "Sign-in is temporarily unavailable. Please try again in a moment.",
            json!(e.to_string()),
        )
    };
    let Some(state_param) = params.state.filter(|s| !s.is_empty() && s.len() <= 512) else {
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "state",
            "The sign-in response has no state. Start again.",
            Value::Null,
        ));
    };
    let oauth = take_state(state, req, source, &state_param)
        .await
        .map_err(|e| match e {
            Some(e) => store(e),
            None => invalid_state(),
        })?;
    if let Some(error) = params.error {
        let description = params.error_description.unwrap_or_default();
        let first = description
            .lines()
            .next()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .unwrap_or(&error);
        return Err(Failure::new(
            StatusCode::BAD_REQUEST,
            "upstream_error",
            upstream_text(first),
            json!({"error": upstream_text(&error), "error_description": upstream_text(&description)}),
        ));
    }
    let code = params
        .code
        .filter(|c| !c.is_empty() && c.len() <= 8192)
        .ok_or_else(|| {
            Failure::new(
                StatusCode::BAD_REQUEST,
                "no_code",
                "The sign-in response has no code. Start again.",
                Value::Null,
            )
        })?;
    let (plugin, config) = super::config::plugin_config(state, source).map_err(|detail| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "configuration",
            "This sign-in option is misconfigured; please contact your administrator.",
            json!(detail),
        )
    })?;
    let verifier = state
        .keys
        .decrypt(&oauth.pkce_verifier, &format!("oauth_state:{state_param}"))
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .ok_or_else(invalid_state)?;
    let identity = plugin
        .complete(
            &state.plugin_context,
            &config,
            CallbackData {
                code,
                redirect_uri: oauth.redirect_uri.clone(),
                nonce: oauth.nonce.clone(),
                pkce_verifier: verifier,
            },
        )
        .await
        .map_err(|e| plugin_failure(&e))?;
    let verified_email = plugin.verified_email(&config, &identity);

    // Groups: synced, off, or failed (keep memberships, or refuse when the source says so).
    match &identity.groups {
        GroupSync::Off | GroupSync::Synced { .. } => {}
        GroupSync::Failed { reason } => {
            if plugin.deny_on_group_error(&config) {
                return Err(Failure::new(
                    StatusCode::BAD_GATEWAY,
                    "group_sync",
                    format!(
                        "Your group memberships could not be read from {}; try again later.",
                        source.name
                    ),
                    json!(reason),
                ));
            }
            record_group_failure(state, client, source, reason).await;
        }
    }

    // Shared with the mapping task rather than copied: it may hold thousands of groups.
    let identity = Arc::new(identity);
    let mapped = map(state, source, Arc::clone(&identity), client)
        .await
        .map_err(store)?;
    let (properties, desired_groups) = match mapped {
        Mapped::Ok {
            properties,
            groups,
            logs,
        } => {
            record_logs(state, client, source, logs).await;
            (properties, groups)
        }
        Mapped::Denied {
            mapping,
            message,
            logs,
        } => {
            record_logs(state, client, source, logs).await;
            return Err(Failure::new(
                StatusCode::FORBIDDEN,
                "mapping_denied",
                message,
                json!({"mapping": mapping}),
            ));
        }
        Mapped::Failed { error, logs } => {
            record_logs(state, client, source, logs).await;
            return Err(Failure::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "property_mapping_exception",
                "A property mapping failed; please contact your administrator.",
                json!({"mapping": error.mapping, "message": error.message, "line": error.line, "column": error.column}),
            ));
        }
    };
    crate::flows::stages::user_write::check_properties(&properties).map_err(|m| {
        Failure::new(
            StatusCode::BAD_REQUEST,
            "invalid_properties",
            format!("Your account details are not valid: {m}."),
            Value::Null,
        )
    })?;

    let seal = |value: &Option<String>, which: &str| -> Result<Option<String>, Failure> {
        value
            .as_ref()
            .map(|v| {
                state.keys.encrypt(
                    v.as_bytes(),
                    &super::config::token_context(&source.uuid, &identity.identifier, which),
                )
            })
            .transpose()
            .map_err(|e| {
                Failure::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "crypto",
                    "Please try again.",
                    json!(e.to_string()),
                )
            })
    };
    let sync = SourceSyncSettings {
        source_id: source.id,
        source_name: source.name.clone(),
        identifier: identity.identifier.clone(),
        access_token: seal(&Some(identity.tokens.access_token.clone()), "access")?,
        refresh_token: seal(&identity.tokens.refresh_token, "refresh")?,
        expires: identity.tokens.expires_at.map(time::from_utc),
        connection_attributes: identity.info.clone(),
        properties: properties.clone(),
        groups: desired_groups,
        group_matching: match source.group_matching_mode.as_str() {
            "name_link" => GroupMatching::NameLink,
            "name_deny" => GroupMatching::NameDeny,
            _ => GroupMatching::Identifier,
        },
        // Set per attempt once the user is matched.
        origin: ConnectionOrigin::default(),
    };
    let step = run_flow(
        state,
        req,
        client,
        source,
        &identity.identifier,
        (properties, verified_email),
        sync,
        &oauth,
    )
    .await?;
    Ok(respond(state, &source.name, step))
}

/// The upstream groups to map and sync: `None` when sync is off or the fetch failed (memberships
/// are then left alone).
fn synced_groups(identity: &UpstreamIdentity) -> Option<&[gatehouse_plugins::UpstreamGroup]> {
    match &identity.groups {
        GroupSync::Synced { groups } => Some(groups),
        GroupSync::Off | GroupSync::Failed { .. } => None,
    }
}

async fn map(
    state: &web::Data<AppState>,
    source: &SourceRow,
    identity: Arc<UpstreamIdentity>,
    client: &ClientInfo,
) -> Result<Mapped, StoreError> {
    let source_id = source.id;
    let identifier = identity.identifier.clone();
    let (user_mappings, group_mappings, existing_user) = state
        .db
        .run(move |conn| {
            let load =
                |conn: &mut db::DbConn, role: &str| -> Result<Vec<gatehouse_mappings::Mapping>, StoreError> {
                    Ok(db::sources::mappings(conn, source_id, role)?
                        .into_iter()
                        .map(|m| gatehouse_mappings::Mapping::new(m.name, m.expression))
                        .collect())
                };
            let users = load(conn, "user")?;
            let groups = load(conn, "group")?;
            // The linked local user, for mappings that look at it (`user`); skipped when no
            // mapping runs.
            let existing = if users.is_empty() {
                None
            } else {
                match db::connections::user_connection(conn, source_id, &identifier)? {
                    Some(connection) => {
                        let user = db::users::get(conn, UserId(connection.user_id))?;
                        Some(serde_json::json!({
                            "pk": user.id, "username": user.username, "name": user.name, "email": user.email,
                            "is_active": user.is_active, "type": user.user_type, "path": user.path,
                            "attributes": user.attributes_json(),
                        }))
                    }
                    None => None,
                }
            };
            Ok::<_, StoreError>((users, groups, existing))
        })
        .await?;
    let input = MappingInput {
        identity: &identity,
        groups: synced_groups(&identity),
        source: SourceInfo {
            slug: source.slug.clone(),
            name: source.name.clone(),
            provider_type: source.provider_type.clone(),
        },
        path: user_path(&source.user_path_template, &source.slug),
        user_mappings,
        group_mappings,
        existing_user: existing_user.and_then(|u| u.as_object().cloned()),
        request: RequestInfo {
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
        },
    };
    if input.user_mappings.is_empty() && input.group_mappings.is_empty() {
        return Ok(super::mapping::evaluate(&state.mappings, input));
    }
    // Scripts are CPU work bounded by their budget: run them off the async workers. The input
    // borrows the identity, so the task gets its own handle to it.
    let engine_state = state.clone();
    let MappingInput {
        source: info,
        path,
        user_mappings,
        group_mappings,
        existing_user,
        request,
        ..
    } = input;
    tokio::task::spawn_blocking(move || {
        super::mapping::evaluate(
            &engine_state.mappings,
            MappingInput {
                identity: &identity,
                groups: synced_groups(&identity),
                source: info,
                path,
                user_mappings,
                group_mappings,
                existing_user,
                request,
            },
        )
    })
    .await
    .map_err(|e| StoreError::Internal(format!("mapping task failed: {e}")))
}

async fn record_group_failure(
    state: &web::Data<AppState>,
    client: &ClientInfo,
    source: &SourceRow,
    reason: &str,
) {
    let (client, name, reason) = (client.clone(), source.name.clone(), reason.to_owned());
    let _ = state
        .db
        .run(move |conn| {
            db::events::insert(
                conn,
                &db::events::Event {
                    action: "source_group_sync_failed",
                    user: None,
                    context: json!({"source": name, "reason": reason, "memberships": "kept"}),
                    client_ip: client.ip.as_deref(),
                },
            )
        })
        .await;
}

/// Mapping `log()` calls end up in the event log, one event per login.
async fn record_logs(
    state: &web::Data<AppState>,
    client: &ClientInfo,
    source: &SourceRow,
    logs: Vec<gatehouse_mappings::LogEntry>,
) {
    if logs.is_empty() {
        return;
    }
    let (client, name) = (client.clone(), source.name.clone());
    let entries: Vec<Value> = logs
        .into_iter()
        .map(|l| json!({"mapping": l.mapping, "level": format!("{:?}", l.level).to_lowercase(), "message": l.message}))
        .collect();
    let _ = state
        .db
        .run(move |conn| {
            db::events::insert(
                conn,
                &db::events::Event {
                    action: "property_mapping_log",
                    user: None,
                    context: json!({"source": name, "entries": entries}),
                    client_ip: client.ip.as_deref(),
                },
            )
        })
        .await;
}

/// Matches the user and runs the source's flow, in one database task. Two simultaneous first
/// logins of one person race to create the user: the loser finds the winner's connection and
/// runs again as an ordinary login.
#[allow(clippy::too_many_arguments)]
async fn run_flow(
    state: &web::Data<AppState>,
    req: &HttpRequest,
    client: &ClientInfo,
    source: &SourceRow,
    identifier: &str,
    (properties, verified_email): (serde_json::Map<String, Value>, Option<String>),
    mut sync: SourceSyncSettings,
    oauth: &db::oauth_states::OAuthStateRow,
) -> Result<Step, Failure> {
    let session_cookie = cookies::read(req, SESSION_COOKIE);
    let state_for_task = state.clone();
    let client = client.clone();
    let source = source.clone();
    let identifier = identifier.to_owned();
    let next = oauth.next.clone();
    let resume = oauth.resume_flow_hash.clone();
    let result = state
        .db
        .run(move |conn| {
            let now = time::now();
            let session_user = match &session_cookie {
                Some(cookie) => crate::sessions::resolve(conn, cookie, now)?,
                None => None,
            };
            let env = FlowEnv {
                keys: &state_for_task.keys,
                client: &client,
                session_cookie: session_cookie.as_deref(),
                now,
                end: &crate::provider::authorize::AuthorizationEnd,
            };
            for attempt in 0..2 {
                let claimed = Claimed {
                    identifier: &identifier,
                    properties: &properties,
                    verified_email: verified_email.as_deref(),
                };
                let matched = match_user(conn, &source, &claimed)?;
                let (pending, flow_id) = match &matched {
                    Matched::Existing { user, .. } | Matched::Link(user) => {
                        (Some(user.id), source.authentication_flow_id)
                    }
                    Matched::Enroll => (None, source.enrollment_flow_id),
                    Matched::Deny { reason, message } => {
                        return Ok(Err(Failure::new(
                            StatusCode::FORBIDDEN,
                            reason,
                            message.clone(),
                            json!({"identifier": identifier}),
                        )));
                    }
                };
                // What this login may write to the matched user (a linked account keeps its
                // username); the same for every stage of the flow.
                let allowed = guard_properties(conn, &source, &matched, &properties)?;
                sync.origin = matched.origin();
                sync.properties = allowed.clone();
                let Some(flow_id) = flow_id else {
                    let what = if pending.is_some() {
                        "authentication"
                    } else {
                        "enrollment"
                    };
                    return Ok(Err(Failure::new(
                        StatusCode::BAD_REQUEST,
                        "no_flow",
                        format!("{} is not configured for {what}.", source.name),
                        Value::Null,
                    )));
                };
                let flow = db::flows::flow_by_id(conn, flow_id)?;
                let context = FlowContext {
                    next: next.clone(),
                    pending_user: pending,
                    properties: allowed,
                    is_sso: true,
                    source: Some(json!({"slug": source.slug, "name": source.name, "uuid": source.uuid})),
                    resume: resume.clone(),
                    ..FlowContext::default()
                };
                let stage = PlannedStage {
                    uuid: None,
                    name: format!("{}-sync", source.slug),
                    kind: source_sync::KIND.into(),
                    settings: serde_json::to_value(&sync).map_err(|e| StoreError::Internal(e.to_string()))?,
                };
                let step = executor::start_with_context(
                    conn,
                    env,
                    &flow,
                    session_user.as_ref(),
                    context,
                    vec![stage],
                )?;
                let lost_race = matches!(step.outcome, Outcome::Problem(_))
                    && matches!(matched, Matched::Enroll)
                    && attempt == 0
                    && db::connections::user_connection(conn, source.id, &identifier)?.is_some();
                if !lost_race {
                    return Ok(Ok(step));
                }
            }
            Err(StoreError::Internal(
                "unreachable: the login loop always returns".into(),
            ))
        })
        .await;
    match result {
        Ok(inner) => inner,
        Err(e) => Err(Failure::new(
            if e.is_unavailable() {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            },
            "database",
            "Sign-in is temporarily unavailable. Please try again in a moment.",
            json!(e.to_string()),
        )),
    }
}

/// The flow's answer, for a browser arriving from the identity provider.
fn respond(state: &AppState, source_name: &str, step: Step) -> HttpResponse {
    let mut response = match step.outcome {
        // The source's flow wants the user's input: continue on the flow's own page.
        Outcome::Show { challenge, .. } => HttpResponse::Found()
            .insert_header(("Location", format!("/if/flow/{}/", challenge.flow_info.slug)))
            .finish(),
        Outcome::Redirect(to) => HttpResponse::Found().insert_header(("Location", to)).finish(),
        Outcome::Denied(message) => crate::web::message(
            state,
            StatusCode::FORBIDDEN,
            "Access denied",
            &message,
            Some("/flows/-/default/authentication/"),
        ),
        Outcome::Problem(problem) => failure_page(
            state,
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST),
            source_name,
            &problem.message,
        ),
    };
    for cookie in cookies::for_effects(&state.settings, &step.effects) {
        let _ = response.add_cookie(&cookie);
    }
    response
}
