//! Token contents: v2 id_tokens, Graph access tokens (header `nonce`, unverifiable), and app
//! tokens for `api://…/.default` in v1 or v2 format (§3, §4).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::directory::User;
use super::keys::Tamper;
use super::protocol::{guid, now};
use super::state::SimState;

/// Pairwise `sub`: stable per (user, app, tenant), never equal to `oid`.
pub fn pairwise_sub(oid: &str, client_id: &str, tid: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{oid}|{client_id}|{tid}").as_bytes()))
}

/// The service principal object id of an app in a tenant (deterministic).
pub fn service_principal_id(client_id: &str, tid: &str) -> String {
    let h = Sha256::digest(format!("sp|{client_id}|{tid}").as_bytes());
    let x = hex::encode(&h[..16]);
    format!(
        "{}-{}-4{}-8{}-{}",
        &x[0..8],
        &x[8..12],
        &x[13..16],
        &x[17..20],
        &x[20..32]
    )
}

/// Times for a token, shifted by time-related tampering.
fn times(tamper: Option<Tamper>, lifetime: i64) -> (i64, i64, i64) {
    let n = now();
    match tamper {
        Some(Tamper::Expired) => (n - 7200, n - 7200, n - 3600),
        Some(Tamper::NotYetValid) => (n, n + 3600, n + 3600 + lifetime),
        _ => (n, n, n + lifetime),
    }
}

fn other_tenant(st: &SimState, tid: &str) -> String {
    st.directory
        .tenants
        .iter()
        .map(|t| t.id.clone())
        .find(|t| t != tid)
        .unwrap_or_else(guid)
}

pub struct IdTokenInput<'a> {
    pub user: &'a User,
    pub tid: &'a str,
    pub client_id: &'a str,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    /// The `groups` claim (group object ids) when the app asks for it.
    pub groups: Option<Vec<String>>,
}

/// A v2 id_token (header: `kid` only).
pub fn id_token(st: &SimState, input: &IdTokenInput<'_>, tamper: Option<Tamper>) -> String {
    let base = &st.base_url;
    let mut tid = input.tid.to_owned();
    if tamper == Some(Tamper::OtherTenant) {
        tid = other_tenant(st, &tid);
    }
    let (iat, nbf, exp) = times(tamper, 3600);
    let has = |s: &str| input.scopes.iter().any(|x| x == s);
    let mut claims = json!({
        "aud": if tamper == Some(Tamper::WrongAudience) { guid() } else { input.client_id.to_owned() },
        "iss": if tamper == Some(Tamper::WrongIssuer) { format!("https://evil.example.com/{tid}/v2.0") } else { format!("{base}/{tid}/v2.0") },
        "iat": iat, "nbf": nbf, "exp": exp,
        "aio": "AXQAi/8IAAAA-simulated",
        "rh": "1.AXkA-simulated",
        "sid": guid(),
        "sub": pairwise_sub(&input.user.id, input.client_id, &tid),
        "tid": tid,
        "uti": URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
        "ver": "2.0",
    });
    let obj = claims.as_object_mut();
    if let Some(obj) = obj {
        if has("profile") {
            obj.insert("name".to_owned(), json!(input.user.display_name));
            obj.insert("oid".to_owned(), json!(input.user.id));
            let preferred = match input.user.user_type {
                super::directory::UserType::Guest => input.user.other_mails.first().cloned(),
                super::directory::UserType::Member => Some(input.user.user_principal_name.clone()),
            };
            obj.insert("preferred_username".to_owned(), json!(preferred));
        }
        let email = input
            .user
            .mail
            .clone()
            .or_else(|| input.user.other_mails.first().cloned());
        if has("email") && email.is_some() {
            obj.insert("email".to_owned(), json!(email));
        }
        let nonce = if tamper == Some(Tamper::WrongNonce) {
            Some("not-the-nonce-you-sent")
        } else {
            input.nonce
        };
        if let Some(n) = nonce {
            obj.insert("nonce".to_owned(), json!(n));
        }
        if let Some(groups) = &input.groups {
            obj.insert("groups".to_owned(), json!(groups));
        }
    }
    st.keys.mint(&claims, &[], tamper)
}

/// A delegated or app-only Graph token: v1 format with a `nonce` in the header, so that a
/// standard JWT validator fails on it (as on real Graph tokens).
pub fn graph_token(st: &SimState, tid: &str, user: Option<&User>, app_id: &str, scopes: &[String]) -> String {
    let n = now();
    let mut claims = json!({
        "aud": "https://graph.microsoft.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": n, "nbf": n, "exp": n + 3600,
        "appid": app_id, "appidacr": "1",
        "idp": format!("https://sts.windows.net/{tid}/"),
        "tid": tid, "ver": "1.0",
        "uti": URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes()),
    });
    if let Some(obj) = claims.as_object_mut() {
        match user {
            Some(u) => {
                obj.insert("oid".to_owned(), json!(u.id));
                obj.insert("upn".to_owned(), json!(u.user_principal_name));
                obj.insert("idtyp".to_owned(), json!("user"));
                let scp: Vec<&str> = scopes.iter().map(|s| s.rsplit('/').next().unwrap_or(s)).collect();
                obj.insert("scp".to_owned(), json!(scp.join(" ")));
            }
            None => {
                obj.insert("idtyp".to_owned(), json!("app"));
                obj.insert("oid".to_owned(), json!(service_principal_id(app_id, tid)));
            }
        }
    }
    let nonce = URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes());
    st.keys.mint(
        &claims,
        &[("nonce", json!(nonce)), ("x5t", json!(st.keys.active_key().kid))],
        None,
    )
}

/// What a client-credentials token for a custom API (`api://<resource>/.default`) says.
pub struct AppTokenInput<'a> {
    pub tid: &'a str,
    pub client_id: &'a str,
    /// The resource as requested (v1 `aud`).
    pub requested_resource: &'a str,
    /// The resource app's client id (v2 `aud`).
    pub resource_client_id: &'a str,
    pub version: u8,
    /// `appidacr`/`azpacr`: "1" secret, "2" certificate.
    pub acr: &'a str,
    pub roles: &'a [String],
}

/// Client-credentials token for a custom API, v1 or v2 format.
pub fn app_token(st: &SimState, input: &AppTokenInput<'_>, tamper: Option<Tamper>) -> String {
    let AppTokenInput {
        tid,
        client_id,
        requested_resource,
        resource_client_id,
        version,
        acr,
        roles,
    } = *input;
    let mut tid = tid.to_owned();
    if tamper == Some(Tamper::OtherTenant) {
        tid = other_tenant(st, &tid);
    }
    let (iat, nbf, exp) = times(tamper, 3599);
    let sp = service_principal_id(client_id, &tid);
    let mut claims = if version == 2 {
        json!({
            "aud": resource_client_id, "iss": format!("{}/{tid}/v2.0", st.base_url),
            "azp": client_id, "azpacr": acr, "ver": "2.0",
        })
    } else {
        json!({
            "aud": requested_resource, "iss": format!("https://sts.windows.net/{tid}/"),
            "appid": client_id, "appidacr": acr, "idp": format!("https://sts.windows.net/{tid}/"), "ver": "1.0",
        })
    };
    if let Some(obj) = claims.as_object_mut() {
        for (k, v) in [
            ("iat", json!(iat)),
            ("nbf", json!(nbf)),
            ("exp", json!(exp)),
            ("oid", json!(sp)),
            ("sub", json!(sp)),
            ("tid", json!(tid)),
            ("idtyp", json!("app")),
            ("aio", json!("k2BgYGj-simulated")),
            ("rh", json!("0.AXkA-simulated")),
            (
                "uti",
                json!(URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())),
            ),
        ] {
            obj.insert(k.to_owned(), v);
        }
        if !roles.is_empty() {
            obj.insert("roles".to_owned(), json!(roles));
        }
        if tamper == Some(Tamper::WrongAudience) {
            obj.insert("aud".to_owned(), json!(format!("api://{}", guid())));
        }
        if tamper == Some(Tamper::WrongIssuer) {
            obj.insert(
                "iss".to_owned(),
                json!(format!("https://evil.example.com/{tid}/")),
            );
        }
    }
    let header: Vec<(&str, Value)> = if version == 2 {
        Vec::new()
    } else {
        vec![("x5t", json!(st.keys.active_key().kid))]
    };
    st.keys.mint(&claims, &header, tamper)
}

/// What a delegated (user) access token for a custom API says (§4.2 "sample user token").
pub struct UserApiTokenInput<'a> {
    pub user: &'a User,
    pub tid: &'a str,
    pub client_id: &'a str,
    /// The resource as requested (v1 `aud`).
    pub requested_resource: &'a str,
    /// The resource app's client id (v2 `aud`).
    pub resource_client_id: &'a str,
    pub version: u8,
    /// Delegated permission names (`scp`), e.g. `access_as_user`.
    pub scopes: &'a [String],
}

/// A delegated access token for a custom API, v1 or v2 format: it carries `scp` and the user's
/// `oid`; v2 tokens also carry `idtyp: "user"` (the `include_user_token` optional claim).
pub fn user_api_token(st: &SimState, input: &UserApiTokenInput<'_>) -> String {
    let UserApiTokenInput {
        user,
        tid,
        client_id,
        requested_resource,
        resource_client_id,
        version,
        scopes,
    } = *input;
    let n = now();
    let mut claims = if version == 2 {
        json!({
            "aud": resource_client_id, "iss": format!("{}/{tid}/v2.0", st.base_url),
            "azp": client_id, "azpacr": "1", "ver": "2.0", "idtyp": "user",
            "preferred_username": user.user_principal_name,
        })
    } else {
        json!({
            "aud": requested_resource, "iss": format!("https://sts.windows.net/{tid}/"),
            "appid": client_id, "appidacr": "1", "idp": format!("https://sts.windows.net/{tid}/"),
            "ver": "1.0", "upn": user.user_principal_name, "unique_name": user.user_principal_name,
            "amr": ["pwd"],
        })
    };
    if let Some(obj) = claims.as_object_mut() {
        for (k, v) in [
            ("iat", json!(n)),
            ("nbf", json!(n)),
            ("exp", json!(n + 3600)),
            ("oid", json!(user.id)),
            ("sub", json!(pairwise_sub(&user.id, client_id, tid))),
            ("tid", json!(tid)),
            ("name", json!(user.display_name)),
            ("scp", json!(scopes.join(" "))),
            ("aio", json!("k2BgYGj-simulated")),
            ("rh", json!("0.AXkA-simulated")),
            (
                "uti",
                json!(URL_SAFE_NO_PAD.encode(uuid::Uuid::new_v4().as_bytes())),
            ),
        ] {
            obj.insert(k.to_owned(), v);
        }
    }
    let header: Vec<(&str, Value)> = if version == 2 {
        Vec::new()
    } else {
        vec![("x5t", json!(st.keys.active_key().kid))]
    };
    st.keys.mint(&claims, &header, None)
}
