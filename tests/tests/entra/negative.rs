//! Every failure is a readable page or a 4xx, with an event, and leaves nothing behind.

use gatehouse_testkit::entra::EntraEnv;
use gatehouse_testkit::entra_sim::{GraphFault, GraphTarget, Tamper, TokenErrorSpec};
use serde_json::json;

/// Users (besides admin), groups, connections and sessions: what a failed login must not add.
pub async fn snapshot(env: &EntraEnv) -> Vec<i64> {
    let mut counts = Vec::new();
    for path in [
        "/api/v3/core/users/?page_size=1",
        "/api/v3/core/groups/?page_size=1",
        "/api/v3/sources/user_connections/oauth/?page_size=1",
        "/api/v3/sources/group_connections/oauth/?page_size=1",
    ] {
        counts.push(
            env.api("GET", path, None).await.1["pagination"]["count"]
                .as_i64()
                .unwrap(),
        );
    }
    let sessions = env
        .server
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            Ok::<_, gatehouse::db::StoreError>(
                gatehouse::db::schema::sessions::table
                    .count()
                    .get_result::<i64>(conn)?,
            )
        })
        .await
        .unwrap();
    counts.push(sessions);
    counts
}

/// A login that must fail with a page saying so, an event, and no trace.
async fn fails(env: &EntraEnv, login_hint: Option<&str>, expect: &str, status: u16) {
    let before = snapshot(env).await;
    let events_before = env.events("login_failed").await.len();
    let login = env.login(login_hint).await;
    assert_eq!(login.status, status, "{}\n{:?}", login.body, login.trail);
    assert!(
        login.body.contains("Sign-in with Entra ID failed"),
        "{}",
        login.body
    );
    assert!(
        login.body.contains(expect),
        "expected “{expect}” in:\n{}",
        login.body
    );
    assert!(
        login
            .body
            .contains("flows&#x2F;-&#x2F;default&#x2F;authentication"),
        "a way back to the login page"
    );
    assert!(!login.body.contains("panicked") && login.status != 500);
    assert_eq!(
        snapshot(env).await,
        before,
        "a failed login left something behind"
    );
    assert_eq!(
        env.events("login_failed").await.len(),
        events_before + 1,
        "the failure is in the event log"
    );
}

crate::entra_test!(id_token_problems_are_refused, |_source| {}, |env| {
    for (tamper, expect) in [
        (Tamper::BadSignature, "identity token was rejected"),
        (Tamper::WrongAudience, "identity token was rejected"),
        (Tamper::WrongIssuer, "identity token was rejected"),
        (Tamper::OtherTenant, "identity token was rejected"),
        (Tamper::Expired, "identity token was rejected"),
        (Tamper::AlgNone, "identity token was rejected"),
        (Tamper::Hs256WithPublicKey, "identity token was rejected"),
        (Tamper::WrongNonce, "identity token was rejected"),
    ] {
        env.sim.with_faults(|f| f.id_token_tamper = Some(tamper));
        fails(&env, None, expect, 400).await;
    }
    // And the next clean login works.
    env.login(None).await.assert_logged_in();
});

crate::entra_test!(token_endpoint_errors_are_shown, |_source| {}, |env| {
    env.sim.with_faults(|f| {
        f.next_token_error = Some(TokenErrorSpec {
            error: "invalid_client".into(),
            code: 7_000_215,
            message: "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.".into(),
            status: 401,
        })
    });
    fails(&env, None, "AADSTS7000215", 400).await;
    env.sim.with_faults(|f| f.expire_codes = true);
    fails(&env, None, "AADSTS70008", 400).await;
    env.sim.with_faults(|f| f.expire_codes = false);
    // A wrong secret configured on the source: the simulator answers AADSTS7000215 itself.
    let (status, _) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"consumer_secret": "not-the-secret"})),
        )
        .await;
    assert_eq!(status, 200);
    fails(&env, None, "AADSTS7000215", 400).await;
});

crate::entra_test!(idp_errors_are_readable, |_source| {}, |env| {
    env.sim.with_faults(|f| {
        f.next_authorize_error = Some(gatehouse_testkit::entra_sim::AuthorizeErrorSpec {
            error: "access_denied".into(),
            code: Some(65004),
            message: Some("User declined to consent to access the app.".into()),
        })
    });
    fails(&env, None, "AADSTS65004", 400).await;
});

crate::entra_test!(graph_failures, |_source| {}, |env| {
    // /me failing fails the login.
    for status in [401u16, 403, 500] {
        env.sim.with_faults(|f| {
            f.graph = vec![GraphFault {
                target: GraphTarget::Me,
                status,
                retry_after_secs: None,
                times: 1,
            }]
        });
        fails(&env, None, "profile could not be fetched", 400).await;
    }
    // A group fetch failure keeps memberships (default `on_group_error: keep`) and is recorded.
    env.sim.with_faults(|f| f.graph = Vec::new());
    let first = env.login(None).await;
    first.assert_logged_in();
    let mut browser = first.browser;
    let groups_before = browser.me().await["user"]["groups"].as_array().unwrap().len();
    assert!(groups_before > 0);
    for status in [401u16, 403, 500] {
        env.sim.with_faults(|f| {
            f.graph = vec![GraphFault {
                target: GraphTarget::Groups,
                status,
                retry_after_secs: None,
                times: 1,
            }]
        });
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut browser = login.browser;
        assert_eq!(
            browser.me().await["user"]["groups"].as_array().unwrap().len(),
            groups_before,
            "memberships kept"
        );
    }
    assert_eq!(env.events("source_group_sync_failed").await.len(), 3);
    // 429 then success, within the budget: `Retry-After: 0`, so the retry costs no waiting.
    env.sim.with_faults(|f| {
        f.graph = vec![GraphFault {
            target: GraphTarget::Groups,
            status: 429,
            retry_after_secs: Some(0),
            times: 1,
        }]
    });
    let throttled = env.sim.counters().graph_throttled;
    let pages = env.sim.counters().graph_group_pages;
    let login = env.login(None).await;
    login.assert_logged_in();
    assert_eq!(
        env.sim.counters().graph_throttled,
        throttled + 1,
        "Graph throttled once"
    );
    assert_eq!(
        env.sim.counters().graph_group_pages,
        pages + 2,
        "one throttled try and its retry"
    );
    assert_eq!(
        env.events("source_group_sync_failed").await.len(),
        3,
        "the retry succeeded"
    );
    // With `on_group_error: deny`, a failed group fetch refuses the login.
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"settings": {"tenant": CONTOSO, "on_group_error": "deny"}})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    env.sim.with_faults(|f| {
        f.graph = vec![GraphFault {
            target: GraphTarget::Groups,
            status: 500,
            retry_after_secs: None,
            times: 1,
        }]
    });
    fails(&env, None, "group memberships could not be read", 502).await;
});

crate::entra_test!(state_must_be_genuine_fresh_and_single_use, |_source| {}, |env| {
    // Start a login and catch the callback URL instead of following it.
    let mut browser = env.browser();
    let to_sim = browser
        .get(&env.server.url("/source/oauth/login/entra-id/"))
        .await;
    assert_eq!(to_sim.status(), 302);
    let authorize = to_sim.headers()["location"].to_str().unwrap().to_owned();
    let back = browser.get(&authorize).await;
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("state="));

    // Tampered state.
    let tampered = callback.replace("state=", "state=x");
    let before = snapshot(&env).await;
    let res = browser.visit(&tampered).await;
    assert_eq!(res.status, 400);
    assert!(res.body.contains("invalid, expired or was already used"));
    // Another browser with the genuine state (a stolen callback URL).
    let mut other = env.browser();
    let res = other.visit(&callback).await;
    assert_eq!(res.status, 400);
    assert_eq!(snapshot(&env).await, before);
    // The attempt above did not use the state up (issue 11, item 11): the genuine browser
    // still completes its login.
    browser.visit(&callback).await.assert_logged_in();

    // Replay after success.
    let mut browser = env.browser();
    let to_sim = browser
        .get(&env.server.url("/source/oauth/login/entra-id/"))
        .await;
    let back = browser.get(to_sim.headers()["location"].to_str().unwrap()).await;
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    browser.visit(&callback).await.assert_logged_in();
    let res = browser.visit(&callback).await;
    assert_eq!(res.status, 400, "a replayed callback is refused");

    // Expired state.
    let mut browser = env.browser();
    let to_sim = browser
        .get(&env.server.url("/source/oauth/login/entra-id/"))
        .await;
    let back = browser.get(to_sim.headers()["location"].to_str().unwrap()).await;
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    env.server
        .state
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use gatehouse::db::schema::oauth_states;
            diesel::update(oauth_states::table)
                .set(oauth_states::expires.eq(gatehouse::db::time::now() - chrono::Duration::seconds(1)))
                .execute(conn)?;
            Ok::<_, gatehouse::db::StoreError>(())
        })
        .await
        .unwrap();
    let res = browser.visit(&callback).await;
    assert_eq!(res.status, 400);
    // Tampered, stolen, replayed, expired: four refusals, each recorded (the stolen attempt
    // no longer uses the state up, so the genuine browser's login is not a refusal).
    let failed = env.events("login_failed").await;
    assert_eq!(failed.len(), 4, "{failed:?}");
    assert!(
        failed.iter().all(|e| e["context"]["reason"] == "state"),
        "{failed:?}"
    );
});

crate::entra_test!(disabled_and_unknown_sources_are_404, |_source| {}, |env| {
    let mut browser = env.browser();
    let res = browser.visit("/source/oauth/login/nope/").await;
    assert_eq!(res.status, 404);
    let res = browser.visit("/source/oauth/callback/nope/?code=x&state=y").await;
    assert_eq!(res.status, 404);
    let (status, _) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(status, 200);
    let res = browser.visit("/source/oauth/login/entra-id/").await;
    assert_eq!(res.status, 404);
    let res = browser
        .visit("/source/oauth/callback/entra-id/?code=x&state=y")
        .await;
    assert_eq!(res.status, 404);
    // The login page no longer offers it.
    let page = browser.visit("/if/flow/default-authentication-flow/").await;
    assert!(!page.body.contains("Sign in with Entra ID"));
});

crate::entra_test!(single_tenant_and_allowed_tenants, |_source| {}, |env| {
    // A Fabrikam user at Contoso's single-tenant endpoint: the simulator refuses (AADSTS50020-like),
    // and a token from the other tenant is refused by Gatehouse (OtherTenant tamper above).
    // Multi-tenant with allowed_tenants: only Contoso.
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({
                "consumer_key": MULTI_APP, "consumer_secret": MULTI_SECRET,
                "authorization_url": env.sim.authorize_url("common"), "access_token_url": env.sim.token_url("common"),
                "oidc_jwks_url": env.sim.jwks_url("common"),
                "settings": {"tenant": "common", "allowed_tenants": [CONTOSO]},
            })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    env.login(Some(ADELE_UPN)).await.assert_logged_in();
    fails(&env, Some(BOB_UPN), "identity token was rejected", 400).await;
});
