use gatehouse_testkit::both_backends;
use serde_json::json;

use super::{create_group, create_user};

both_backends! {
    async fn crud_membership_and_hierarchy(app) {
        let alice = create_user(&app, "alice").await;
        let bob = create_user(&app, "bob").await;
        let res = app
            .post(
                "/api/v3/core/groups/",
                json!({"name": "engineering", "attributes": {"cost_center": 42}, "users": [alice["pk"]]}),
            )
            .await;
        res.assert_status(201);
        let eng = res.json();
        let pk = eng["pk"].as_str().unwrap().to_owned();
        assert!(uuid::Uuid::parse_str(&pk).is_ok());
        assert_eq!(eng["users"], json!([alice["pk"]]));
        assert_eq!(eng["attributes"]["cost_center"], 42);
        assert!(eng["parent"].is_null());

        app.post(&format!("/api/v3/core/groups/{pk}/add_user/"), json!({"pk": bob["pk"]}))
            .await
            .assert_status(204);
        // Adding twice is harmless.
        app.post(&format!("/api/v3/core/groups/{pk}/add_user/"), json!({"pk": bob["pk"]}))
            .await
            .assert_status(204);
        let res = app.get(&format!("/api/v3/core/groups/{pk}/")).await;
        assert_eq!(res.json()["users"].as_array().unwrap().len(), 2);
        app.post(&format!("/api/v3/core/groups/{pk}/remove_user/"), json!({"pk": alice["pk"]}))
            .await
            .assert_status(204);
        let res = app.get(&format!("/api/v3/core/groups/{pk}/")).await;
        assert_eq!(res.json()["users"], json!([bob["pk"]]));
        let res = app.post(&format!("/api/v3/core/groups/{pk}/add_user/"), json!({"pk": 424242})).await;
        res.assert_status(400);
        assert!(res.json()["pk"].is_array());

        // Hierarchy: a child can point to a parent, but no cycles.
        let backend = create_group(&app, "backend").await;
        let res = app
            .patch(&format!("/api/v3/core/groups/{}/", backend["pk"].as_str().unwrap()), json!({"parent": pk}))
            .await;
        res.assert_status(200);
        assert_eq!(res.json()["parent"], json!(pk));
        let res = app.patch(&format!("/api/v3/core/groups/{pk}/"), json!({"parent": backend["pk"]})).await;
        res.assert_status(400);
        assert!(res.json()["parent"][0].as_str().unwrap().contains("ancestor"));
        let res = app.patch(&format!("/api/v3/core/groups/{pk}/"), json!({"parent": pk})).await;
        res.assert_status(400);
        let res = app
            .patch(&format!("/api/v3/core/groups/{}/", backend["pk"].as_str().unwrap()), json!({"parent": null}))
            .await;
        res.assert_status(200);
        assert!(res.json()["parent"].is_null());

        // Filters and search.
        let res = app.get("/api/v3/core/groups/?members_by_username=BOB").await;
        assert_eq!(res.json()["pagination"]["count"], 1);
        let res = app.get("/api/v3/core/groups/?search=END").await;
        assert_eq!(res.json()["results"][0]["name"], "backend");

        // Deleting a group removes memberships, not users.
        app.delete(&format!("/api/v3/core/groups/{pk}/")).await.assert_status(204);
        app.get(&format!("/api/v3/core/groups/{pk}/")).await.assert_status(404);
        let res = app.get(&format!("/api/v3/core/users/{}/", bob["pk"])).await;
        res.assert_status(200);
        assert_eq!(res.json()["groups"], json!([]));
    }
}

both_backends! {
    async fn duplicate_names_and_unknown_ids(app) {
        create_group(&app, "sales").await;
        let res = app.post("/api/v3/core/groups/", json!({"name": "sales"})).await;
        res.assert_status(409);
        assert!(res.json()["name"].is_array());
        let res = app.post("/api/v3/core/groups/", json!({"name": "sales2", "users": [999]})).await;
        res.assert_status(400);
        assert!(res.json()["users"][0].as_str().unwrap().contains("999"));
        let res = app.get("/api/v3/core/groups/?name=sales2").await;
        assert_eq!(res.json()["pagination"]["count"], 0, "nothing written");
        let res = app
            .post("/api/v3/core/groups/", json!({"name": "child", "parent": uuid::Uuid::new_v4().to_string()}))
            .await;
        res.assert_status(400);
        assert!(res.json()["parent"].is_array());
        app.get("/api/v3/core/groups/not-a-uuid/").await.assert_status(404);
        app.get(&format!("/api/v3/core/groups/{}/", uuid::Uuid::new_v4())).await.assert_status(404);
        app.delete(&format!("/api/v3/core/groups/{}/", uuid::Uuid::new_v4())).await.assert_status(404);
    }
}
