//! First login enrolls, repeat login authenticates the same user, profile changes propagate,
//! guests and users without mail log in.

use serde_json::json;

crate::entra_test!(
    first_login_enrolls_and_repeat_login_authenticates,
    |_source| {},
    |env| {
        let first = env.login(None).await;
        first.assert_logged_in();
        assert!(
            first.trail[0].starts_with(&env.sim.base_url().to_string()),
            "{:?}",
            first.trail
        );
        let mut browser = first.browser;
        let me = browser.me().await;
        let user = &me["user"];
        assert_eq!(user["username"], ADELE_UPN);
        assert_eq!(user["email"], ADELE_UPN);
        assert_eq!(user["name"], "Adele Vance");
        assert_eq!(user["path"], "sources/entra-id");
        let pk = user["pk"].as_i64().unwrap();

        // The connection records the Graph object id and the token's real expiry.
        let (_, connections) = env
            .api(
                "GET",
                &format!("/api/v3/sources/user_connections/oauth/?user={pk}"),
                None,
            )
            .await;
        let connection = &connections["results"][0];
        assert_eq!(connection["identifier"], ADELE);
        assert_eq!(connection["source_slug"], SLUG);
        let expires = chrono::DateTime::parse_from_rfc3339(connection["expires"].as_str().unwrap()).unwrap();
        assert!(
            expires > chrono::Utc::now() + chrono::Duration::minutes(30),
            "real expiry, not now(): {expires}"
        );

        // A second login is the same user, not a new one.
        let again = env.login(None).await;
        again.assert_logged_in();
        let mut browser = again.browser;
        assert_eq!(browser.me().await["user"]["pk"], pk);
        let (_, users) = env.api("GET", "/api/v3/core/users/?search=adele", None).await;
        assert_eq!(users["pagination"]["count"], 1);
        let logins = env.events("login").await;
        assert_eq!(logins.len(), 2);
        assert_eq!(logins[0]["context"]["auth_method"], "source");
        assert_eq!(env.events("source_linked").await.len(), 1);
    }
);

crate::entra_test!(profile_changes_propagate_on_every_login, |_source| {}, |env| {
    env.login(None).await.assert_logged_in();
    env.sim.with_directory(|d| {
        let user = d.tenant_mut(CONTOSO).unwrap().user_mut(ADELE).unwrap();
        user.display_name = "Adele Vance-Smith".into();
        user.mail = Some("adele.smith@contoso.com".into());
    });
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    assert_eq!(me["user"]["name"], "Adele Vance-Smith");
    assert_eq!(me["user"]["email"], "adele.smith@contoso.com");
    let writes = env.events("user_write").await;
    assert!(
        writes
            .iter()
            .any(|e| e["context"]["changed_fields"] == json!(["name", "email"])),
        "{writes:?}"
    );
});

crate::entra_test!(guests_and_users_without_mail_log_in, |_source| {}, |env| {
    let guest = env.login(Some(GUEST_HOME_EMAIL)).await;
    guest.assert_logged_in();
    let mut browser = guest.browser;
    let me = browser.me().await;
    assert!(me["user"]["username"].as_str().unwrap().contains("#EXT#"), "{me}");
    assert_eq!(
        me["user"]["email"], GUEST_HOME_EMAIL,
        "a guest without mail: otherMails[0]"
    );

    let alex = env.login(Some(ALEX_UPN)).await;
    alex.assert_logged_in();
    let mut browser = alex.browser;
    assert_eq!(
        browser.me().await["user"]["email"],
        "alex.wilber@example.org",
        "otherMails[0] when mail is null"
    );
});

crate::entra_test!(the_login_page_button_keeps_next, |_source| {}, |env| {
    let mut browser = env.browser();
    let page = browser
        .visit("/if/flow/default-authentication-flow/?next=%2Fapi%2Fv3%2Fcore%2Fusers%2Fme%2F")
        .await;
    assert!(
        page.body.contains(
            "&#x2F;source&#x2F;oauth&#x2F;login&#x2F;entra-id&#x2F;?next=%2Fapi%2Fv3%2Fcore%2Fusers%2Fme%2F"
        ),
        "{}",
        page.body
    );
    let end = browser.login(SLUG, None, Some("/api/v3/core/users/me/")).await;
    assert_eq!(end.status, 200);
    assert!(
        end.trail.last().unwrap().ends_with("/api/v3/core/users/me/"),
        "{:?}",
        end.trail
    );
    assert!(end.body.contains(ADELE_UPN));
});
