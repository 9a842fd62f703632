//! URL resolution, validation and the authorization redirect (no network).

use gatehouse_plugins::{AuthorizationRequest, ClientCredential, ResolvedUrls, SourceConfig};
use gatehouse_testkit::entra_sim::fixtures as f;
use serde_json::{Value, json};

use crate::plugins::common::*;

fn cfg(settings: Value, scopes: &str) -> SourceConfig {
    SourceConfig {
        slug: "entra".to_owned(),
        name: "Entra".to_owned(),
        consumer_key: f::APP.to_owned(),
        credential: ClientCredential::Secret("s".to_owned()),
        additional_scopes: scopes.to_owned(),
        authorization_url: None,
        access_token_url: None,
        profile_url: None,
        oidc_jwks_url: None,
        settings,
    }
}

fn resolve(c: &SourceConfig) -> ResolvedUrls {
    entraid().resolve_urls(c).unwrap()
}

#[test]
fn single_tenant_guid() {
    let u = resolve(&cfg(json!({"tenant": f::CONTOSO}), ""));
    let l = "https://login.microsoftonline.com";
    assert_eq!(
        u.authorization_url.unwrap(),
        format!("{l}/{}/oauth2/v2.0/authorize", f::CONTOSO)
    );
    assert_eq!(
        u.access_token_url.unwrap(),
        format!("{l}/{}/oauth2/v2.0/token", f::CONTOSO)
    );
    assert_eq!(
        u.oidc_jwks_url.unwrap(),
        format!("{l}/{}/discovery/v2.0/keys", f::CONTOSO)
    );
    assert_eq!(u.profile_url.unwrap(), "https://graph.microsoft.com/v1.0/me");
    assert_eq!(u.graph_base.unwrap(), "https://graph.microsoft.com");
    assert_eq!(u.issuer.unwrap(), format!("{l}/{}/v2.0", f::CONTOSO));
}

#[test]
fn common_organizations_and_default() {
    for (settings, seg) in [
        (json!({"tenant": "common"}), "common"),
        (json!({"tenant": "organizations"}), "organizations"),
        (Value::Null, "common"),
    ] {
        let u = resolve(&cfg(settings, ""));
        assert_eq!(
            u.access_token_url.unwrap(),
            format!("https://login.microsoftonline.com/{seg}/oauth2/v2.0/token")
        );
        assert_eq!(
            u.issuer.unwrap(),
            "https://login.microsoftonline.com/{tenantid}/v2.0"
        );
    }
}

#[test]
fn domain_tenant_issuer_is_discovered() {
    let u = resolve(&cfg(json!({"tenant": "Contoso.onmicrosoft.com"}), ""));
    assert_eq!(
        u.authorization_url.unwrap(),
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
    );
    assert_eq!(u.issuer, None);
}

#[test]
fn national_clouds() {
    let gov = resolve(&cfg(json!({"tenant": f::CONTOSO, "cloud": "usgov"}), ""));
    assert!(
        gov.access_token_url
            .unwrap()
            .starts_with("https://login.microsoftonline.us/")
    );
    assert_eq!(gov.graph_base.unwrap(), "https://graph.microsoft.us");
    let cn = resolve(&cfg(json!({"tenant": f::CONTOSO, "cloud": "china"}), ""));
    assert!(
        cn.authorization_url
            .unwrap()
            .starts_with("https://login.chinacloudapi.cn/")
    );
    assert_eq!(
        cn.profile_url.unwrap(),
        "https://microsoftgraph.chinacloudapi.cn/v1.0/me"
    );
}

#[test]
fn explicit_urls_win_and_graph_follows_the_profile_url() {
    let mut c = cfg(Value::Null, "");
    c.access_token_url = Some(format!("http://127.0.0.1:9100/{}/oauth2/v2.0/token", f::FABRIKAM));
    c.profile_url = Some("http://127.0.0.1:9200/v1.0/me".to_owned());
    let u = resolve(&c);
    assert_eq!(
        u.access_token_url.unwrap(),
        format!("http://127.0.0.1:9100/{}/oauth2/v2.0/token", f::FABRIKAM)
    );
    assert_eq!(u.graph_base.unwrap(), "http://127.0.0.1:9200");
    // The tenant comes from the explicit token URL when settings.tenant is empty.
    assert_eq!(
        u.issuer.unwrap(),
        format!("http://127.0.0.1:9100/{}/v2.0", f::FABRIKAM)
    );
    assert_eq!(
        u.authorization_url.unwrap(),
        format!(
            "https://login.microsoftonline.com/{}/oauth2/v2.0/authorize",
            f::FABRIKAM
        )
    );
}

#[test]
fn validation_reports_each_field() {
    let mut c = cfg(
        json!({"tenant": "not a tenant!", "cloud": "mars", "group_sync": "sometimes", "allowed_tenants": ["x"],
               "on_group_error": "explode", "secret_expires": "soon"}),
        "",
    );
    c.consumer_key = "my-app".to_owned();
    c.credential = ClientCredential::Secret(" ".to_owned());
    c.profile_url = Some("http://graph.example.com/v1.0/me".to_owned());
    let e = entraid().validate(&c).unwrap_err();
    for field in [
        "consumer_key",
        "consumer_secret",
        "profile_url",
        "settings.tenant",
        "settings.cloud",
        "settings.group_sync",
        "settings.allowed_tenants",
        "settings.on_group_error",
        "settings.secret_expires",
    ] {
        assert!(e.get(field).is_some(), "missing error for {field}: {e}");
    }
    let unknown = entraid()
        .validate(&cfg(json!({"tennant": "common"}), ""))
        .unwrap_err();
    assert!(unknown.get("settings").is_some());
    assert!(
        entraid()
            .validate(&cfg(
                json!({"tenant": f::CONTOSO, "secret_expires": "2027-01-31"}),
                ""
            ))
            .is_ok()
    );
    assert_eq!(
        entraid()
            .secret_expires(&cfg(json!({"secret_expires": "2027-01-31"}), ""))
            .unwrap()
            .to_string(),
        "2027-01-31"
    );
}

async fn redirect_query(
    c: &SourceConfig,
    req: AuthorizationRequest,
) -> (gatehouse_plugins::AuthorizationRedirect, Vec<(String, String)>) {
    let r = entraid().authorization_redirect(&ctx(), c, req).await.unwrap();
    let q = url::Url::parse(&r.url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    (r, q)
}

fn get<'a>(q: &'a [(String, String)], k: &str) -> Vec<&'a str> {
    q.iter()
        .filter(|(x, _)| x == k)
        .map(|(_, v)| v.as_str())
        .collect()
}

#[tokio::test]
async fn authorization_redirect_parameters() {
    let c = cfg(
        json!({"tenant": f::CONTOSO}),
        "offline_access openid https://graph.microsoft.com/User.Read",
    );
    let req = AuthorizationRequest {
        redirect_uri: f::TEST_REDIRECT.to_owned(),
        login_hint: Some("adele@contoso.com".to_owned()),
        extra_params: vec![
            ("prompt".to_owned(), "select_account".to_owned()),
            ("state".to_owned(), "evil".to_owned()),
        ],
    };
    let (r, q) = redirect_query(&c, req).await;
    assert!(r.url.starts_with(&format!(
        "https://login.microsoftonline.com/{}/oauth2/v2.0/authorize?",
        f::CONTOSO
    )));
    assert_eq!(get(&q, "client_id"), [f::APP]);
    assert_eq!(get(&q, "response_type"), ["code"]);
    assert_eq!(get(&q, "response_mode"), ["query"]);
    assert_eq!(get(&q, "redirect_uri"), [f::TEST_REDIRECT]);
    assert_eq!(
        get(&q, "scope"),
        ["openid profile email https://graph.microsoft.com/User.Read offline_access"]
    );
    assert_eq!(
        get(&q, "state"),
        [r.state.as_str()],
        "extra params cannot override state"
    );
    assert_eq!(get(&q, "nonce"), [r.nonce.as_str()]);
    assert_eq!(get(&q, "code_challenge_method"), ["S256"]);
    use base64::Engine;
    use sha2::Digest;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(r.pkce_verifier.as_bytes()));
    assert_eq!(get(&q, "code_challenge"), [challenge.as_str()]);
    assert_eq!(get(&q, "login_hint"), ["adele@contoso.com"]);
    assert_eq!(get(&q, "prompt"), ["select_account"]);
    assert_ne!(r.state, r.nonce);
    assert!(r.pkce_verifier.len() >= 43);
    let (again, _) = redirect_query(
        &c,
        AuthorizationRequest {
            redirect_uri: f::TEST_REDIRECT.to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert_ne!(again.state, r.state, "fresh randomness each time");
}

#[tokio::test]
async fn group_scope_detection_is_exact_and_per_cloud() {
    let scope_of = |q: &[(String, String)]| get(q, "scope")[0].to_owned();
    // Substring of a longer token does not count.
    let (_, q) = redirect_query(
        &cfg(
            json!({"tenant": "common"}),
            "https://graph.microsoft.com/GroupMember.Read.AllX",
        ),
        AuthorizationRequest::default(),
    )
    .await;
    assert!(
        scope_of(&q)
            .split(' ')
            .any(|s| s.ends_with("GroupMember.Read.AllX"))
    );
    assert!(!scope_of(&q).split(' ').any(|s| s == GROUP_SCOPE));
    // Explicit group_sync adds the scope of the source's cloud.
    let (_, q) = redirect_query(
        &cfg(
            json!({"tenant": "common", "cloud": "usgov", "group_sync": "direct"}),
            "",
        ),
        AuthorizationRequest::default(),
    )
    .await;
    assert_eq!(
        scope_of(&q),
        "openid profile email https://graph.microsoft.us/User.Read https://graph.microsoft.us/GroupMember.Read.All"
    );
    // An admin-set query parameter on the URL is kept.
    let mut c = cfg(json!({"tenant": "common"}), "");
    c.authorization_url = Some(
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?domain_hint=contoso.com&state=x"
            .to_owned(),
    );
    let (r, q) = redirect_query(&c, AuthorizationRequest::default()).await;
    assert_eq!(get(&q, "domain_hint"), ["contoso.com"]);
    assert_eq!(get(&q, "state"), [r.state.as_str()]);
}

#[test]
fn description_and_schema() {
    let d = entraid().description().clone();
    assert_eq!(d.name, "entraid");
    assert_eq!(d.icon, "sources/entraid.svg");
    assert!(d.urls_customizable);
    let props = d.settings_schema["properties"].as_object().unwrap();
    for key in [
        "tenant",
        "cloud",
        "group_sync",
        "allowed_tenants",
        "on_group_error",
        "group_fetch_budget_ms",
        "secret_expires",
    ] {
        assert!(props.contains_key(key), "{key}");
    }
}
