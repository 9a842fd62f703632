//! Discovery documents (v2 and v1) and JWKS (v2 with per-key `issuer`, v1 without).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::Shared;
use super::protocol::{metadata_json, token_error};

/// `(tenant id for endpoints, issuer tenant)`; `None` when the tenant is unknown.
fn tenant_parts(sim: &Shared, segment: &str) -> Option<(String, String)> {
    let lower = segment.to_ascii_lowercase();
    if matches!(lower.as_str(), "common" | "organizations") {
        return Some((lower, "{tenantid}".to_owned()));
    }
    let st = sim.lock();
    st.directory.tenant(segment).map(|t| (t.id.clone(), t.id.clone()))
}

pub async fn discovery_v2(path: web::Path<String>, sim: web::Data<Shared>) -> HttpResponse {
    sim.lock().counters.discovery += 1;
    let Some((t, iss_tid)) = tenant_parts(&sim, &path) else {
        return token_error(
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{path}' not found."),
        );
    };
    let base = sim.lock().base_url.clone();
    let region: Value = if iss_tid.starts_with('{') {
        Value::Null
    } else {
        json!("WW")
    };
    metadata_json(json!({
        "token_endpoint": format!("{base}/{t}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{t}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{iss_tid}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{base}/{t}/oauth2/v2.0/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{base}/{t}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "kerberos_endpoint": format!("{base}/{t}/kerberos"),
        "tenant_region_scope": region,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": base.trim_start_matches("http://").trim_start_matches("https://"),
        "rbac_url": "https://pas.windows.net",
    }))
}

pub async fn discovery_v1(path: web::Path<String>, sim: web::Data<Shared>) -> HttpResponse {
    sim.lock().counters.discovery += 1;
    let Some((t, iss_tid)) = tenant_parts(&sim, &path) else {
        return token_error(
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{path}' not found."),
        );
    };
    let base = sim.lock().base_url.clone();
    metadata_json(json!({
        "token_endpoint": format!("{base}/{t}/oauth2/token"),
        "jwks_uri": format!("{base}/{t}/discovery/keys"),
        "issuer": format!("https://sts.windows.net/{iss_tid}/"),
        "authorization_endpoint": format!("{base}/{t}/oauth2/authorize"),
        "id_token_signing_alg_values_supported": ["RS256"],
        "subject_types_supported": ["pairwise"],
    }))
}

fn keys(sim: &Shared, segment: &str, v2: bool) -> HttpResponse {
    let Some((_, iss_tid)) = tenant_parts(sim, segment) else {
        return token_error(
            400,
            "invalid_tenant",
            90002,
            &format!("Tenant '{segment}' not found."),
        );
    };
    let mut st = sim.lock();
    st.counters.jwks += 1;
    let issuer = format!("{}/{iss_tid}/v2.0", st.base_url);
    let keys: Vec<Value> = st
        .keys
        .published()
        .map(|k| k.jwk(v2.then_some(issuer.as_str())))
        .collect();
    metadata_json(json!({ "keys": keys }))
}

pub async fn jwks_v2(path: web::Path<String>, sim: web::Data<Shared>) -> HttpResponse {
    keys(&sim, &path, true)
}

pub async fn jwks_v1(path: web::Path<String>, sim: web::Data<Shared>) -> HttpResponse {
    keys(&sim, &path, false)
}
