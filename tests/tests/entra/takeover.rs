//! Account and group takeover through matching (issue 11, items 2, 3 and 11): linking by email or
//! username never reaches a superuser, uses only verified addresses and keeps the linked
//! account's username; group name-linking never adopts a superuser group or another source's
//! group; a callback from another browser does not burn the victim's login. All through real
//! Entra logins against the simulator.

use gatehouse_testkit::entra::{EntraEnv, SLUG};
use gatehouse_testkit::entra_sim::fixtures::{ADELE, ALEX, APP, CONTOSO};
use reqwest::header::LOCATION;
use serde_json::{Value, json};

const ADMIN_MAIL: &str = "it-admin@contoso.com";

async fn patch_source(env: &EntraEnv, body: Value) -> (u16, Value) {
    env.api("PATCH", &format!("/api/v3/sources/oauth/{SLUG}/"), Some(body))
        .await
}

/// Makes the source multi-tenant (`common`) with both simulator tenants allowed.
async fn allow_contoso_and_fabrikam(env: &EntraEnv, extra: Value) {
    use gatehouse_testkit::entra_sim::fixtures::{CONTOSO, FABRIKAM, MULTI_APP, MULTI_SECRET};
    let mut body = json!({
        "consumer_key": MULTI_APP, "consumer_secret": MULTI_SECRET,
        "authorization_url": env.sim.authorize_url("common"),
        "access_token_url": env.sim.token_url("common"),
        "oidc_jwks_url": env.sim.jwks_url("common"),
        "settings": {"tenant": "common", "allowed_tenants": [CONTOSO, FABRIKAM]},
    });
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let (status, answer) = patch_source(env, body).await;
    assert_eq!(status, 200, "{answer}");
}

async fn admin(env: &EntraEnv) -> Value {
    let (status, me) = env.api("GET", "/api/v3/core/users/me/", None).await;
    assert_eq!(status, 200, "{me}");
    me["user"].clone()
}

async fn user(env: &EntraEnv, pk: i64) -> Value {
    let (status, body) = env.api("GET", &format!("/api/v3/core/users/{pk}/"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn create(env: &EntraEnv, path: &str, body: Value) -> Value {
    let (status, answer) = env.api("POST", path, Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    answer
}

async fn connections_of(env: &EntraEnv, pk: i64) -> Vec<Value> {
    let (_, body) = env
        .api(
            "GET",
            &format!("/api/v3/sources/user_connections/oauth/?user={pk}"),
            None,
        )
        .await;
    body["results"].as_array().cloned().unwrap_or_default()
}

/// The reasons of the `login_failed` events, newest first.
async fn failure_reasons(env: &EntraEnv) -> Vec<String> {
    env.events("login_failed")
        .await
        .iter()
        .map(|e| e["context"]["reason"].as_str().unwrap_or_default().to_owned())
        .collect()
}

crate::entra_test!(
    other_tenant_mail_cannot_take_over_the_admin,
    |_source| {},
    |env| {
        // The audit's reproduction: Bob of Fabrikam sets his `mail` to the admin's address and signs
        // in through a multi-tenant email_link source.
        let admin_before = admin(&env).await;
        let pk = admin_before["pk"].as_i64().unwrap();
        let (status, body) = env
            .api(
                "PATCH",
                &format!("/api/v3/core/users/{pk}/"),
                Some(json!({"email": ADMIN_MAIL})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        allow_contoso_and_fabrikam(&env, json!({"user_matching_mode": "email_link"})).await;
        env.sim.with_directory(|d| {
            let bob = d.tenant_mut(FABRIKAM).unwrap().user_mut(BOB).unwrap();
            bob.mail = Some(ADMIN_MAIL.to_uppercase());
        });
        let login = env.login(Some(BOB_UPN)).await;
        assert_eq!(login.status, 403, "{}\n{:?}", login.body, login.trail);
        assert!(login.body.contains("administrator"), "{}", login.body);
        let after = user(&env, pk).await;
        assert_eq!(after["username"], "admin");
        assert_eq!(after["email"], ADMIN_MAIL);
        assert!(connections_of(&env, pk).await.is_empty(), "no link to the admin");
        assert_eq!(failure_reasons(&env).await[0], "link_refused_superuser");
    }
);

crate::entra_test!(unverified_addresses_never_link, |_source| {}, |env| {
    // A guest's addresses and `otherMails` are not verified by the home tenant: they never link.
    let (_, patched) = patch_source(&env, json!({"user_matching_mode": "email_link"})).await;
    assert_eq!(patched["user_matching_mode"], "email_link", "{patched}");
    let victim = create(
        &env,
        "/api/v3/core/users/",
        json!({"username": "carol", "email": GUEST_HOME_EMAIL}),
    )
    .await;
    let login = env.login(Some(GUEST_HOME_EMAIL)).await;
    assert_eq!(login.status, 403, "{}\n{:?}", login.body, login.trail);
    assert!(
        login.body.contains("did not provide an email address"),
        "{}",
        login.body
    );
    // A member without `mail` whose `otherMails` names someone else's address: no link either.
    let pk = victim["pk"].as_i64().unwrap();
    env.api(
        "PATCH",
        &format!("/api/v3/core/users/{pk}/"),
        Some(json!({"email": "alex.wilber@example.org"})),
    )
    .await;
    let login = env.login(Some(ALEX_UPN)).await;
    assert_eq!(login.status, 403, "{}", login.body);
    assert!(
        connections_of(&env, pk).await.is_empty(),
        "carol was never linked"
    );
    assert_eq!(user(&env, pk).await["username"], "carol");
});

crate::entra_test!(username_link_never_reaches_a_superuser, |_source| {}, |env| {
    let (_, patched) = patch_source(&env, json!({"user_matching_mode": "username_link"})).await;
    assert_eq!(patched["user_matching_mode"], "username_link", "{patched}");
    // Directly a superuser.
    let boss = create(
        &env,
        "/api/v3/core/users/",
        json!({"username": ADELE_UPN, "email": "boss@example.com", "is_superuser": true}),
    )
    .await;
    let login = env.login(None).await;
    assert_eq!(login.status, 403, "{}", login.body);
    assert!(login.body.contains("administrator"), "{}", login.body);
    let pk = boss["pk"].as_i64().unwrap();
    assert!(connections_of(&env, pk).await.is_empty());
    assert_eq!(failure_reasons(&env).await[0], "link_refused_superuser");
    // A superuser through a group.
    let alex = create(
        &env,
        "/api/v3/core/users/",
        json!({"username": ALEX_UPN, "email": "alex@example.com"}),
    )
    .await;
    let alex_pk = alex["pk"].as_i64().unwrap();
    create(
        &env,
        "/api/v3/core/groups/",
        json!({"name": "Operators", "is_superuser": true, "users": [alex_pk]}),
    )
    .await;
    let login = env.login(Some(ALEX_UPN)).await;
    assert_eq!(login.status, 403, "{}", login.body);
    assert!(connections_of(&env, alex_pk).await.is_empty());
});

crate::entra_test!(linked_account_keeps_its_username, |_source| {}, |env| {
    let (_, patched) = patch_source(&env, json!({"user_matching_mode": "email_link"})).await;
    assert_eq!(
        patched["sync_username_on_link"], false,
        "off by default: {patched}"
    );
    let local = create(
        &env,
        "/api/v3/core/users/",
        json!({"username": "adele.local", "email": "AdeleV@CONTOSO.onmicrosoft.com"}),
    )
    .await;
    let pk = local["pk"].as_i64().unwrap();
    for _ in 0..2 {
        // The first login links, the second finds the connection: neither renames.
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut browser = login.browser;
        let me = browser.me().await;
        assert_eq!(me["user"]["pk"], pk);
        assert_eq!(me["user"]["username"], "adele.local");
        assert_eq!(me["user"]["email"], "AdeleV@CONTOSO.onmicrosoft.com");
        assert_eq!(
            me["user"]["name"], "Adele Vance",
            "other fields still follow Entra"
        );
    }
    let connections = connections_of(&env, pk).await;
    assert_eq!(connections[0]["origin"], "linked", "{connections:?}");
    // The operator opts in: the username follows Entra from now on.
    let (status, body) = patch_source(&env, json!({"sync_username_on_link": true})).await;
    assert_eq!(status, 200, "{body}");
    env.login(None).await.assert_logged_in();
    assert_eq!(user(&env, pk).await["username"], ADELE_UPN);
    // An enrolled account is recorded as such.
    let (status, body) = patch_source(&env, json!({"user_matching_mode": "identifier"})).await;
    assert_eq!(status, 200, "{body}");
    let login = env.login(Some(MANY_UPN)).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let many = browser.me().await["user"]["pk"].as_i64().unwrap();
    assert_eq!(connections_of(&env, many).await[0]["origin"], "enrolled");
});

crate::entra_test!(link_modes_need_a_tenant_restriction, |_source| {}, |env| {
    use gatehouse_testkit::entra_sim::fixtures::{MULTI_APP, MULTI_SECRET};
    let open = |mode: Value| {
        let mut body = json!({
            "consumer_key": MULTI_APP, "consumer_secret": MULTI_SECRET,
            "settings": {"tenant": "common"},
        });
        if let (Some(body), Some(mode)) = (body.as_object_mut(), mode.as_object()) {
            body.extend(mode.clone());
        }
        body
    };
    for mode in ["email_link", "username_link"] {
        let (status, body) = patch_source(&env, open(json!({"user_matching_mode": mode}))).await;
        assert_eq!(status, 400, "{mode}: {body}");
        assert!(
            body["user_matching_mode"][0]
                .as_str()
                .unwrap()
                .contains("allowed_tenants"),
            "{body}"
        );
    }
    let (status, body) = patch_source(&env, open(json!({"group_matching_mode": "name_link"}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["group_matching_mode"].is_array(), "{body}");
    // The same combination reached by changing the tenant of a linking source.
    let (status, body) = patch_source(&env, json!({"user_matching_mode": "email_link"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = patch_source(&env, open(json!({}))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["user_matching_mode"].is_array(), "{body}");
    let (status, body) = patch_source(&env, open(json!({"settings": {"tenant": "organizations"}}))).await;
    assert_eq!(status, 400, "{body}");
    // Deny modes and identifier stay possible; a tenant restriction makes linking possible.
    let (status, body) = patch_source(&env, open(json!({"user_matching_mode": "email_deny"}))).await;
    assert_eq!(status, 200, "{body}");
    allow_contoso_and_fabrikam(
        &env,
        json!({"user_matching_mode": "username_link", "group_matching_mode": "name_link"}),
    )
    .await;
    // The new setting is validated.
    let (status, body) = patch_source(&env, json!({"sync_username_on_link": "yes"})).await;
    assert_eq!(status, 400, "{body}");
});

/// The Contoso group "Domain Admins" with Adele in it.
fn upstream_group(env: &EntraEnv, id: &str, name: &str, member: &str) {
    env.sim.with_directory(|d| {
        let t = d.tenant_mut(CONTOSO).unwrap();
        t.add_group(gatehouse_testkit::entra_sim::Group::security(id, name));
        t.add_member(member, id);
    });
}

async fn group_names(browser: &mut gatehouse_testkit::entra::Browserless) -> Vec<(String, String)> {
    browser.me().await["user"]["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["pk"].as_str().unwrap().to_owned(),
                g["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

crate::entra_test!(name_link_never_adopts_a_superuser_group, |_source| {}, |env| {
    let (status, body) = patch_source(&env, json!({"group_matching_mode": "name_link"})).await;
    assert_eq!(status, 200, "{body}");
    let admins = create(
        &env,
        "/api/v3/core/groups/",
        json!({"name": "Domain Admins", "is_superuser": true}),
    )
    .await;
    let id = "d0d0d0d0-0000-4000-8000-000000000001";
    upstream_group(&env, id, "Domain Admins", ADELE);
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    assert_eq!(me["user"]["is_superuser"], false, "{me}");
    let groups = group_names(&mut browser).await;
    assert!(!groups.iter().any(|(pk, _)| *pk == admins["pk"]), "{groups:?}");
    let (pk, name) = groups
        .iter()
        .find(|(_, name)| name.starts_with("Domain Admins ("))
        .cloned()
        .unwrap_or_else(|| panic!("a separate group: {groups:?}"));
    assert_eq!(name, "Domain Admins (d0d0d0d0)");
    let (_, links) = env
        .api(
            "GET",
            &format!("/api/v3/sources/group_connections/oauth/?group={pk}"),
            None,
        )
        .await;
    assert_eq!(links["results"][0]["identifier"], id, "{links}");
    let (status, group) = env
        .api(
            "GET",
            &format!("/api/v3/core/groups/{}/", admins["pk"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert!(group["users"].as_array().unwrap().is_empty(), "{group}");
    let refused = env.events("source_group_link_refused").await;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0]["context"]["groups"][0]["name"], "Domain Admins",
        "{refused:?}"
    );
    assert_eq!(refused[0]["context"]["groups"][0]["reason"], "superuser");
});

crate::entra_test!(
    name_link_never_adopts_another_sources_group,
    |_source| {},
    |env| {
        // A second Entra source ("other") creates and links "Ops" for Alex.
        let other_slug = "other";
        let redirect = env.server.url(&format!("/source/oauth/callback/{other_slug}/"));
        env.sim.with_directory(|d| {
            d.app_mut(APP).unwrap().redirect_uris.push(redirect.clone());
        });
        let mut other = gatehouse_testkit::entra::source_json(&env.sim, CONTOSO);
        other["slug"] = json!(other_slug);
        other["name"] = json!("Other Entra");
        create(&env, "/api/v3/sources/oauth/", other).await;
        upstream_group(&env, "0b0b0b0b-0000-4000-8000-000000000001", "Ops", ALEX);
        let mut browser = env.browser();
        browser
            .login(other_slug, Some(ALEX_UPN), None)
            .await
            .assert_logged_in();
        let theirs = group_names(&mut browser).await;
        let (ops_pk, _) = theirs.iter().find(|(_, n)| n == "Ops").cloned().expect("Ops");

        // At this source, with name_link, Adele's own upstream "Ops" must not join that group.
        let (status, body) = patch_source(&env, json!({"group_matching_mode": "name_link"})).await;
        assert_eq!(status, 200, "{body}");
        upstream_group(&env, "0c0c0c0c-0000-4000-8000-000000000001", "Ops", ADELE);
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut browser = login.browser;
        let mine = group_names(&mut browser).await;
        assert!(!mine.iter().any(|(pk, _)| *pk == ops_pk), "{mine:?}");
        assert!(mine.iter().any(|(_, n)| n == "Ops (0c0c0c0c)"), "{mine:?}");
        let refused = env.events("source_group_link_refused").await;
        assert_eq!(
            refused[0]["context"]["groups"][0]["reason"], "linked_elsewhere",
            "{refused:?}"
        );
    }
);

/// Follows the login of `browser` up to the callback URL the simulator sends it back to.
async fn callback_url(env: &EntraEnv, browser: &mut gatehouse_testkit::entra::Browserless) -> String {
    let mut url = env.server.url(&gatehouse_testkit::entra::Browserless::login_path(
        SLUG, None, None,
    ));
    for _ in 0..5 {
        let res = browser.get(&url).await;
        let location = res
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(!location.is_empty(), "a redirect from {url}");
        if location.contains("/source/oauth/callback/") {
            return location;
        }
        url = location;
    }
    panic!("no callback reached")
}

crate::entra_test!(
    callback_from_another_browser_keeps_the_state,
    |_source| {},
    |env| {
        let mut victim = env.browser();
        let callback = callback_url(&env, &mut victim).await;
        // Someone who learnt the URL, without the victim's browser cookie, then with their own.
        let mut stranger = env.browser();
        let res = stranger.visit(&callback).await;
        assert_eq!(res.status, 400, "{}", res.body);
        let mut other = env.browser();
        let _ = callback_url(&env, &mut other).await;
        let res = other.visit(&callback).await;
        assert_eq!(res.status, 400, "{}", res.body);
        // The victim's own browser still completes its login, once.
        let done = victim.visit(&callback).await;
        done.assert_logged_in();
        let replay = victim.visit(&callback).await;
        assert_eq!(replay.status, 400, "single use: {}", replay.body);
    }
);
