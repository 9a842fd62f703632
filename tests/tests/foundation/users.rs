use gatehouse_testkit::both_backends;
use serde_json::json;

use super::{create_group, create_user, token_for};

both_backends! {
    async fn create_retrieve_update_delete(app) {
        let res = app
            .post(
                "/api/v3/core/users/",
                json!({
                    "username": "alice",
                    "name": "Alice Example",
                    "email": "Alice@Example.com",
                    "type": "external",
                    "path": "users/entra",
                    "attributes": {"department": "Sales", "nested": {"a": 1}},
                }),
            )
            .await;
        res.assert_status(201);
        let user = res.json();
        let pk = user["pk"].as_i64().unwrap();
        assert_eq!(user["username"], "alice");
        assert_eq!(user["email"], "Alice@Example.com");
        assert_eq!(user["type"], "external");
        assert_eq!(user["is_active"], true);
        assert_eq!(user["is_superuser"], false);
        assert_eq!(user["attributes"]["nested"]["a"], 1);
        assert!(uuid::Uuid::parse_str(user["uuid"].as_str().unwrap()).is_ok());
        assert!(user["last_login"].is_null());

        let res = app.get(&format!("/api/v3/core/users/{pk}/")).await;
        res.assert_status(200);
        assert_eq!(res.json(), user);

        let res = app.patch(&format!("/api/v3/core/users/{pk}/"), json!({"name": "Alice E.", "is_active": false})).await;
        res.assert_status(200);
        let patched = res.json();
        assert_eq!(patched["name"], "Alice E.");
        assert_eq!(patched["is_active"], false);
        assert_eq!(patched["email"], "Alice@Example.com", "PATCH keeps absent fields");

        // PUT requires the required fields and leaves absent optional ones unchanged.
        let res = app.put(&format!("/api/v3/core/users/{pk}/"), json!({"name": "No username"})).await;
        res.assert_status(400);
        assert_eq!(res.json()["username"][0], "This field is required.");
        let res = app.put(&format!("/api/v3/core/users/{pk}/"), json!({"username": "alice2", "email": ""})).await;
        res.assert_status(200);
        assert_eq!(res.json()["username"], "alice2");
        assert_eq!(res.json()["email"], "");

        app.delete(&format!("/api/v3/core/users/{pk}/")).await.assert_status(204);
        app.get(&format!("/api/v3/core/users/{pk}/")).await.assert_status(404);
        app.delete(&format!("/api/v3/core/users/{pk}/")).await.assert_status(404);
    }
}

both_backends! {
    async fn usernames_are_unique_regardless_of_case(app) {
        create_user(&app, "Bob").await;
        let res = app.post("/api/v3/core/users/", json!({"username": "bob"})).await;
        res.assert_status(409);
        let body = res.json();
        assert_eq!(body["code"], "unique");
        assert!(body["username"][0].as_str().unwrap().contains("username"));
        // Renaming onto an existing username is refused the same way.
        let other = create_user(&app, "carol").await;
        let res = app
            .patch(&format!("/api/v3/core/users/{}/", other["pk"]), json!({"username": "BOB"}))
            .await;
        res.assert_status(409);
        let res = app.get(&format!("/api/v3/core/users/{}/", other["pk"])).await;
        assert_eq!(res.json()["username"], "carol", "the failed rename changed nothing");
    }
}

both_backends! {
    async fn list_paginates_searches_filters_and_orders(app) {
        for name in ["dave", "erin", "frank", "grace", "heidi"] {
            let res = app
                .post(
                    "/api/v3/core/users/",
                    json!({"username": name, "email": format!("{name}@Corp.example"), "is_active": name != "frank"}),
                )
                .await;
            res.assert_status(201);
        }
        let res = app.get("/api/v3/core/users/?page_size=2&ordering=username").await;
        res.assert_status(200);
        let body = res.json();
        // admin + five users
        assert_eq!(body["pagination"]["count"], 6);
        assert_eq!(body["pagination"]["total_pages"], 3);
        assert_eq!(body["pagination"]["current"], 1);
        assert_eq!(body["pagination"]["next"], 2);
        assert_eq!(body["pagination"]["previous"], 0);
        assert_eq!(body["results"].as_array().unwrap().len(), 2);
        assert_eq!(body["results"][0]["username"], "admin");

        let res = app.get("/api/v3/core/users/?page_size=2&page=3&ordering=username").await;
        let body = res.json();
        assert_eq!(body["pagination"]["next"], 0);
        assert_eq!(body["pagination"]["previous"], 2);
        assert_eq!(body["results"][1]["username"], "heidi");
        app.get("/api/v3/core/users/?page_size=2&page=4").await.assert_status(404);

        let res = app.get("/api/v3/core/users/?ordering=-username&page_size=1").await;
        assert_eq!(res.json()["results"][0]["username"], "heidi");

        let res = app.get("/api/v3/core/users/?search=RAN").await;
        let names: Vec<String> = res.json()["results"].as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
        assert_eq!(names, vec!["frank"]);

        let res = app.get("/api/v3/core/users/?is_active=false").await;
        assert_eq!(res.json()["pagination"]["count"], 1);
        let res = app.get("/api/v3/core/users/?email=ERIN@corp.EXAMPLE").await;
        assert_eq!(res.json()["results"][0]["username"], "erin");
        let res = app.get("/api/v3/core/users/?search=100%25").await;
        assert_eq!(res.json()["pagination"]["count"], 0, "% is matched literally");

        let res = app.get("/api/v3/core/users/?ordering=password_hash").await;
        res.assert_status(400);
        assert!(res.json()["ordering"][0].as_str().unwrap().contains("Cannot order by"));
        app.get("/api/v3/core/users/?page=0").await.assert_status(400);
        let res = app.get("/api/v3/core/users/?page_size=abc").await;
        res.assert_status(400);
        assert!(res.json()["page_size"].is_array());
        let res = app.get("/api/v3/core/users/?is_active=maybe").await;
        res.assert_status(400);
        assert!(res.json()["is_active"].is_array());
    }
}

both_backends! {
    async fn memberships_through_the_user(app) {
        let staff = create_group(&app, "staff").await;
        let ops = create_group(&app, "ops").await;
        let res = app
            .post("/api/v3/core/users/", json!({"username": "ivan", "groups": [staff["pk"], ops["pk"]]}))
            .await;
        res.assert_status(201);
        let user = res.json();
        assert_eq!(user["groups_obj"].as_array().unwrap().len(), 2);
        assert_eq!(user["groups_obj"][0]["name"], "ops", "groups are sorted by name");

        let res = app
            .patch(&format!("/api/v3/core/users/{}/", user["pk"]), json!({"groups": [staff["pk"]]}))
            .await;
        res.assert_status(200);
        assert_eq!(res.json()["groups"], json!([staff["pk"]]));

        let res = app.get("/api/v3/core/users/?groups_by_name=staff").await;
        assert_eq!(res.json()["pagination"]["count"], 1);

        let unknown = uuid::Uuid::new_v4().to_string();
        let res = app
            .patch(&format!("/api/v3/core/users/{}/", user["pk"]), json!({"groups": [unknown]}))
            .await;
        res.assert_status(400);
        assert!(res.json()["groups"][0].as_str().unwrap().contains(&unknown));
        let res = app.get(&format!("/api/v3/core/users/{}/", user["pk"])).await;
        assert_eq!(res.json()["groups"], json!([staff["pk"]]), "a refused update changes nothing");
    }
}

both_backends! {
    async fn me_and_set_password(app) {
        let res = app.get("/api/v3/core/users/me/").await;
        res.assert_status(200);
        assert_eq!(res.json()["user"]["username"], "admin");
        assert_eq!(res.json()["user"]["is_superuser"], true);

        let user = create_user(&app, "judy").await;
        let pk = user["pk"].as_i64().unwrap();
        let res = app.post(&format!("/api/v3/core/users/{pk}/set_password/"), json!({"password": "short"})).await;
        res.assert_status(400);
        assert!(res.json()["password"].is_array());
        app.post(&format!("/api/v3/core/users/{pk}/set_password/"), json!({"password": "correct horse battery"}))
            .await
            .assert_status(204);
        let hash = app
            .db(move |conn| Ok(gatehouse::db::users::get(conn, gatehouse::db::UserId(pk))?.password_hash))
            .await
            .expect("hash stored");
        assert!(hash.starts_with("$argon2id$"));
        assert!(gatehouse::crypto::verify_password("correct horse battery", &hash));
        app.post("/api/v3/core/users/999999/set_password/", json!({"password": "correct horse battery"}))
            .await
            .assert_status(404);

        // A regular user sees itself through `me`, and nothing else.
        let key = token_for(&app, pk, "judy-token").await;
        let res = app.req(actix_web::http::Method::GET, "/api/v3/core/users/me/").token(&key).send().await;
        res.assert_status(200);
        assert_eq!(res.json()["user"]["username"], "judy");
        app.req(actix_web::http::Method::GET, "/api/v3/core/users/").token(&key).send().await.assert_status(403);
        app.req(actix_web::http::Method::POST, "/api/v3/core/users/")
            .token(&key)
            .json(&json!({"username": "mallory"}))
            .send()
            .await
            .assert_status(403);
    }
}

both_backends! {
    async fn superuser_through_a_group(app) {
        let user = create_user(&app, "kim").await;
        let pk = user["pk"].as_i64().unwrap();
        let key = token_for(&app, pk, "kim-token").await;
        app.req(actix_web::http::Method::GET, "/api/v3/core/users/").token(&key).send().await.assert_status(403);
        let res = app
            .post("/api/v3/core/groups/", json!({"name": "admins", "is_superuser": true, "users": [pk]}))
            .await;
        res.assert_status(201);
        app.req(actix_web::http::Method::GET, "/api/v3/core/users/").token(&key).send().await.assert_status(200);
    }
}

both_backends! {
    async fn cannot_delete_yourself(app) {
        let res = app.get("/api/v3/core/users/me/").await;
        let pk = res.json()["user"]["pk"].as_i64().unwrap();
        let res = app.delete(&format!("/api/v3/core/users/{pk}/")).await;
        res.assert_status(400);
        app.get(&format!("/api/v3/core/users/{pk}/")).await.assert_status(200);
    }
}
