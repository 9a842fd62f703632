//! Property mappings on real logins: managed and custom user mappings, group mappings (rename,
//! skip), denial, failures and `log()`.

use gatehouse_testkit::entra::EntraEnv;
use serde_json::json;

async fn mapping(env: &EntraEnv, name: &str, expression: &str) -> String {
    let (status, body) = env
        .api(
            "POST",
            "/api/v3/propertymappings/source/oauth/",
            Some(json!({"name": name, "expression": expression})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body["pk"].as_str().unwrap().to_owned()
}

async fn managed(env: &EntraEnv, name: &str) -> String {
    let (_, body) = env
        .api(
            "GET",
            "/api/v3/propertymappings/all/?managed=true&page_size=100",
            None,
        )
        .await;
    body["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap()["pk"]
        .as_str()
        .unwrap()
        .to_owned()
}

crate::entra_test!(user_and_group_mappings_shape_the_account, |_source| {}, |env| {
    let username = managed(&env, "Entra ID: username from UPN local part").await;
    let department = managed(&env, "Entra ID: department attribute from jobTitle/department").await;
    let custom = mapping(
        &env,
        "tag and log",
        r#"log("mapping " + info.displayName); #{ attributes: #{ source: source.slug } }"#,
    )
    .await;
    let rename = mapping(
        &env,
        "entra- prefix, skip All Staff",
        r#"if group.displayName == "All Staff" { () } else { #{ name: "entra-" + group.displayName } }"#,
    )
    .await;
    let (status, body) = env
        .api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"user_property_mappings": [username, department, custom], "group_property_mappings": [rename]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["user_property_mappings"].as_array().unwrap().len(),
        3,
        "order kept"
    );
    let login = env.login(None).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    let user = &me["user"];
    assert_eq!(user["username"], "adelev");
    assert_eq!(user["attributes"]["department"], "Retail", "{user}");
    assert_eq!(user["attributes"]["source"], "entra-id");
    let groups: Vec<&str> = user["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert!(
        groups.contains(&"entra-Platform Team") && groups.contains(&"entra-Engineering"),
        "{groups:?}"
    );
    assert!(
        !groups.iter().any(|g| g.contains("All Staff")),
        "skipped by the group mapping"
    );
    let logs = env.events("property_mapping_log").await;
    assert!(
        logs[0]["context"]["entries"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Adele Vance")
    );
});

crate::entra_test!(
    a_mapping_can_deny_and_a_failing_mapping_fails_readably,
    |_source| {},
    |env| {
        let gate = mapping(
        &env,
        "only engineering",
        r#"if groups.filter(|g| g.displayName == "Engineering").len() == 0 { deny("Only engineers may sign in here.") } else { () }"#,
    )
    .await;
        env.api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"user_property_mappings": [gate]})),
        )
        .await;
        env.login(None).await.assert_logged_in();
        let before = crate::entra::negative::snapshot(&env).await;
        let login = env.login(Some(ALEX_UPN)).await;
        assert_eq!(login.status, 403);
        assert!(login.body.contains("Only engineers may sign in here."));
        assert_eq!(crate::entra::negative::snapshot(&env).await, before);

        let broken = mapping(&env, "broken", "let x = info.displayName / 3; #{}").await;
        env.api(
            "PATCH",
            "/api/v3/sources/oauth/entra-id/",
            Some(json!({"user_property_mappings": [broken]})),
        )
        .await;
        let login = env.login(None).await;
        assert_eq!(
            login.status, 500,
            "a broken mapping is the administrator's problem: {}",
            login.body
        );
        assert!(login.body.contains("A property mapping failed"));
        let failures = env.events("login_failed").await;
        let detail = &failures[0]["context"]["detail"]["detail"];
        assert_eq!(detail["mapping"], "broken");
        assert_eq!(detail["line"], 1);
    }
);
