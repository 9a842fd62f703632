//! The JSON flow executor (`/api/v3/flows/executor/<slug>/`) for API clients.

use gatehouse_testkit::both_backends;
use gatehouse_testkit::web::WebClient;
use serde_json::json;

use super::user_with_password;

const EXECUTOR: &str = "/api/v3/flows/executor/default-authentication-flow/";

both_backends! {
    async fn json_login(app) {
        user_with_password(&app, "kim", "correct horse battery").await;
        let mut client = WebClient::new(&app);
        let challenge = client.get(EXECUTOR).await;
        challenge.assert_status(200);
        let body = challenge.json();
        assert_eq!(body["component"], "identification");
        assert_eq!(body["password_fields"], true);
        assert_eq!(body["step"], 0);
        assert_eq!(body["flow_info"]["slug"], "default-authentication-flow");

        let res = client.post_json(EXECUTOR, &json!({"uid_field": "kim", "password": "wrong password", "step": 0})).await;
        res.assert_status(200);
        assert_eq!(res.json()["response_errors"]["password"][0], "Invalid username or password.");

        let res = client.post_json(EXECUTOR, &json!({"component": "identification", "uid_field": "kim", "password": "correct horse battery", "step": 0})).await;
        res.assert_status(200);
        assert_eq!(res.json(), json!({"component": "redirect", "to": "/"}));
        assert!(client.cookies.contains_key("gatehouse_session"));
        let me = client.get("/api/v3/core/users/me/").await;
        assert_eq!(me.json()["user"]["username"], "kim");

        // Bad input is a 4xx JSON answer.
        let res = client.post_json(EXECUTOR, &json!({"uid_field": "kim", "step": "zero"})).await;
        res.assert_status(400);
        assert!(res.json()["step"].is_array());
        let res = client.post_json("/api/v3/flows/executor/missing/", &json!({})).await;
        res.assert_status(404);
    }
}
