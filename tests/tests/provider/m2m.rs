//! Machine-to-machine: a service's Entra client-credentials token exchanged for Gatehouse
//! tokens at the token endpoint (`client_assertion`), through the provider's federated source.

use gatehouse_testkit::entra::EntraEnv;
use gatehouse_testkit::entra_sim::{Tamper, fixtures as f};
use serde_json::{Value, json};

use super::*;

pub(super) const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(super) async fn entra_token(
    env: &EntraEnv,
    tenant: &str,
    client: &str,
    secret: &str,
    scope: &str,
) -> String {
    let body: Value = env
        .http
        .post(env.sim.token_url(tenant))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", scope),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{body}"))
        .to_owned()
}

pub(super) async fn daemon_token(env: &EntraEnv) -> String {
    entra_token(
        env,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        &format!("api://{}/.default", f::APP),
    )
    .await
}

pub(super) async fn exchange(env: &EntraEnv, client_id: &str, assertion: &str) -> (u16, Value) {
    let res = env
        .http
        .post(env.server.url("/application/o/token/"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

pub(super) async fn source_pk(env: &EntraEnv) -> Value {
    env.api("GET", "/api/v3/sources/oauth/entra-id/", None).await.1["pk"].clone()
}

pub(super) async fn count_users(env: &EntraEnv) -> i64 {
    env.api("GET", "/api/v3/core/users/?page_size=1", None).await.1["pagination"]["count"]
        .as_i64()
        .unwrap()
}

#[track_caller]
pub(super) fn refused(result: (u16, Value), needle: &str) {
    let (status, body) = result;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(body.get("access_token").is_none());
    let description = body["error_description"].as_str().unwrap();
    assert!(description.contains(needle), "`{needle}` not in: {description}");
}

crate::entra_test!(entra_token_exchanged_for_gatehouse_tokens, |_source| {}, |env| {
    let source = source_pk(&env).await;
    let rp = create_rp(
        &env,
        "orders-api",
        json!({"jwt_federation_sources": [source], "jwt_federation_required_roles": [f::EXCHANGE_ROLE]}),
    )
    .await;
    let token = daemon_token(&env).await;
    let users_before = count_users(&env).await;
    let (status, body) = exchange(&env, &rp.client_id, &token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_i64().unwrap() > 0);
    assert_eq!(body["scope"], "openid profile email");
    assert!(body.get("refresh_token").is_none());
    let claims = verify_with_jwks(
        &env,
        "orders-api",
        body["id_token"].as_str().unwrap(),
        &rp.client_id,
    )
    .await;
    let username = format!("orders-api-provider-{}", f::DAEMON);
    assert_eq!(claims["preferred_username"], username);
    let access = body["access_token"].as_str().unwrap();
    verify_with_jwks(&env, "orders-api", access, &rp.client_id).await;
    assert_eq!(userinfo(&env, access).await.1["preferred_username"], username);

    // The calling app is a service account, created once.
    let (_, users) = env
        .api("GET", &format!("/api/v3/core/users/?username={username}"), None)
        .await;
    let account = &users["results"][0];
    assert_eq!(account["type"], "service_account", "{users}");
    assert_eq!(account["attributes"]["m2m"]["app_id"], f::DAEMON);
    assert_eq!(count_users(&env).await, users_before + 1);
    let (status, _) = exchange(&env, &rp.client_id, &token).await;
    assert_eq!(status, 200);
    assert_eq!(count_users(&env).await, users_before + 1);
});

crate::entra_test!(exchange_refusals, |_source| {}, |env| {
    let source = source_pk(&env).await;
    let rp = create_rp(
        &env,
        "billing",
        json!({"jwt_federation_sources": [source], "jwt_federation_required_roles": [f::EXCHANGE_ROLE]}),
    )
    .await;
    let unfederated = create_rp(&env, "unfederated", json!({})).await;
    let users_before = count_users(&env).await;

    // Not federated with this provider.
    refused(
        exchange(&env, &unfederated.client_id, &daemon_token(&env).await).await,
        "jwt_federation_sources",
    );
    // Wrong audience: a token for another API.
    let other = entra_token(
        &env,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        &format!("api://{}/.default", f::OTHER_API),
    )
    .await;
    refused(exchange(&env, &rp.client_id, &other).await, "audience");
    // Another tenant.
    let fabrikam = entra_token(
        &env,
        f::FABRIKAM,
        f::FABRIKAM_DAEMON,
        f::FABRIKAM_DAEMON_SECRET,
        &format!("api://{}/.default", f::APP),
    )
    .await;
    refused(exchange(&env, &rp.client_id, &fabrikam).await, f::FABRIKAM);
    // A Graph token: the answer says what to request instead.
    let graph = entra_token(
        &env,
        f::CONTOSO,
        f::DAEMON,
        f::DAEMON_SECRET,
        "https://graph.microsoft.com/.default",
    )
    .await;
    refused(
        exchange(&env, &rp.client_id, &graph).await,
        &format!("api://{}/.default", f::APP),
    );
    // Forged and stale tokens.
    for (tamper, needle) in [
        (Tamper::Expired, "expired"),
        (Tamper::AlgNone, "`none` is not allowed"),
        (Tamper::Hs256WithPublicKey, "`HS256` is not allowed"),
        (Tamper::BadSignature, "signature"),
        (Tamper::WrongIssuer, "issuer"),
    ] {
        env.sim.with_faults(|x| x.access_token_tamper = Some(tamper));
        let token = daemon_token(&env).await;
        env.sim.with_faults(|x| x.access_token_tamper = None);
        refused(exchange(&env, &rp.client_id, &token).await, needle);
    }
    // Signed by a key the tenant does not publish.
    env.sim.sign_with_unpublished_key();
    let token = daemon_token(&env).await;
    refused(exchange(&env, &rp.client_id, &token).await, "unknown key");
    env.sim.publish_all_keys();
    // Garbage, unknown client, wrong assertion type.
    refused(exchange(&env, &rp.client_id, "not-a-jwt").await, "not a JWT");
    let (status, body) = exchange(&env, "no-such-client", "x").await;
    assert_eq!((status, body["error"].as_str()), (401, Some("invalid_client")));
    let res = env
        .http
        .post(env.server.url("/application/o/token/"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", rp.client_id.as_str()),
            ("client_assertion_type", "urn:other"),
            ("client_assertion", "x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 400);
    // Allowed app ids exclude the daemon.
    let (status, _) = env
        .api(
            "PATCH",
            &format!("/api/v3/providers/oauth2/{}/", rp.pk),
            Some(json!({"jwt_federation_app_ids": ["not-the-daemon"]})),
        )
        .await;
    assert_eq!(status, 200);
    let token = daemon_token(&env).await;
    let (status, body) = exchange(&env, &rp.client_id, &token).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        count_users(&env).await,
        users_before,
        "no service account was created"
    );
});

crate::entra_test!(mappings_shape_the_service_account, |_source| {}, |env| {
    let (status, mapping) = env
        .api(
            "POST",
            "/api/v3/propertymappings/source/oauth/",
            Some(json!({
                "name": "machines",
                "expression": "if info.gatehouse_machine == true { #{username: \"svc-\" + claims.appid, attributes: #{team: \"payments\"}} } else { () }",
            })),
        )
        .await;
    assert_eq!(status, 201, "{mapping}");
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"user_property_mappings": [mapping["pk"]]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let source = source_pk(&env).await;
    let rp = create_rp(
        &env,
        "ledger-api",
        json!({"jwt_federation_sources": [source], "jwt_federation_required_roles": [f::EXCHANGE_ROLE]}),
    )
    .await;
    let (status, body) = exchange(&env, &rp.client_id, &daemon_token(&env).await).await;
    assert_eq!(status, 200, "{body}");
    let claims = verify_with_jwks(
        &env,
        "ledger-api",
        body["id_token"].as_str().unwrap(),
        &rp.client_id,
    )
    .await;
    assert_eq!(claims["preferred_username"], format!("svc-{}", f::DAEMON));
    let (_, users) = env
        .api(
            "GET",
            &format!("/api/v3/core/users/?username=svc-{}", f::DAEMON),
            None,
        )
        .await;
    assert_eq!(users["results"][0]["attributes"]["team"], "payments");
});
