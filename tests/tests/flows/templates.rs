//! Every template renders (with the data its page handler gives it), and the login page carries
//! what a real product needs: labels, autocomplete hints, security headers.

use gatehouse::web::Templates;
use gatehouse::web::templates::EMBEDDED;
use gatehouse_testkit::{Backend, TestApp};
use serde_json::json;

fn challenge(component: &str, fields: serde_json::Value) -> serde_json::Value {
    let mut value = json!({
        "component": component,
        "flow_info": {"title": "Welcome", "slug": "f", "cancel_url": "/flows/-/cancel/"},
        "step": 3,
        "response_errors": {"non_field_errors": ["Something to say"], "uid_field": ["Bad id"], "password": ["Bad password"]},
    });
    for (k, v) in fields.as_object().unwrap() {
        value[k] = v.clone();
    }
    value
}

#[test]
fn every_template_renders() {
    let templates = Templates::load(None).unwrap();
    let mut rendered = Vec::new();
    let base = |c: serde_json::Value| {
        let mut context = tera::Context::new();
        context.insert("challenge", &c);
        context.insert("csrf_token", "token-123");
        context.insert("action", "/if/flow/f/?next=%2F");
        context
    };
    let identification = challenge(
        "identification",
        json!({
            "user_fields": ["username", "email"], "password_fields": true, "show_source_labels": true, "uid_field": "alice",
            "sources": [{"name": "Entra ID", "slug": "entra-id", "icon_url": "/static/sources/entraid.svg", "promoted": true, "login_url": "/source/oauth/login/entra-id/"}],
            "enroll_url": "/if/flow/enroll/", "recovery_url": null,
        }),
    );
    let html = templates
        .render("stages/identification.html", &base(identification))
        .unwrap();
    assert!(
        html.contains("Sign in with Entra ID")
            && html.contains("Bad id")
            && html.contains("Something to say")
    );
    assert!(html.contains("name=\"csrf_token\" value=\"token-123\""));
    rendered.push("stages/identification.html");
    // Sources only, labels hidden: the button still has an accessible name.
    let sources_only = challenge(
        "identification",
        json!({
            "user_fields": [], "password_fields": false, "show_source_labels": false, "uid_field": "",
            "sources": [{"name": "Entra ID", "slug": "entra-id", "icon_url": "/static/sources/entraid.svg", "promoted": false, "login_url": "/source/oauth/login/entra-id/"}],
            "enroll_url": null, "recovery_url": null,
        }),
    );
    let html = templates
        .render("stages/identification.html", &base(sources_only))
        .unwrap();
    assert!(html.contains("aria-label=\"Sign in with Entra ID\"") && !html.contains("<form"));
    let html = templates
        .render(
            "stages/password.html",
            &base(challenge("password", json!({"pending_user": "alice"}))),
        )
        .unwrap();
    assert!(html.contains("Signing in as <strong>alice</strong>"));
    rendered.push("stages/password.html");
    let html = templates
        .render(
            "stages/consent.html",
            &base(challenge(
                "consent",
                json!({"application": {"slug": "wiki", "name": "Wiki"}, "permissions": ["openid", "email"]}),
            )),
        )
        .unwrap();
    assert!(
        html.contains("<strong>Wiki</strong>")
            && html.contains("<li>email</li>")
            && html.contains("value=\"deny\"")
    );
    rendered.push("stages/consent.html");
    let html = templates
        .render(
            "stages/user_logout.html",
            &base(challenge("user_logout", json!({"pending_user": "alice"}))),
        )
        .unwrap();
    assert!(
        html.contains("signed in as <strong>alice</strong>")
            && html.contains("<form method=\"post\"")
            && html.contains("name=\"csrf_token\" value=\"token-123\"")
    );
    rendered.push("stages/user_logout.html");
    let mut context = tera::Context::new();
    context.insert("title", "Access denied");
    context.insert("message", "Nope <script>");
    context.insert("restart", &Some("/if/flow/f/"));
    context.insert("kind", "error");
    let html = templates.render("pages/message.html", &context).unwrap();
    assert!(html.contains("Nope &lt;script&gt;"), "output is escaped");
    rendered.push("pages/message.html");
    let mut context = tera::Context::new();
    context.insert(
        "user",
        &json!({"username": "alice", "name": "Alice", "email": "alice@example.com"}),
    );
    context.insert("groups", &vec!["staff"]);
    context.insert("sources", &vec!["Entra ID"]);
    let html = templates.render("pages/landing.html", &context).unwrap();
    assert!(
        html.contains("Hello, Alice")
            && html.contains("<li>staff</li>")
            && html.contains("<li>Entra ID</li>")
            && !html.contains("more-groups")
    );
    context.insert("more_groups", &3);
    let html = templates.render("pages/landing.html", &context).unwrap();
    assert!(html.contains("and 3 more"), "{html}");
    rendered.push("pages/landing.html");
    rendered.extend(["base.html", "flow.html"]);
    for (name, _) in EMBEDDED {
        assert!(rendered.contains(name), "{name} is not rendered by this test");
    }
    // A missing variable is an error, not an empty string.
    assert!(
        templates
            .render("pages/landing.html", &tera::Context::new())
            .is_err()
    );
}

#[test]
fn templates_can_be_overridden_by_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("pages")).unwrap();
    std::fs::write(dir.path().join("pages/message.html"), "custom: {{ title }}").unwrap();
    let templates = Templates::load(Some(dir.path())).unwrap();
    let mut context = tera::Context::new();
    context.insert("title", "Hi");
    assert_eq!(
        templates.render("pages/message.html", &context).unwrap(),
        "custom: Hi"
    );
}

#[actix_web::test]
async fn login_page_headers_and_accessibility() {
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let mut web = gatehouse_testkit::web::WebClient::new(&app);
    let page = web.get(super::LOGIN).await;
    page.assert_status(200);
    assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    let html = page.text();
    assert!(html.contains("<html lang=\"en\">"));
    // Every visible input has a label.
    for id in ["uid_field", "password"] {
        assert!(
            html.contains(&format!("<label for=\"{id}\">")),
            "{id} has no label"
        );
        assert!(html.contains(&format!("id=\"{id}\"")));
    }
    assert!(html.contains("autocomplete=\"current-password\""));
    let css = web.get("/static/gatehouse.css").await;
    css.assert_status(200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    web.get("/static/nope.css").await.assert_status(404);
}
