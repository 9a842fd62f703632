//! M2M trust (issue 11, item 1): who may exchange an Entra token. A federating provider names
//! its callers (app allow-list and/or required app roles); delegated tokens, other tenants and
//! unnamed apps are refused with `invalid_grant` and a readable reason; unsafe configurations
//! are refused on save, and unsafe rows left by the migration refuse every exchange.

use gatehouse::db::StoreError;
use gatehouse_testkit::entra::EntraEnv;
use gatehouse_testkit::entra_sim::fixtures as f;
use serde_json::{Value, json};

use super::m2m::{daemon_token, entra_token, exchange, refused, source_pk};
use super::*;

const ROLE: &str = f::EXCHANGE_ROLE;

/// The standard source made multi-tenant (`organizations`), restricted to Contoso.
fn organizations_source(source: &mut Value) {
    for key in ["authorization_url", "access_token_url", "oidc_jwks_url"] {
        if let Some(url) = source[key].as_str() {
            source[key] = json!(url.replace(f::CONTOSO, "organizations"));
        }
    }
    source["settings"] = json!({"tenant": "organizations", "allowed_tenants": [f::CONTOSO]});
}

/// A client-credentials token of `client` (Contoso unless Fabrikam's daemon) for Gatehouse's API.
async fn app_token(env: &EntraEnv, tenant: &str, client: &str, secret: &str) -> String {
    entra_token(env, tenant, client, secret, &format!("api://{}/.default", f::APP)).await
}

/// A delegated token: Adele signs in to the Contoso portal, which asks for
/// `api://<APP>/access_as_user` (authorization code at the simulator).
async fn delegated_token(env: &EntraEnv) -> String {
    let mut url = url::Url::parse(&env.sim.authorize_url(f::CONTOSO)).unwrap();
    url.query_pairs_mut()
        .append_pair("client_id", f::WEB_CLIENT)
        .append_pair("redirect_uri", f::WEB_CLIENT_REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", &format!("openid api://{}/access_as_user", f::APP));
    let res = env.http.get(url.as_str()).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 302);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let code = param(&location, "code").unwrap_or_else(|| panic!("no code in {location}"));
    let body: Value = env
        .http
        .post(env.sim.token_url(f::CONTOSO))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", f::WEB_CLIENT),
            ("client_secret", f::WEB_CLIENT_SECRET),
            ("code", code.as_str()),
            ("redirect_uri", f::WEB_CLIENT_REDIRECT),
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

crate::entra_test!(
    only_named_apps_with_the_role_exchange,
    |source| { organizations_source(source) },
    |env| {
        let source = source_pk(&env).await;
        // Every caller below is on the allow-list except the outsider, so each refusal has one reason.
        let allowed = [f::DAEMON, f::ROLELESS_DAEMON, f::WEB_CLIENT, f::FABRIKAM_DAEMON];
        let rp = create_rp(
            &env,
            "payments-api",
            json!({
                "jwt_federation_sources": [source],
                "jwt_federation_app_ids": allowed,
                "jwt_federation_required_roles": [ROLE],
            }),
        )
        .await;

        let roleless = app_token(&env, f::CONTOSO, f::ROLELESS_DAEMON, f::ROLELESS_DAEMON_SECRET).await;
        refused(
            exchange(&env, &rp.client_id, &roleless).await,
            &format!("the token has no role `{ROLE}` required by this provider"),
        );
        refused(
            exchange(&env, &rp.client_id, &delegated_token(&env).await).await,
            "delegated (user) token",
        );
        let fabrikam = app_token(&env, f::FABRIKAM, f::FABRIKAM_DAEMON, f::FABRIKAM_DAEMON_SECRET).await;
        refused(
            exchange(&env, &rp.client_id, &fabrikam).await,
            &format!("tokens of tenant {} are not accepted", f::FABRIKAM),
        );
        let outsider = app_token(&env, f::CONTOSO, f::OUTSIDER_DAEMON, f::OUTSIDER_DAEMON_SECRET).await;
        refused(
            exchange(&env, &rp.client_id, &outsider).await,
            &format!(
                "application {} is not allowed: it is not in this provider's jwt_federation_app_ids",
                f::OUTSIDER_DAEMON
            ),
        );

        let (status, body) = exchange(&env, &rp.client_id, &daemon_token(&env).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");

        // Roles alone also name the callers: the outsider holds the role.
        let (status, body) = env
            .api(
                "PATCH",
                &format!("/api/v3/providers/oauth2/{}/", rp.pk),
                Some(json!({"jwt_federation_app_ids": []})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["jwt_federation_required_roles"], json!([ROLE]));
        let (status, body) = exchange(&env, &rp.client_id, &outsider).await;
        assert_eq!(status, 200, "{body}");
        refused(exchange(&env, &rp.client_id, &roleless).await, "has no role");
    }
);

#[track_caller]
fn field_error(result: (u16, Value), field: &str, needle: &str) {
    let (status, body) = result;
    assert_eq!(status, 400, "{body}");
    let message = body[field][0]
        .as_str()
        .unwrap_or_else(|| panic!("no `{field}` in {body}"));
    assert!(message.contains(needle), "`{needle}` not in: {message}");
}

crate::entra_test!(unsafe_federation_is_refused_on_save, |_source| {}, |env| {
    let source = source_pk(&env).await;
    let providers = "/api/v3/providers/oauth2/";
    // Federation sources but nobody named.
    let body = json!({"name": "open", "jwt_federation_sources": [source]});
    let result = env.api("POST", providers, Some(body)).await;
    field_error(
        result.clone(),
        "jwt_federation_required_roles",
        "who may exchange",
    );
    field_error(result, "jwt_federation_app_ids", "who may exchange");
    let body = json!({"name": "open", "jwt_federation_sources": [source],
        "jwt_federation_app_ids": [], "jwt_federation_required_roles": []});
    field_error(
        env.api("POST", providers, Some(body)).await,
        "jwt_federation_app_ids",
        "who may exchange",
    );

    // Named by role: saved, and read back everywhere.
    let body = json!({"name": "safe", "jwt_federation_sources": [source],
        "jwt_federation_required_roles": [ROLE]});
    let (status, created) = env.api("POST", providers, Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["jwt_federation_required_roles"], json!([ROLE]));
    let path = format!("{providers}{}/", created["pk"].as_str().unwrap());
    let (_, read) = env.api("GET", &path, None).await;
    assert_eq!(read["jwt_federation_required_roles"], json!([ROLE]));
    let (_, schema) = env.api("GET", "/api/v3/schema/", None).await;
    for name in ["Provider", "ProviderWrite"] {
        assert!(
            schema["components"]["schemas"][name]["properties"]["jwt_federation_required_roles"].is_object(),
            "{name} documents jwt_federation_required_roles"
        );
    }
    // Emptying the roles of a federating provider is refused; the row keeps its role.
    field_error(
        env.api("PATCH", &path, Some(json!({"jwt_federation_required_roles": []})))
            .await,
        "jwt_federation_required_roles",
        "who may exchange",
    );
    assert_eq!(
        env.api("GET", &path, None).await.1["jwt_federation_required_roles"],
        json!([ROLE])
    );

    // A federated source may not become open to every tenant.
    let source_path = "/api/v3/sources/oauth/entra-id/";
    field_error(
        env.api(
            "PATCH",
            source_path,
            Some(json!({"settings": {"tenant": "common"}})),
        )
        .await,
        "settings.allowed_tenants",
        "provider(s) `safe`",
    );
    let restricted = json!({"settings": {"tenant": "common", "allowed_tenants": [f::CONTOSO]}});
    let (status, body) = env.api("PATCH", source_path, Some(restricted)).await;
    assert_eq!(status, 200, "{body}");

    // A multi-tenant source without allowed_tenants cannot be federated.
    let mut open_source = gatehouse_testkit::entra::source_json(&env.sim, "common");
    open_source["slug"] = json!("entra-common");
    open_source["name"] = json!("Entra ID (any tenant)");
    let (status, open_source) = env.api("POST", "/api/v3/sources/oauth/", Some(open_source)).await;
    assert_eq!(status, 201, "{open_source}");
    let body = json!({"name": "worldwide", "jwt_federation_sources": [open_source["pk"]],
        "jwt_federation_app_ids": [f::DAEMON]});
    field_error(
        env.api("POST", providers, Some(body)).await,
        "jwt_federation_sources",
        "`entra-common` accepts every tenant",
    );
});

crate::entra_test!(migrated_unsafe_provider_refuses_exchanges, |_source| {}, |env| {
    let source = source_pk(&env).await;
    let rp = create_rp(
        &env,
        "legacy-api",
        json!({"jwt_federation_sources": [source], "jwt_federation_app_ids": [f::DAEMON]}),
    )
    .await;
    let token = daemon_token(&env).await;
    assert_eq!(exchange(&env, &rp.client_id, &token).await.0, 200);

    // What the migration leaves of a provider saved before the rule: sources, nobody named.
    let pk = rp.pk.clone();
    env.server
        .state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::providers::dsl as p;
            diesel::update(p::providers.filter(p::uuid.eq(pk)))
                .set((
                    p::federation_app_ids.eq("[]"),
                    p::federation_required_roles.eq("[]"),
                ))
                .execute(conn)
                .map_err(StoreError::from)
        })
        .await
        .unwrap();
    refused(
        exchange(&env, &rp.client_id, &token).await,
        "set jwt_federation_app_ids (the calling applications' client ids) and/or jwt_federation_required_roles",
    );
    // What the start-up warning says (logged by `warn_unsafe_federation` at every start).
    let warnings = env
        .server
        .state
        .db
        .run(|conn| {
            gatehouse::provider::trust::unsafe_federation(&gatehouse_plugins::Registry::builtin(), conn)
        })
        .await
        .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("the provider `legacy-api provider`"),
        "{warnings:?}"
    );

    // Defence in depth: a federated source made open to every tenant behind the API's back.
    let pk = rp.pk.clone();
    env.server
        .state
        .db
        .run(move |conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::providers::dsl as p;
            use gatehouse::db::schema::sources::dsl as s;
            diesel::update(p::providers.filter(p::uuid.eq(pk)))
                .set(p::federation_app_ids.eq(format!("[\"{}\"]", f::DAEMON)))
                .execute(conn)?;
            diesel::update(s::sources.filter(s::slug.eq("entra-id")))
                .set(s::settings.eq(r#"{"tenant": "organizations"}"#))
                .execute(conn)
                .map_err(StoreError::from)
        })
        .await
        .unwrap();
    refused(
        exchange(&env, &rp.client_id, &token).await,
        "set its settings.allowed_tenants",
    );
    let warnings = env
        .server
        .state
        .db
        .run(|conn| {
            gatehouse::provider::trust::unsafe_federation(&gatehouse_plugins::Registry::builtin(), conn)
        })
        .await
        .unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("multi-tenant source `entra-id`"),
        "{warnings:?}"
    );
});
