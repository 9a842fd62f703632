//! A source embedded in another flow: the flow waits while the user signs in at Entra ID, then
//! resumes where it left off.

use serde_json::json;

crate::entra_test!(a_flow_resumes_after_the_source, |_source| {}, |env| {
    let (_, source) = env.api("GET", "/api/v3/sources/oauth/entra-id/", None).await;
    let (status, stage) = env
        .api(
            "POST",
            "/api/v3/stages/source/",
            Some(json!({"name": "entra-stage", "source": source["pk"], "resume_timeout": 300})),
        )
        .await;
    assert_eq!(status, 201, "{stage}");
    let (_, after) = env
        .api(
            "POST",
            "/api/v3/stages/deny/",
            Some(json!({"name": "after-entra", "deny_message": "Back from Entra ID, flow resumed."})),
        )
        .await;
    let (_, flow) = env
        .api(
            "POST",
            "/api/v3/flows/instances/",
            Some(json!({"slug": "embedded", "name": "Embedded", "designation": "authorization"})),
        )
        .await;
    for (stage, order) in [(&stage, 10), (&after, 20)] {
        let (status, body) = env
            .api(
                "POST",
                "/api/v3/flows/bindings/",
                Some(json!({"target": flow["pk"], "stage": stage["pk"], "order": order})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let mut browser = env.browser();
    let end = browser.visit("/if/flow/embedded/").await;
    // The trail: the source's login, Entra, the callback, back to the embedding flow.
    assert!(
        end.trail
            .iter()
            .any(|u| u.contains("/source/oauth/login/entra-id/")),
        "{:?}",
        end.trail
    );
    assert!(
        end.trail
            .iter()
            .any(|u| u.contains("/source/oauth/callback/entra-id/"))
    );
    assert!(
        end.trail.last().unwrap().ends_with("/if/flow/embedded/"),
        "{:?}",
        end.trail
    );
    assert_eq!(end.status, 403);
    assert!(
        end.body.contains("Back from Entra ID, flow resumed."),
        "{}",
        end.body
    );
    // The source's own flow logged the user in on the way.
    assert_eq!(browser.me().await["user"]["username"], ADELE_UPN);
});
