//! Group sync: nested groups across pages, roles and administrative units skipped, leaving
//! groups in Entra removes them locally, manual memberships stay, no writes when unchanged.

use serde_json::json;

crate::entra_test!(groups_sync_authoritatively, |_source| {}, |env| {
    env.sim.with_faults(|f| f.graph_page_size = 40);
    let login = env.login(Some(MANY_UPN)).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    let pk = me["user"]["pk"].as_i64().unwrap();
    let names: Vec<String> = me["user"]["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    // 250 direct + 20 through nesting; no directory role.
    assert_eq!(names.len(), 270, "{}", names.len());
    assert!(!names.iter().any(|n| n.contains("Global Administrator")));
    assert!(
        env.sim.counters().graph_group_pages >= 7,
        "several pages were followed"
    );

    // A group added by hand stays whatever Entra says.
    let (status, manual) = env
        .api(
            "POST",
            "/api/v3/core/groups/",
            Some(json!({"name": "Manual", "users": [pk]})),
        )
        .await;
    assert_eq!(status, 201);
    // Leave one group in Entra.
    env.sim.with_directory(|d| {
        d.tenant_mut(CONTOSO)
            .unwrap()
            .remove_member(MANY, "9a9a9a9a-0000-4000-8000-000000000007");
    });
    let login = env.login(Some(MANY_UPN)).await;
    login.assert_logged_in();
    let mut browser = login.browser;
    let me = browser.me().await;
    let names: Vec<String> = me["user"]["groups_obj"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 270, "269 from Entra + the manual one");
    assert!(names.contains(&"Manual".to_owned()));
    assert!(!names.contains(&"Bulk Group 007".to_owned()));
    let syncs = env.events("source_group_sync").await;
    assert_eq!(syncs[0]["context"]["report"]["removed"], 1);
    // Unchanged: nothing written to group tables (no sync event).
    let before = env.events("source_group_sync").await.len();
    env.login(Some(MANY_UPN)).await.assert_logged_in();
    assert_eq!(
        env.events("source_group_sync").await.len(),
        before,
        "an unchanged login writes no group change"
    );
    let _ = manual;
});
