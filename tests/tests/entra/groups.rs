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
    // The landing page names the first 50 alphabetically and counts the rest.
    assert_eq!(login.body.matches("<li>Bulk Group").count(), 50, "{}", login.body);
    assert!(login.body.contains("<li>Bulk Group 000</li>"), "{}", login.body);
    assert!(login.body.contains("and 220 more"), "{}", login.body);

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
    assert!(
        me["user"]["groups"].as_array().unwrap().contains(&manual["pk"]),
        "still in the manual group: {me}"
    );
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
});

/// Row count, a per-row version sum (SQLite `rowid`: changes when a row is deleted and inserted
/// again; PostgreSQL `xmin`: changes on any insert, update or delete) and the newest time stamp.
#[derive(diesel::QueryableByName, Debug, Clone, PartialEq, Eq)]
struct TableFingerprint {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    rows: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    versions: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    stamp: String,
}

/// Fingerprints of the group tables: (groups, group_members, group_source_connections).
async fn group_tables(env: &gatehouse_testkit::entra::EntraEnv) -> Vec<TableFingerprint> {
    use diesel::RunQueryDsl;
    use gatehouse::db::DbConn;
    env.server
        .state
        .db
        .run(|conn| {
            let mut out = Vec::new();
            for (table, stamp) in [
                ("groups", Some("updated")),
                ("group_members", None),
                ("group_source_connections", Some("last_updated")),
            ] {
                let row = match conn {
                    DbConn::Sqlite(c) => {
                        let stamp = stamp.map_or("''".to_owned(), |s| format!("coalesce(CAST(max({s}) AS TEXT), '')"));
                        diesel::sql_query(format!(
                            "SELECT count(*) AS rows, coalesce(sum(rowid), 0) AS versions, {stamp} AS stamp FROM {table}"
                        ))
                        .get_result::<TableFingerprint>(c)?
                    }
                    DbConn::Postgres(c) => {
                        let stamp = stamp.map_or("''".to_owned(), |s| format!("coalesce(max({s})::text, '')"));
                        diesel::sql_query(format!(
                            "SELECT count(*)::bigint AS rows, coalesce(sum(xmin::text::bigint), 0)::bigint AS versions, {stamp} AS stamp FROM {table}"
                        ))
                        .get_result::<TableFingerprint>(c)?
                    }
                };
                out.push(row);
            }
            Ok::<_, gatehouse::db::StoreError>(out)
        })
        .await
        .unwrap()
}

// The load goal's case: a repeat login of someone in 5000 unchanged groups only reads the group
// tables (no insert, update or delete of groups, memberships or group connections).
crate::entra_test!(
    repeat_login_with_5000_unchanged_groups_writes_no_group_rows,
    |_source| {},
    |env| {
        env.sim.with_directory(|d| {
            d.tenant_mut(CONTOSO)
                .unwrap()
                .synthetic
                .as_mut()
                .unwrap()
                .group_count = 5000;
        });
        let upn = "loaduser5000@contoso.onmicrosoft.com";
        env.login(Some(upn)).await.assert_logged_in();
        let before = group_tables(&env).await;
        assert_eq!(before[0].rows, 5000, "the groups were created: {before:?}");
        assert_eq!(before[1].rows, 5000, "the memberships were created: {before:?}");
        assert_eq!(before[2].rows, 5000, "the groups were linked: {before:?}");
        let syncs = env.events("source_group_sync").await.len();

        env.login(Some(upn)).await.assert_logged_in();
        assert_eq!(
            group_tables(&env).await,
            before,
            "a repeat login wrote group rows"
        );
        assert_eq!(env.events("source_group_sync").await.len(), syncs);
    }
);

// First logins of different people who share groups nobody has brought in yet: every login
// succeeds, each group is created and linked once, and everyone ends up a member. (On PostgreSQL
// the racing transactions used to fail on `uq_groups_name` with a 500.)
crate::entra_test!(concurrent_first_logins_share_new_groups, |_source| {}, |env| {
    const PEOPLE: usize = 8;
    const SHARED: usize = 40;
    let upns: Vec<String> = (0..PEOPLE)
        .map(|i| format!("racer{i}@{CONTOSO_DOMAIN}"))
        .collect();
    env.sim.with_directory(|d| {
        let tenant = d.tenant_mut(CONTOSO).unwrap();
        for j in 0..SHARED {
            tenant.add_group(gatehouse_testkit::entra_sim::Group::security(
                &format!("5a5a5a5a-0000-4000-8000-{j:012}"),
                &format!("Race Group {j:02}"),
            ));
        }
        for (i, upn) in upns.iter().enumerate() {
            let id = format!("5b5b5b5b-0000-4000-8000-{i:012}");
            tenant.add_user(gatehouse_testkit::entra_sim::User::member(
                &id,
                upn,
                &format!("Racer {i}"),
            ));
            for j in 0..SHARED {
                tenant.add_member(&id, &format!("5a5a5a5a-0000-4000-8000-{j:012}"));
            }
        }
    });
    let results = futures_util::future::join_all(upns.iter().map(|upn| env.login(Some(upn.as_str())))).await;
    for login in &results {
        login.assert_logged_in();
    }
    let (_, groups) = env
        .api(
            "GET",
            "/api/v3/core/groups/?search=Race%20Group&page_size=100",
            None,
        )
        .await;
    assert_eq!(
        groups["pagination"]["count"], SHARED,
        "one local group per Entra group: {groups}"
    );
    for group in groups["results"].as_array().unwrap() {
        let name = group["name"].as_str().unwrap();
        assert!(!name.contains('('), "no renamed duplicate: {name}");
        assert_eq!(
            group["users"].as_array().unwrap().len(),
            PEOPLE,
            "{name}: {group}"
        );
    }
    let (_, links) = env
        .api(
            "GET",
            "/api/v3/sources/group_connections/oauth/?page_size=100",
            None,
        )
        .await;
    assert_eq!(links["pagination"]["count"], SHARED, "{links}");

    // Again, by people who have left more linked groups upstream than they join: the count of
    // known links is then not less than the count of wanted groups, yet one is new to everybody.
    const NEW: &str = "5a5a5a5a-0000-4000-8000-999999999999";
    env.sim.with_directory(|d| {
        let tenant = d.tenant_mut(CONTOSO).unwrap();
        tenant.add_group(gatehouse_testkit::entra_sim::Group::security(
            NEW,
            "Race Newcomer",
        ));
        for i in 0..PEOPLE {
            let id = format!("5b5b5b5b-0000-4000-8000-{i:012}");
            for j in 0..SHARED {
                tenant.remove_member(&id, &format!("5a5a5a5a-0000-4000-8000-{j:012}"));
            }
            tenant.add_member(&id, NEW);
        }
    });
    let results = futures_util::future::join_all(upns.iter().map(|upn| env.login(Some(upn.as_str())))).await;
    for login in &results {
        login.assert_logged_in();
    }
    // Each person's 40 memberships were removed, by logins racing each other.
    let (_, groups) = env
        .api(
            "GET",
            "/api/v3/core/groups/?search=Race%20Group&page_size=100",
            None,
        )
        .await;
    assert_eq!(groups["pagination"]["count"], SHARED, "{groups}");
    for group in groups["results"].as_array().unwrap() {
        assert_eq!(
            group["users"],
            json!([]),
            "{}: members left behind",
            group["name"]
        );
    }
    for upn in &upns {
        let (_, users) = env
            .api("GET", &format!("/api/v3/core/users/?username={upn}"), None)
            .await;
        let user = &users["results"][0];
        assert_eq!(user["groups"].as_array().map(Vec::len), Some(1), "{upn}: {user}");
    }
    let syncs = env.events("source_group_sync").await;
    let removed: i64 = syncs[..PEOPLE]
        .iter()
        .map(|e| e["context"]["report"]["removed"].as_i64().unwrap())
        .sum();
    assert_eq!(removed, (PEOPLE * SHARED) as i64, "{syncs:?}");
    let (_, groups) = env
        .api("GET", "/api/v3/core/groups/?search=Race%20Newcomer", None)
        .await;
    assert_eq!(groups["pagination"]["count"], 1, "{groups}");
    assert_eq!(
        groups["results"][0]["users"].as_array().unwrap().len(),
        PEOPLE,
        "{groups}"
    );
});
