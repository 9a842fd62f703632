//! An identity provider's `error_description` (attacker-controlled: anyone can craft the callback
//! URL or form) reaches the event log and the page without control characters and capped.

use reqwest::header::{COOKIE, LOCATION};

/// Every string in `value`, keys included.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out);
        }),
        _ => {}
    }
}

crate::entra_test!(upstream_error_text_is_stripped_and_capped, |_source| {}, |env| {
    // Start a login for the state and the browser cookie, then answer as a forged form_post.
    let mut browser = env.browser();
    let start = format!("{}{}", browser.base, Browserless::login_path(SLUG, None, None));
    let res = browser.get(&start).await;
    let location = res.headers()[LOCATION].to_str().unwrap().to_owned();
    let state = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let description = format!(
        "AADSTS50105:\0 forged\r\n{}\u{202e}evil\r\n2026-12-05 INFO admin logged in",
        "A".repeat(60 * 1024)
    );
    let cookies = browser
        .cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let events_before = env.events("login_failed").await.len();
    let res = env
        .http
        .post(env.server.url(&format!("/source/oauth/callback/{SLUG}/")))
        .header(COOKIE, cookies)
        .form(&[
            ("state", state.as_str()),
            ("error", "access_denied\r\n\0x"),
            ("error_description", description.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let page = res.text().await.unwrap();
    assert!(page.contains("Sign-in with Entra ID failed"), "{page}");
    // The page shows the first line of the description, cleaned.
    assert!(page.contains("AADSTS50105: forged"), "{page}");
    assert!(!page.contains('\0'));

    let events = env.events("login_failed").await;
    assert_eq!(events.len(), events_before + 1);
    let mut texts = Vec::new();
    strings(&events[0]["context"], &mut texts);
    assert!(
        texts.iter().any(|t| t.starts_with("AADSTS50105: forged")),
        "{texts:?}"
    );
    for text in &texts {
        assert!(
            text.chars().count() <= 512,
            "{} characters in an event",
            text.chars().count()
        );
        assert!(
            !text.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "control character in {text:?}"
        );
    }
    let description = &events[0]["context"]["detail"]["detail"]["error_description"];
    assert!(description.as_str().unwrap().ends_with('…'), "{description}");
    assert_eq!(
        events[0]["context"]["detail"]["detail"]["error"],
        "access_denied x"
    );
});
