//! The OpenAPI document describes every endpoint and schema, and every documented operation is
//! really routed.

use actix_web::http::Method;
use gatehouse_testkit::{Backend, TestApp};
use serde_json::Value;

#[actix_web::test]
async fn schema_describes_every_endpoint() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let res = app.req(Method::GET, "/api/v3/schema/").anonymous().send().await;
    res.assert_status(200);
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/api/v3/core/users/", "get"),
        ("/api/v3/core/users/", "post"),
        ("/api/v3/core/users/me/", "get"),
        ("/api/v3/core/users/{pk}/", "get"),
        ("/api/v3/core/users/{pk}/", "put"),
        ("/api/v3/core/users/{pk}/", "patch"),
        ("/api/v3/core/users/{pk}/", "delete"),
        ("/api/v3/core/users/{pk}/set_password/", "post"),
        ("/api/v3/core/groups/", "get"),
        ("/api/v3/core/groups/", "post"),
        ("/api/v3/core/groups/{pk}/", "get"),
        ("/api/v3/core/groups/{pk}/", "put"),
        ("/api/v3/core/groups/{pk}/", "patch"),
        ("/api/v3/core/groups/{pk}/", "delete"),
        ("/api/v3/core/groups/{pk}/add_user/", "post"),
        ("/api/v3/core/groups/{pk}/remove_user/", "post"),
        ("/api/v3/core/tokens/", "get"),
        ("/api/v3/core/tokens/", "post"),
        ("/api/v3/core/tokens/{identifier}/", "get"),
        ("/api/v3/core/tokens/{identifier}/", "patch"),
        ("/api/v3/core/tokens/{identifier}/", "delete"),
        ("/api/v3/core/tokens/{identifier}/rotate_key/", "post"),
        ("/api/v3/events/events/", "get"),
        ("/api/v3/events/events/", "post"),
        ("/api/v3/events/events/{pk}/", "get"),
        ("/api/v3/events/events/{pk}/", "delete"),
        ("/api/v3/flows/instances/", "get"),
        ("/api/v3/flows/instances/{slug}/", "patch"),
        ("/api/v3/flows/bindings/", "post"),
        ("/api/v3/flows/executor/{slug}/", "get"),
        ("/api/v3/flows/executor/{slug}/", "post"),
        ("/api/v3/stages/all/", "get"),
        ("/api/v3/stages/identification/", "post"),
        ("/api/v3/stages/source/{pk}/", "patch"),
        ("/api/v3/propertymappings/source/oauth/", "post"),
        ("/api/v3/propertymappings/all/{pk}/test/", "post"),
        ("/api/v3/sources/oauth/", "post"),
        ("/api/v3/sources/oauth/source_types/", "get"),
        ("/api/v3/sources/oauth/{slug}/", "patch"),
        ("/api/v3/sources/user_connections/oauth/", "get"),
        ("/api/v3/sources/group_connections/oauth/{pk}/", "delete"),
        ("/-/health/live/", "get"),
        ("/-/health/ready/", "get"),
        ("/metrics", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is not documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "User",
        "UserWrite",
        "Group",
        "GroupWrite",
        "Token",
        "TokenWrite",
        "Event",
        "EventCreate",
        "Pagination",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(schemas["User"]["properties"]["type"]["type"], "string");
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // List endpoints document their query parameters.
    let params: Vec<&str> = paths["/api/v3/core/users/"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for name in ["page", "page_size", "search", "ordering", "username", "is_active"] {
        assert!(params.contains(&name), "{name} missing from {params:?}");
    }

    // Every documented operation is routed: calling it never hits the catch-all 404.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path.replace("{pk}", "1").replace("{identifier}", "x");
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let res = app
                .req(method.clone(), &concrete)
                .raw("application/json", "{}")
                .send()
                .await;
            if res.status.as_u16() == 404 {
                let body: Value = res.json();
                let detail = body["detail"].as_str().unwrap_or_default();
                assert!(
                    !detail.starts_with("No API endpoint"),
                    "{method} {concrete} is documented but not routed"
                );
            }
        }
    }
}
