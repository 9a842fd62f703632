//! User matching modes (identifier, email_link, email_deny, username_link, username_deny) and
//! group matching modes (identifier, name_link, name_deny); simultaneous first logins.

use gatehouse_testkit::entra::EntraEnv;
use serde_json::json;

/// Creates a local user with `username` and `email` (as if made by hand or by SCIM).
async fn local_user(env: &EntraEnv, username: &str, email: &str) -> i64 {
    let (status, body) = env
        .api(
            "POST",
            "/api/v3/core/users/",
            Some(json!({"username": username, "email": email})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["pk"].as_i64().unwrap()
}

async fn set_mode(env: &EntraEnv, field: &str, mode: &str) {
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({field: mode})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

async fn user_count(env: &EntraEnv) -> i64 {
    env.api("GET", "/api/v3/core/users/?page_size=1", None).await.1["pagination"]["count"]
        .as_i64()
        .unwrap()
}

crate::entra_test!(identifier_mode_never_links_by_name_or_mail, |_source| {}, |env| {
    // A local account with Adele's UPN as username: identifier mode does not adopt it, so the
    // enrollment's username collides and the login is refused readably (no 500, no new user).
    local_user(&env, ADELE_UPN, "someone@else.example").await;
    let before = user_count(&env).await;
    let login = env.login(None).await;
    assert_eq!(login.status, 400, "{}", login.body);
    assert!(login.body.contains("is already taken"), "{}", login.body);
    assert_eq!(user_count(&env).await, before);
});

crate::entra_test!(email_link_matches_case_insensitively, |_source| {}, |env| {
    set_mode(&env, "user_matching_mode", "email_link").await;
    // A linked account keeps its username unless the source says otherwise (issue 11); this
    // test is about the profile following Entra, so it says so.
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"sync_username_on_link": true})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let pk = local_user(&env, "adele.local", "adelev@CONTOSO.onmicrosoft.com").await;
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    assert_eq!(me["user"]["pk"], pk, "linked to the existing account");
    assert_eq!(me["user"]["username"], ADELE_UPN, "and its profile follows Entra");
    // No verified email at Entra (Alex has no mail; otherMails are never verified): refused.
    env.sim.with_directory(|d| {
        let alex = d.tenant_mut(CONTOSO).unwrap().user_mut(ALEX).unwrap();
        alex.other_mails.clear();
    });
    let login = env.login(Some(ALEX_UPN)).await;
    assert_eq!(login.status, 403, "{}", login.body);
    assert!(login.body.contains("did not provide an email address"));
});

crate::entra_test!(email_deny_refuses_existing_addresses, |_source| {}, |env| {
    set_mode(&env, "user_matching_mode", "email_deny").await;
    local_user(&env, "adele.local", ADELE_UPN).await;
    let before = user_count(&env).await;
    let login = env.login(None).await;
    assert_eq!(login.status, 403);
    assert!(login.body.contains("has been denied"), "{}", login.body);
    assert_eq!(user_count(&env).await, before);
    // Someone without a local twin enrolls normally.
    env.login(Some(GUEST_HOME_EMAIL)).await.assert_logged_in();
});

crate::entra_test!(username_link_and_deny, |_source| {}, |env| {
    set_mode(&env, "user_matching_mode", "username_link").await;
    let pk = local_user(&env, &ADELE_UPN.to_uppercase(), "x@example.com").await;
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    assert_eq!(browser.me().await["user"]["pk"], pk);

    set_mode(&env, "user_matching_mode", "username_deny").await;
    local_user(&env, ALEX_UPN, "alex@example.com").await;
    let login = env.login(Some(ALEX_UPN)).await;
    assert_eq!(login.status, 403);
    // An existing connection always wins, whatever the mode.
    env.login(None).await.assert_logged_in();
});

crate::entra_test!(group_matching_modes, |_source| {}, |env| {
    // A local group named like an Entra group.
    let (_, local) = env
        .api(
            "POST",
            "/api/v3/core/groups/",
            Some(json!({"name": "Engineering"})),
        )
        .await;
    // identifier (default): a new group is created beside it, with a distinguishing name.
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let names: Vec<String> = browser.me().await["user"]["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.iter().any(|n| n.starts_with("Engineering (")), "{names:?}");
    assert!(!names.contains(&"Engineering".to_owned()));
    let local_pk = local["pk"].as_str().expect("local group created").to_owned();
    assert!(
        !browser.me().await["user"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!(local_pk)),
        "the local Engineering group is not adopted"
    );

    // name_link: Alex (member of no groups yet) — link a fresh local group by name.
    env.sim.with_directory(|d| {
        d.tenant_mut(CONTOSO).unwrap().add_member(ALEX, ALL_STAFF);
    });
    // Adele's sync already created "All Staff", linked by id: a local group cannot take the name.
    let (status, staff) = env
        .api("POST", "/api/v3/core/groups/", Some(json!({"name": "All Staff"})))
        .await;
    assert_eq!((status, staff["code"].as_str()), (409, Some("unique")), "{staff}");
    set_mode(&env, "group_matching_mode", "name_link").await;
    let (_, contractors) = env
        .api(
            "POST",
            "/api/v3/core/groups/",
            Some(json!({"name": "Contractors"})),
        )
        .await;
    env.sim.with_directory(|d| {
        let t = d.tenant_mut(CONTOSO).unwrap();
        t.add_group(gatehouse_testkit::entra_sim::Group::security(
            "c0c0c0c0-0000-4000-8000-000000000001",
            "Contractors",
        ));
        t.add_member(ALEX, "c0c0c0c0-0000-4000-8000-000000000001");
    });
    let login = env.login(Some(ALEX_UPN)).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let groups: Vec<String> = browser.me().await["user"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect();
    assert!(
        groups.contains(&contractors["pk"].as_str().unwrap().to_owned()),
        "linked to the existing Contractors group"
    );
    // And Alex joined the synced "All Staff" (linked by id), no second one: two groups in all.
    let mut names: Vec<String> = browser.me().await["user"]["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["All Staff", "Contractors"]);

    // name_deny: a new upstream group whose name exists locally refuses the login, writing nothing.
    set_mode(&env, "group_matching_mode", "name_deny").await;
    env.api("POST", "/api/v3/core/groups/", Some(json!({"name": "Auditors"})))
        .await;
    env.sim.with_directory(|d| {
        let t = d.tenant_mut(CONTOSO).unwrap();
        t.add_group(gatehouse_testkit::entra_sim::Group::security(
            "a0d1a0d1-0000-4000-8000-000000000001",
            "Auditors",
        ));
        t.add_member(ALEX, "a0d1a0d1-0000-4000-8000-000000000001");
    });
    let before = crate::entra::negative::snapshot(&env).await;
    let login = env.login(Some(ALEX_UPN)).await;
    assert_eq!(login.status, 400, "{}", login.body);
    assert!(login.body.contains("Auditors"), "{}", login.body);
    assert_eq!(crate::entra::negative::snapshot(&env).await, before);
});

crate::entra_test!(simultaneous_first_logins_create_one_user, |_source| {}, |env| {
    let logins = (0..6).map(|_| env.login(None));
    let results = futures_util::future::join_all(logins).await;
    let ok = results.iter().filter(|l| l.logged_in()).count();
    assert_eq!(
        ok,
        6,
        "every attempt ends logged in: {:?}",
        results
            .iter()
            .map(|l| (l.status, l.body.chars().take(300).collect::<String>()))
            .collect::<Vec<_>>()
    );
    let (_, users) = env.api("GET", "/api/v3/core/users/?search=adele", None).await;
    assert_eq!(users["pagination"]["count"], 1, "exactly one user");
    let (_, connections) = env
        .api("GET", "/api/v3/sources/user_connections/oauth/", None)
        .await;
    assert_eq!(connections["pagination"]["count"], 1);
});
