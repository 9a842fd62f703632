//! Proves `gatehouse_testkit::browser` against two tiny actix-web servers on loopback: a site with
//! a login form, and an "identity provider" on another port (addressed as `localhost`, so it is
//! another site to the browser) that redirects back, as the Entra simulator will.

use std::net::TcpListener;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use futures_util::FutureExt;
use gatehouse_testkit::browser::{self, Browser};

const SESSION_COOKIE: &str = "harness_session";

struct Sites {
    /// The site with the login form, as `http://127.0.0.1:PORT`.
    app: String,
    /// `Cookie` headers the provider (`http://localhost:PORT`) received on `/authorize`.
    idp_saw_cookies: Arc<Mutex<Vec<String>>>,
}

#[derive(serde::Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(serde::Deserialize)]
struct Callback {
    code: String,
    state: String,
}

#[derive(serde::Deserialize)]
struct Authorize {
    state: String,
    redirect_uri: String,
}

fn html(body: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Harness</title></head>\
         <body>{body}</body></html>"
        ))
}

const LOGIN_FORM: &str = "<h1>Sign in</h1><form method=\"post\" action=\"/login\">\
    <label for=\"username\">Username</label> <input id=\"username\" name=\"username\" required>\
    <label>Password <input type=\"password\" name=\"password\" required></label>\
    <button type=\"submit\">Sign in</button></form>";

async fn login_page() -> HttpResponse {
    html(LOGIN_FORM)
}

async fn login(form: web::Form<Login>, idp: web::Data<(String, String)>) -> HttpResponse {
    let (app, idp) = idp.get_ref();
    if form.password != "correct horse" {
        return html(&format!(
            "<p id=\"error\">Wrong username or password</p>{LOGIN_FORM}"
        ));
    }
    let callback = format!("{app}/callback");
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!("{idp}/authorize?state=s123&redirect_uri={callback}"),
        ))
        .insert_header((
            "Set-Cookie",
            format!(
                "{SESSION_COOKIE}={}; HttpOnly; SameSite=Lax; Path=/",
                form.username
            ),
        ))
        .finish()
}

async fn callback(req: HttpRequest, query: web::Query<Callback>) -> HttpResponse {
    let session = req.cookie(SESSION_COOKIE);
    if session.is_none() || query.code != "code-42" || query.state != "s123" {
        return HttpResponse::BadRequest().body("callback without session cookie, or bad code/state");
    }
    HttpResponse::Found().insert_header(("Location", "/")).finish()
}

async fn home(req: HttpRequest) -> HttpResponse {
    match req.cookie(SESSION_COOKIE) {
        Some(c) => html(&format!("<h1 id=\"welcome\">Welcome, {}</h1>", c.value())),
        None => html("<p id=\"anonymous\">Not signed in</p>"),
    }
}

/// Content that only appears 300 ms after load, from a script.
async fn late() -> HttpResponse {
    html(
        "<p id=\"early\">Loading</p><script>setTimeout(() => { const p = document.createElement('p'); \
          p.id = 'late'; p.textContent = 'Arrived late'; document.body.appendChild(p); }, 300);</script>",
    )
}

async fn unlabelled() -> HttpResponse {
    html(
        "<form><label for=\"a\">Email</label><input id=\"a\" name=\"email\">\
          <input name=\"nickname\" type=\"text\"><input type=\"hidden\" name=\"csrf\" value=\"x\"></form>",
    )
}

async fn authorize(
    req: HttpRequest,
    query: web::Query<Authorize>,
    seen: web::Data<Arc<Mutex<Vec<String>>>>,
) -> HttpResponse {
    let cookies = req
        .headers()
        .get("Cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.lock().unwrap().push(cookies);
    HttpResponse::Found()
        .insert_header((
            "Location",
            format!("{}?code=code-42&state={}", query.redirect_uri, query.state),
        ))
        .insert_header(("Set-Cookie", "idp_seen=1; Path=/"))
        .finish()
}

fn start_sites() -> Sites {
    let app_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let idp_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = format!("http://127.0.0.1:{}", app_listener.local_addr().unwrap().port());
    let idp = format!("http://localhost:{}", idp_listener.local_addr().unwrap().port());
    let urls = web::Data::new((app.clone(), idp));
    let app_server = HttpServer::new(move || {
        App::new()
            .app_data(urls.clone())
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login_page))
            .route("/login", web::post().to(login))
            .route("/callback", web::get().to(callback))
            .route("/late", web::get().to(late))
            .route("/unlabelled", web::get().to(unlabelled))
    })
    .workers(1)
    .disable_signals()
    .listen(app_listener)
    .unwrap()
    .run();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen_data = web::Data::new(seen.clone());
    let idp_server = HttpServer::new(move || {
        App::new()
            .app_data(seen_data.clone())
            .route("/authorize", web::get().to(authorize))
    })
    .workers(1)
    .disable_signals()
    .listen(idp_listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(app_server);
    actix_web::rt::spawn(idp_server);
    Sites {
        app,
        idp_saw_cookies: seen,
    }
}

/// Runs `fut`, which must panic; returns the panic message.
async fn panic_message(fut: impl std::future::Future<Output = ()>) -> String {
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(()) => panic!("expected the helper to fail"),
        Err(payload) => payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    }
}

/// After the browser is gone, nothing may still run from its temp dir and the dir is deleted.
fn assert_cleaned_up(temp_dir: &std::path::Path) {
    let left = browser::processes_mentioning(&temp_dir.to_string_lossy());
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(!temp_dir.exists(), "temp dir left behind: {}", temp_dir.display());
}

#[actix_web::test]
async fn login_flow_across_two_loopback_sites() {
    let started = Instant::now();
    let Some(b) = Browser::launch().await else {
        return browser::skipped("login_flow_across_two_loopback_sites");
    };
    eprintln!("browser launch: {:?}", b.launch_time());
    let sites = start_sites();

    b.goto(&format!("{}/login", sites.app)).await;
    assert_eq!(b.title().await, "Harness");
    let labels = b.assert_fields_labelled().await;
    let names: Vec<&str> = labels.iter().map(|f| f.label.as_str()).collect();
    assert_eq!(names, ["Username", "Password"]);
    assert_eq!(b.accessible_name("input[name=password]").await, "Password");

    b.fill("#username", "alice").await;
    b.fill("input[name=password]", "correct horse").await;
    b.submit_form("form").await;
    let landed = b
        .wait_for_url(|u| u.path() == "/" && u.host_str() == Some("127.0.0.1"))
        .await;
    assert_eq!(landed.as_str(), format!("{}/", sites.app));
    assert_eq!(b.wait_for_text("#welcome", "Welcome").await, "Welcome, alice");

    // The provider was really visited, as another site: the app's cookie was not sent there.
    let seen = sites.idp_saw_cookies.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the provider was not visited once: {seen:?}");
    assert!(
        !seen[0].contains(SESSION_COOKIE),
        "app cookie leaked to the provider: {seen:?}"
    );

    let session = b.cookie(SESSION_COOKIE).await.expect("session cookie set");
    assert_eq!(session.value, "alice");
    assert!(session.http_only && !session.secure);
    assert_eq!(session.same_site.as_deref(), Some("Lax"));
    assert!(
        b.cookie("idp_seen").await.is_none(),
        "the provider's cookie is not the app's"
    );
    assert!(
        b.execute("return document.cookie", vec![]).await == "",
        "HttpOnly hides it from JS"
    );

    let shot = b
        .screenshot(browser::screenshot_path("browser_harness_login"))
        .await;
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "not a PNG: {}",
        shot.display()
    );
    let size = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!(size, browser::VIEWPORT, "screenshot size (PNG header)");
    assert!(
        png.len() > 1000,
        "suspiciously small screenshot: {} bytes",
        png.len()
    );
    eprintln!("screenshot: {} ({} bytes)", shot.display(), png.len());

    let temp_dir = b.temp_dir().to_owned();
    let closing = Instant::now();
    b.close().await;
    eprintln!("browser close: {:?}", closing.elapsed());
    assert_cleaned_up(&temp_dir);
    eprintln!("login flow test total: {:?}", started.elapsed());
}

#[actix_web::test]
async fn wrong_password_and_failure_messages() {
    let Some(mut b) = Browser::launch().await else {
        return browser::skipped("wrong_password_and_failure_messages");
    };
    let sites = start_sites();
    b.goto(&format!("{}/login", sites.app)).await;
    b.fill("#username", "alice").await;
    b.fill("input[name=password]", "wrong").await;
    b.submit_form("button[type=submit]").await;
    assert_eq!(b.text_of("#error").await, "Wrong username or password");
    assert!(b.cookie(SESSION_COOKIE).await.is_none());
    assert!(sites.idp_saw_cookies.lock().unwrap().is_empty());

    // A failing wait names the selector, the URL and what the page showed.
    b.set_timeout(Duration::from_millis(300));
    let message = panic_message(b.wait_for("#never")).await;
    assert!(message.contains("no element matches `#never`"), "{message}");
    assert!(
        message.contains(&format!("current URL: {}/login", sites.app)),
        "{message}"
    );
    assert!(message.contains("Wrong username or password"), "{message}");

    let message = panic_message(async {
        b.wait_for_url(|u| u.path() == "/elsewhere").await;
    })
    .await;
    assert!(message.contains("URLs seen: [\"http://127.0.0.1:"), "{message}");

    // Required fields left empty stop the submission, and the failure says so.
    b.goto(&format!("{}/login", sites.app)).await;
    let message = panic_message(b.submit_form("form")).await;
    assert!(message.contains("did not lead to a new page"), "{message}");
    assert!(
        message.contains("[\"username: "),
        "names the empty required field: {message}"
    );

    // A server that is not there: the error says which URL and why.
    let closed_port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let nowhere = format!("http://127.0.0.1:{closed_port}/");
    let message = panic_message(b.goto(&nowhere)).await;
    assert!(
        message.contains(&format!("could not open {nowhere}")),
        "{message}"
    );
    assert!(message.contains("ERR_CONNECTION_REFUSED"), "{message}");
    assert!(
        !message.contains("--google-blue"),
        "style bodies are left out: {message}"
    );

    // Dropped without close(), as when a test panics: Drop cleans up all the same.
    let temp_dir = b.temp_dir().to_owned();
    drop(b);
    assert_cleaned_up(&temp_dir);
}

#[actix_web::test]
async fn waits_for_late_content_and_finds_unlabelled_fields() {
    let Some(b) = Browser::launch().await else {
        return browser::skipped("waits_for_late_content_and_finds_unlabelled_fields");
    };
    let sites = start_sites();
    b.goto(&format!("{}/late", sites.app)).await;
    b.wait_for("#late").await;
    assert_eq!(b.text_of("#late").await, "Arrived late");
    let count = b.execute(
        "return document.querySelectorAll('p').length + arguments[0]",
        vec![10.into()],
    );
    assert_eq!(count.await, 12);

    b.goto(&format!("{}/unlabelled", sites.app)).await;
    let labels = b.field_labels().await;
    let described: Vec<(String, &str)> = labels.iter().map(|f| (f.describe(), f.label.as_str())).collect();
    assert_eq!(
        described,
        [("#a".to_owned(), "Email"), ("[name=nickname]".to_owned(), "")]
    );
    let message = panic_message(async {
        b.assert_fields_labelled().await;
    })
    .await;
    assert!(
        message.contains("form fields without a label: [\"[name=nickname]\"]"),
        "{message}"
    );
    assert!(b.page_source().await.contains("csrf"));
    b.close().await;
}

/// Re-runs one test of this binary with the given environment; returns (success, output).
fn rerun_with(test: &str, env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"]);
    cmd.env_remove("GATEHOUSE_REQUIRE_BROWSER");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn missing_browser_skips_and_broken_browser_fails_loudly() {
    let test = "browser_harness::login_flow_across_two_loopback_sites";
    let (ok, out) = rerun_with(test, &[("GATEHOUSE_CHROMEDRIVER", "/nonexistent/chromedriver")]);
    assert!(ok, "{out}");
    assert!(
        out.contains("SKIPPED login_flow_across_two_loopback_sites: no chromium"),
        "{out}"
    );

    let missing = [
        ("GATEHOUSE_CHROMEDRIVER", "/nonexistent/chromedriver"),
        ("GATEHOUSE_REQUIRE_BROWSER", "1"),
    ];
    let (ok, out) = rerun_with(test, &missing);
    assert!(!ok && out.contains("GATEHOUSE_REQUIRE_BROWSER is set"), "{out}");

    if !browser::is_available() {
        return browser::skipped("missing_browser_skips_and_broken_browser_fails_loudly (broken part)");
    }
    let (ok, out) = rerun_with(test, &[("GATEHOUSE_CHROMEDRIVER", "/bin/false")]);
    assert!(
        !ok && out.contains("chromedriver is installed but did not start"),
        "{out}"
    );
    let (ok, out) = rerun_with(test, &[("GATEHOUSE_CHROMIUM", "/bin/false")]);
    assert!(!ok && out.contains("did not start a WebDriver session"), "{out}");
}
