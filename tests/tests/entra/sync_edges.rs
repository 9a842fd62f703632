//! Group sync edges: leaving every group (an empty list) is not a failed fetch, an upstream
//! rename follows unless the new name is taken, and a superuser group granted by a group mapping
//! is taken away again at the next login.

use gatehouse_testkit::entra::{Browserless, EntraEnv};
use gatehouse_testkit::entra_sim::fixtures::CONTOSO;
use gatehouse_testkit::entra_sim::{GraphFault, GraphTarget};
use serde_json::{Value, json};

/// Adele's group names, as the admin API reports them.
async fn group_names(browser: &mut Browserless) -> Vec<String> {
    let me = browser.me().await;
    let mut names: Vec<String> = me["user"]["groups_obj"]
        .as_array()
        .unwrap_or_else(|| panic!("{me}"))
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

async fn group_named(env: &EntraEnv, name: &str) -> Value {
    let (status, body) = env
        .api(
            "GET",
            &format!("/api/v3/core/groups/?name={}", name.replace(' ', "%20")),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["pagination"]["count"], 1, "{name}: {body}");
    body["results"][0].clone()
}

crate::entra_test!(leaving_every_group_is_not_a_failed_fetch, |_source| {}, |env| {
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let pk = browser.me().await["user"]["pk"].clone();
    let (status, _) = env
        .api(
            "POST",
            "/api/v3/core/groups/",
            Some(json!({"name": "Manual", "users": [pk]})),
        )
        .await;
    assert_eq!(status, 201);
    let synced = ["All Staff", "Engineering", "Manual", "Platform Team"];
    assert_eq!(group_names(&mut browser).await, synced);

    // A failed fetch says nothing about the groups: they stay.
    env.sim.with_faults(|f| {
        f.graph = vec![GraphFault {
            target: GraphTarget::Groups,
            status: 500,
            retry_after_secs: None,
            times: 1,
        }]
    });
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    assert_eq!(group_names(&mut browser).await, synced);
    assert_eq!(env.events("source_group_sync_failed").await.len(), 1);

    // An empty list is an answer: Adele left everything in Entra, so she leaves every synced group.
    env.sim.with_directory(|d| {
        let tenant = d.tenant_mut(CONTOSO).unwrap();
        for group in [PLATFORM, ALL_STAFF, GLOBAL_ADMIN_ROLE, TEST_AU] {
            tenant.remove_member(ADELE, group);
        }
    });
    let syncs = env.events("source_group_sync").await.len();
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    assert_eq!(
        group_names(&mut browser).await,
        ["Manual"],
        "only the manual group stays"
    );
    let events = env.events("source_group_sync").await;
    assert_eq!(events.len(), syncs + 1);
    assert_eq!(events[0]["context"]["report"]["removed"], 3, "{}", events[0]);
    assert_eq!(
        env.events("source_group_sync_failed").await.len(),
        1,
        "not a failure"
    );
    // The groups themselves stay (others may be in them); only the memberships went.
    assert_eq!(group_named(&env, "Platform Team").await["users"], json!([]));
});

fn rename_upstream(env: &EntraEnv, id: &str, name: &str) {
    env.sim.with_directory(|d| {
        let group = d.tenant_mut(CONTOSO).unwrap().groups.get_mut(id).unwrap();
        group.display_name = name.to_owned();
    });
}

crate::entra_test!(
    an_upstream_rename_follows_unless_the_name_is_taken,
    |_source| {},
    |env| {
        env.login(None).await.assert_logged_in();
        let staff = group_named(&env, "All Staff").await;

        rename_upstream(&env, ALL_STAFF, "Everyone");
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut browser = login.browser;
        assert_eq!(
            group_names(&mut browser).await,
            ["Engineering", "Everyone", "Platform Team"]
        );
        let renamed = group_named(&env, "Everyone").await;
        assert_eq!(renamed["pk"], staff["pk"], "the same group, renamed");

        // The next name is taken by a local group: the synced group keeps its name, the local group is
        // untouched, and the login still works.
        let (status, local) = env
            .api("POST", "/api/v3/core/groups/", Some(json!({"name": "Company"})))
            .await;
        assert_eq!(status, 201);
        rename_upstream(&env, ALL_STAFF, "Company");
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut browser = login.browser;
        assert_eq!(
            group_names(&mut browser).await,
            ["Engineering", "Everyone", "Platform Team"]
        );
        assert_eq!(group_named(&env, "Everyone").await["pk"], staff["pk"]);
        let company = group_named(&env, "Company").await;
        assert_eq!(company["pk"], local["pk"]);
        assert_eq!(company["users"], json!([]), "nobody joined the local group");
        // Nothing changes at the next login, so nothing is written (no sync event).
        let syncs = env.events("source_group_sync").await.len();
        env.login(None).await.assert_logged_in();
        assert_eq!(
            env.events("source_group_sync").await.len(),
            syncs,
            "a rename that cannot happen is no change"
        );
    }
);

/// True when `browser`'s session may list users (only superusers may).
async fn acts_as_superuser(browser: &mut Browserless) -> bool {
    let url = format!("{}/api/v3/core/users/", browser.base);
    let status = browser.get(&url).await.status().as_u16();
    assert!(status == 200 || status == 403, "{status}");
    status == 200
}

crate::entra_test!(
    a_superuser_group_from_a_mapping_is_taken_away_at_the_next_login,
    |_source| {},
    |env| {
        let (status, mapping) = env
        .api(
            "POST",
            "/api/v3/propertymappings/source/oauth/",
            Some(json!({"name": "platform admins", "expression": r#"#{ is_superuser: group.displayName == "Platform Team" }"#})),
        )
        .await;
        assert_eq!(status, 201, "{mapping}");
        let (status, body) = env
            .api(
                "PATCH",
                "/api/v3/sources/oauth/entra-id/",
                Some(json!({"group_property_mappings": [mapping["pk"]]})),
            )
            .await;
        assert_eq!(status, 200, "{body}");

        let login = env.login(None).await;
        login.assert_logged_in();
        let mut first = login.browser;
        assert_eq!(group_named(&env, "Platform Team").await["is_superuser"], true);
        assert_eq!(group_named(&env, "All Staff").await["is_superuser"], false);
        assert!(
            acts_as_superuser(&mut first).await,
            "the mapped superuser group grants superuser"
        );

        // Adele leaves the group in Entra: at her next login the membership, and with it the
        // superuser right, goes, for the new session and for the old one alike.
        env.sim.with_directory(|d| {
            d.tenant_mut(CONTOSO).unwrap().remove_member(ADELE, PLATFORM);
        });
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut second = login.browser;
        assert!(
            !acts_as_superuser(&mut second).await,
            "still a superuser after leaving the group"
        );
        assert!(
            !acts_as_superuser(&mut first).await,
            "the older session kept the right"
        );

        // Back in the group, then the mapping withdraws the grant: the group stops being a superuser
        // group at the next login.
        env.sim.with_directory(|d| {
            d.tenant_mut(CONTOSO).unwrap().add_member(ADELE, PLATFORM);
        });
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut third = login.browser;
        assert!(acts_as_superuser(&mut third).await);
        let (status, body) = env
            .api(
                "PATCH",
                &format!(
                    "/api/v3/propertymappings/source/oauth/{}/",
                    mapping["pk"].as_str().unwrap()
                ),
                Some(json!({"expression": "#{ is_superuser: false }"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        let login = env.login(None).await;
        login.assert_logged_in();
        let mut fourth = login.browser;
        assert_eq!(group_named(&env, "Platform Team").await["is_superuser"], false);
        assert!(!acts_as_superuser(&mut fourth).await);
        assert!(!acts_as_superuser(&mut third).await);
    }
);
