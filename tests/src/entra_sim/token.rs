//! `/{tenant}/oauth2/v2.0/token`: authorization_code (PKCE, single use, expiry), refresh_token
//! and client_credentials, with client_secret_post/basic and private_key_jwt client auth.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Shared;
use super::directory::{App, User};
use super::keys::{x5t, x5t_s256};
use super::mint::{self, IdTokenInput};
use super::protocol::{now, opaque, token_error};
use super::state::{GraphGrant, RefreshGrant, SimState};

const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

pub async fn token_get() -> HttpResponse {
    token_error(
        400,
        "invalid_request",
        900561,
        "The endpoint only accepts POST requests. Received a GET request.",
    )
}

pub async fn token(
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<HashMap<String, String>>,
    sim: web::Data<Shared>,
) -> HttpResponse {
    let delay = {
        let mut st = sim.lock();
        st.counters.token += 1;
        st.faults.token_delay
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut st = sim.lock();
    if let Some(e) = st.faults.next_token_error.take() {
        return token_error(e.status, &e.error, e.code, &e.message);
    }
    let params = form.into_inner();
    let segment = path.into_inner();
    let multi = matches!(segment.to_ascii_lowercase().as_str(), "common" | "organizations");
    let path_tenant = if multi {
        None
    } else {
        match st.directory.tenant(&segment) {
            Some(t) => Some(t.id.clone()),
            None => {
                return token_error(
                    400,
                    "invalid_request",
                    90002,
                    &format!("Tenant '{segment}' not found."),
                );
            }
        }
    };
    let app = match authenticate_client(&st, &req, &params, &segment) {
        Ok(app) => app,
        Err(resp) => return resp,
    };
    if multi && !app.multi_tenant {
        return token_error(
            400,
            "invalid_request",
            50194,
            &format!(
                "Application '{}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications.",
                app.client_id, app.display_name
            ),
        );
    }
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    match p("grant_type") {
        Some("authorization_code") => authorization_code(&mut st, &app, path_tenant.as_deref(), &params),
        Some("refresh_token") => refresh(&mut st, &app, p("refresh_token")),
        Some("client_credentials") => {
            let Some(tid) = path_tenant else {
                return token_error(
                    400,
                    "invalid_request",
                    9001023,
                    "The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.",
                );
            };
            client_credentials(
                &mut st,
                &app,
                &tid,
                p("scope"),
                params.contains_key("client_assertion"),
            )
        }
        None => token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'grant_type'.",
        ),
        Some(other) => token_error(
            400,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{other}'."),
        ),
    }
}

fn authenticate_client(
    st: &SimState,
    req: &HttpRequest,
    params: &HashMap<String, String>,
    segment: &str,
) -> Result<App, HttpResponse> {
    let basic = req
        .headers()
        .get("Authorization")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(u, p)| (decode_form(u), decode_form(p))));
    let client_id = params
        .get("client_id")
        .cloned()
        .or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let Some(client_id) = client_id else {
        return Err(token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    };
    let Some(app) = st.directory.app(&client_id).cloned() else {
        return Err(token_error(
            400,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{client_id}' was not found in the directory '{segment}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
            ),
        ));
    };
    if let Some(assertion) = params.get("client_assertion") {
        if params.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return Err(token_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_assertion_type'.",
            ));
        }
        verify_assertion(st, &app, assertion, segment).map_err(|why| {
            token_error(
                401,
                "invalid_client",
                700027,
                &format!("Client assertion failed signature validation. {why}"),
            )
        })?;
        return Ok(app);
    }
    let secret = params
        .get("client_secret")
        .cloned()
        .or_else(|| basic.map(|b| b.1));
    let Some(secret) = secret else {
        return Err(token_error(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    };
    match app.secrets.iter().find(|s| s.value == secret) {
        Some(s) if s.expires.is_some_and(|e| e < Utc::now()) => Err(token_error(
            401,
            "invalid_client",
            7000222,
            &format!(
                "The provided client secret keys for app '{}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.",
                app.client_id
            ),
        )),
        Some(_) => Ok(app),
        None => Err(token_error(
            401,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
                app.client_id
            ),
        )),
    }
}

fn decode_form(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// RFC 7523 assertion: registered certificate (by `x5t#S256` or `x5t`), RS256/PS256
/// signature, `aud` = this token endpoint, `iss` = `sub` = client id, unexpired.
fn verify_assertion(st: &SimState, app: &App, assertion: &str, segment: &str) -> Result<(), String> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|e| format!("Malformed assertion: {e}."))?;
    let cert = app
        .certificates
        .iter()
        .find(|c| header.x5t_s256.as_deref() == Some(&x5t_s256(c)) || header.x5t.as_deref() == Some(&x5t(c)))
        .ok_or("The certificate with identifier used to sign the client assertion is not registered on application.")?;
    if !matches!(
        header.alg,
        jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::PS256
    ) {
        return Err("The assertion must be signed with RS256 or PS256.".to_owned());
    }
    let key = jsonwebtoken::DecodingKey::from_rsa_pem(cert.as_bytes())
        .map_err(|e| format!("Bad certificate: {e}."))?;
    let mut audiences = vec![format!("{}/{segment}/oauth2/v2.0/token", st.base_url)];
    if let Some(t) = st.directory.tenant(segment) {
        audiences.push(format!("{}/{}/oauth2/v2.0/token", st.base_url, t.id));
    }
    let mut v = jsonwebtoken::Validation::new(header.alg);
    v.set_audience(&audiences);
    v.set_issuer(&[app.client_id.as_str()]);
    v.sub = Some(app.client_id.clone());
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    jsonwebtoken::decode::<Value>(assertion, &key, &v)
        .map(|_| ())
        .map_err(|e| format!("Validation failed: {e}."))
}

fn authorization_code(
    st: &mut SimState,
    app: &App,
    path_tenant: Option<&str>,
    params: &HashMap<String, String>,
) -> HttpResponse {
    let p = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let Some(code) = p("code") else {
        return token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
        );
    };
    if st.redeemed.contains(code) {
        return token_error(
            400,
            "invalid_grant",
            54005,
            "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
        );
    }
    let Some(grant) = st.codes.remove(code) else {
        return token_error(
            400,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        );
    };
    st.redeemed.insert(code.to_owned());
    if grant.expires_at <= now() {
        return token_error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        );
    }
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return token_error(
            400,
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid. The code was issued to another client.",
        );
    }
    if path_tenant.is_some_and(|t| t != grant.tenant_id) {
        return token_error(
            400,
            "invalid_grant",
            700005,
            "Provided Authorization Code is intended to use against other tenant, thus rejected.",
        );
    }
    if p("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return token_error(
            400,
            "invalid_grant",
            500112,
            &format!(
                "The reply address '{}' does not match the reply address '{}' provided when requesting Authorization code.",
                p("redirect_uri").unwrap_or(""),
                grant.redirect_uri
            ),
        );
    }
    if let Some((challenge, method)) = &grant.code_challenge {
        let ok = p("code_verifier").is_some_and(|v| match method.as_str() {
            "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == *challenge,
            _ => v == challenge,
        });
        if !ok {
            return token_error(
                400,
                "invalid_grant",
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.",
            );
        }
    }
    issue_user_tokens(
        st,
        app,
        &grant.tenant_id,
        &grant.user_id,
        &grant.scopes,
        grant.nonce.as_deref(),
    )
}

fn refresh(st: &mut SimState, app: &App, token: Option<&str>) -> HttpResponse {
    let Some(grant) = token.and_then(|t| st.refresh_tokens.get(t)).cloned() else {
        return token_error(
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
        );
    };
    if !grant.client_id.eq_ignore_ascii_case(&app.client_id) {
        return token_error(
            400,
            "invalid_grant",
            70000,
            "The refresh token was issued to another client.",
        );
    }
    issue_user_tokens(st, app, &grant.tenant_id, &grant.user_id, &grant.scopes, None)
}

fn graph_scope(scope: &str) -> Option<String> {
    if OIDC_SCOPES.contains(&scope) || scope.starts_with("api://") {
        return None;
    }
    let name = scope
        .strip_prefix("https://graph.microsoft.com/")
        .unwrap_or(scope);
    (!name.contains("://") && !name.is_empty()).then(|| format!("https://graph.microsoft.com/{name}"))
}

fn issue_user_tokens(
    st: &mut SimState,
    app: &App,
    tid: &str,
    user_id: &str,
    scopes: &[String],
    nonce: Option<&str>,
) -> HttpResponse {
    let Some(user) = st
        .directory
        .tenant(tid)
        .and_then(|t| t.users.get(user_id))
        .cloned()
    else {
        return token_error(
            400,
            "invalid_grant",
            50034,
            "The user account does not exist in the directory.",
        );
    };
    let mut graph_scopes: Vec<String> = scopes.iter().filter_map(|s| graph_scope(s)).collect();
    let api_token = api_user_token(st, app, tid, &user, scopes);
    if graph_scopes.is_empty() && api_token.is_none() {
        graph_scopes.push("https://graph.microsoft.com/User.Read".to_owned());
    }
    let access_token = match api_token {
        // All scopes of one request belong to one resource (§2.2): a custom API's scopes give
        // a delegated token for that API.
        Some((token, api_scopes)) => {
            graph_scopes = api_scopes;
            token
        }
        None => {
            let token = mint::graph_token(st, tid, Some(&user), &app.client_id, &graph_scopes);
            st.graph_tokens.insert(
                token.clone(),
                GraphGrant {
                    client_id: app.client_id.clone(),
                    tenant_id: tid.to_owned(),
                    user_id: Some(user.id.clone()),
                    scopes: graph_scopes.clone(),
                    expires_at: now() + 3600,
                },
            );
            token
        }
    };
    let mut granted: Vec<String> = scopes
        .iter()
        .filter(|s| ["openid", "profile", "email"].contains(&s.as_str()))
        .cloned()
        .collect();
    granted.extend(graph_scopes);
    let mut body = json!({
        "token_type": "Bearer", "scope": granted.join(" "),
        "expires_in": 4937, "ext_expires_in": 4937, "access_token": access_token,
    });
    if scopes.iter().any(|s| s == "openid") {
        let tamper = st.faults.id_token_tamper.take();
        let groups = app.groups_claim.then(|| {
            st.directory
                .tenant(tid)
                .map(|t| {
                    t.transitive_of(&user.id)
                        .into_iter()
                        .filter(|g| t.groups.contains_key(g))
                        .collect()
                })
                .unwrap_or_default()
        });
        let input = IdTokenInput {
            user: &user,
            tid,
            client_id: &app.client_id,
            scopes,
            nonce,
            groups,
        };
        body["id_token"] = json!(mint::id_token(st, &input, tamper));
    }
    if scopes.iter().any(|s| s == "offline_access") {
        let rt = opaque("1.AXkA-rt-");
        st.refresh_tokens.insert(
            rt.clone(),
            RefreshGrant {
                client_id: app.client_id.clone(),
                tenant_id: tid.to_owned(),
                user_id: user.id.clone(),
                scopes: scopes.to_vec(),
            },
        );
        body["refresh_token"] = json!(rt);
    }
    token_ok(body)
}

/// A delegated token for a custom API when the scopes name one (`api://<app>/<permission>`),
/// with the granted scopes as the response lists them.
fn api_user_token(
    st: &SimState,
    app: &App,
    tid: &str,
    user: &User,
    scopes: &[String],
) -> Option<(String, Vec<String>)> {
    let api_scopes: Vec<&String> = scopes.iter().filter(|s| s.starts_with("api://")).collect();
    let (resource, _) = api_scopes.first()?.rsplit_once('/')?;
    let target = st
        .directory
        .apps
        .iter()
        .find(|a| a.app_id_uri().eq_ignore_ascii_case(resource))?;
    let names: Vec<String> = api_scopes
        .iter()
        .filter_map(|s| s.rsplit_once('/').map(|(_, n)| n.to_owned()))
        .collect();
    let input = mint::UserApiTokenInput {
        user,
        tid,
        client_id: &app.client_id,
        requested_resource: resource,
        resource_client_id: &target.client_id,
        version: target.access_token_version,
        scopes: &names,
    };
    let granted = api_scopes.iter().map(|s| (*s).clone()).collect();
    Some((mint::user_api_token(st, &input), granted))
}

fn client_credentials(
    st: &mut SimState,
    app: &App,
    tid: &str,
    scope: Option<&str>,
    cert: bool,
) -> HttpResponse {
    let Some(scope) = scope else {
        return token_error(
            400,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'scope'.",
        );
    };
    let scopes: Vec<&str> = scope.split_whitespace().collect();
    let [single] = scopes.as_slice() else {
        return token_error(
            400,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    };
    let Some(resource) = single.strip_suffix("/.default") else {
        return token_error(
            400,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {single} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
        );
    };
    let acr = if cert { "2" } else { "1" };
    if resource.eq_ignore_ascii_case("https://graph.microsoft.com")
        || resource == "00000003-0000-0000-c000-000000000000"
    {
        let token = mint::graph_token(st, tid, None, &app.client_id, &[]);
        st.graph_tokens.insert(
            token.clone(),
            GraphGrant {
                client_id: app.client_id.clone(),
                tenant_id: tid.to_owned(),
                user_id: None,
                scopes: app.granted_roles.clone(),
                expires_at: now() + 3599,
            },
        );
        return token_ok(
            json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
        );
    }
    let target = st
        .directory
        .apps
        .iter()
        .find(|a| a.app_id_uri().eq_ignore_ascii_case(resource) || a.client_id.eq_ignore_ascii_case(resource))
        .cloned();
    let Some(target) = target else {
        return token_error(
            400,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tid}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    };
    let tamper = st.faults.access_token_tamper.take();
    let input = mint::AppTokenInput {
        tid,
        client_id: &app.client_id,
        requested_resource: resource,
        resource_client_id: &target.client_id,
        version: target.access_token_version,
        acr,
        roles: &app.granted_roles,
    };
    let token = mint::app_token(st, &input, tamper);
    token_ok(
        json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token}),
    )
}

fn token_ok(body: Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("x-ms-request-id", super::protocol::guid()))
        .content_type("application/json; charset=utf-8")
        .body(body.to_string())
}
