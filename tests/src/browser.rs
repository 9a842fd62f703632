//! A real headless browser for end-to-end tests: Debian's Chromium driven over WebDriver
//! (`chromedriver` + the `fantoccini` client, plain HTTP on loopback, no TLS stack).
//!
//! [`Browser::launch`] starts a private `chromedriver` on a free loopback port and opens one
//! headless Chromium session with a fresh profile in a temp dir. It returns `None` when Chromium
//! or chromedriver is not installed, so the test can report itself skipped; set
//! `GATEHOUSE_REQUIRE_BROWSER=1` (CI does) to turn that into a failure instead. Installed but
//! broken binaries always fail loudly.
//!
//! Every helper panics with a message that names what was expected, the page's current URL and
//! an excerpt of its source. Element helpers ([`Browser::fill`], [`Browser::click`],
//! [`Browser::text_of`], ...) first wait for the element to appear; the `wait_for*` helpers poll
//! until their condition holds, for at most [`Browser::timeout`] (default [`DEFAULT_TIMEOUT`]).
//!
//! Dropping a `Browser` (also while a test panics) ends the session, kills chromedriver and any
//! Chromium process it left (they are found by the temp dir in their command line), and deletes
//! the temp dir. [`Browser::close`] does the same with a graceful WebDriver shutdown first.
//!
//! ```ignore
//! use gatehouse_testkit::browser::{Browser, screenshot_path, skipped};
//!
//! #[actix_web::test]
//! async fn logs_in() {
//!     let Some(browser) = Browser::launch().await else {
//!         return skipped("logs_in"); // prints "SKIPPED logs_in: no chromium/chromedriver ..."
//!     };
//!     browser.goto(&server.url("/if/flow/default-authentication-flow/")).await;
//!     browser.assert_fields_labelled().await;
//!     browser.fill("input[name=username]", "alice").await;
//!     browser.fill("input[name=password]", "secret").await;
//!     browser.submit_form("form").await; // returns once the next page has replaced this one
//!     browser.wait_for_url(|u| u.path() == "/").await;
//!     assert!(browser.text_of("body").await.contains("alice"));
//!     let session = browser.cookie("gatehouse_session").await.expect("session cookie");
//!     assert!(session.http_only);
//!     let shot = browser.screenshot(screenshot_path("logs_in")).await; // target/screenshots/
//!     println!("screenshot: {}", shot.display());
//!     browser.close().await;
//! }
//! ```
//!
//! Cookies: [`Browser::cookies`] lists the cookies the *current page* can see, HttpOnly ones
//! included. Browsers do not separate cookies by port, so two servers on `127.0.0.1` share a
//! jar; address one of them as `localhost` to give it its own.
//!
//! Packages (Debian): `apt-get install -y --no-install-recommends chromium chromium-driver`.
//! `GATEHOUSE_CHROMIUM` and `GATEHOUSE_CHROMEDRIVER` override the binaries' paths.

mod commands;
mod driver;
mod page;

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};

pub use driver::processes_mentioning;
use driver::{Binaries, Driver, http_call};

/// How long the `wait_for*` helpers and element look-ups wait by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The page's viewport in CSS pixels, and so the screenshots' size.
pub const VIEWPORT: (u32, u32) = (1280, 900);
/// The longest a page load may take; chromedriver then answers with a timeout error.
const PAGE_LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// Our own bound on any one WebDriver command, above the page-load limit so that chromedriver's
/// more telling error comes first; it catches a hung chromedriver.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Polling period of the `wait_for*` helpers.
const POLL: Duration = Duration::from_millis(25);

/// One headless Chromium session. See the module docs.
pub struct Browser {
    client: Option<Client>,
    session_id: String,
    timeout: Duration,
    launch_time: Duration,
    // Dropped after `client`: kills chromedriver and the leftovers, then deletes the temp dir.
    driver: Driver,
}

/// A cookie as the browser stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub domain: Option<String>,
    pub path: Option<String>,
    pub http_only: bool,
    pub secure: bool,
    /// `"Strict"`, `"Lax"` or `"None"` as the browser reports it.
    pub same_site: Option<String>,
}

/// The form controls a person fills in: every `input` but hidden ones and buttons, `select`,
/// `textarea`.
const FIELDS_CSS: &str = "input:not([type=hidden]):not([type=submit]):not([type=button])\
    :not([type=reset]):not([type=image]), select, textarea";

/// One form field and the name a screen reader would announce for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldLabel {
    /// `id` attribute, if any.
    pub id: Option<String>,
    /// `name` attribute, if any.
    pub name: Option<String>,
    /// The `type` property: `text`, `password`, ..., `select-one`, `textarea`.
    pub kind: String,
    /// The computed accessible name; empty when the field has no label at all.
    pub label: String,
}

impl FieldLabel {
    /// How the field is named in messages: `#id`, else `[name=..]`, else its kind.
    pub fn describe(&self) -> String {
        match (&self.id, &self.name) {
            (Some(id), _) if !id.is_empty() => format!("#{id}"),
            (_, Some(name)) if !name.is_empty() => format!("[name={name}]"),
            _ => self.kind.clone(),
        }
    }
}

/// Reports a browser test as skipped because no browser is installed.
pub fn skipped(test: &str) {
    eprintln!(
        "SKIPPED {test}: no chromium/chromedriver installed \
         (apt-get install -y --no-install-recommends chromium chromium-driver)"
    );
}

/// Whether Chromium and chromedriver are installed (what [`Browser::launch`] checks first).
pub fn is_available() -> bool {
    Binaries::find().is_some()
}

/// Where a test should save its screenshot `name`: `$GATEHOUSE_SCREENSHOT_DIR/<name>.png`, else
/// `<target dir>/screenshots/<name>.png`, so it survives the test for a report.
pub fn screenshot_path(name: &str) -> PathBuf {
    let dir = std::env::var_os("GATEHOUSE_SCREENSHOT_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(|t| PathBuf::from(t).join("screenshots")))
        .unwrap_or_else(|| {
            let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(manifest).join("target/screenshots")
        });
    dir.join(format!("{name}.png"))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session. `None` when the browser is not
    /// installed (and `GATEHOUSE_REQUIRE_BROWSER` is unset); panics when it is installed but
    /// does not start.
    pub async fn launch() -> Option<Self> {
        let Some(bins) = Binaries::find() else {
            if std::env::var_os("GATEHOUSE_REQUIRE_BROWSER").is_some_and(|v| v != "0") {
                panic!(
                    "GATEHOUSE_REQUIRE_BROWSER is set but chromium/chromedriver are not installed \
                     (apt-get install -y --no-install-recommends chromium chromium-driver)"
                );
            }
            return None;
        };
        let started = Instant::now();
        let driver = Driver::start(&bins)
            .await
            .unwrap_or_else(|e| panic!("chromedriver is installed but did not start: {e}"));
        let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
        builder.capabilities(capabilities(&bins, &driver));
        let url = driver.url();
        let connect = builder.connect(&url);
        let client = match tokio::time::timeout(COMMAND_TIMEOUT, connect).await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "chromium ({}) did not start a WebDriver session: {e}\nchromedriver log:\n{}",
                bins.chromium.display(),
                driver.log_tail()
            ),
            Err(_) => panic!(
                "chromium ({}) did not start a WebDriver session within {COMMAND_TIMEOUT:?}\n\
                 chromedriver log:\n{}",
                bins.chromium.display(),
                driver.log_tail()
            ),
        };
        let session_id = client.session_id().await.ok().flatten().unwrap_or_default();
        if let Err(e) = fit_viewport(&client).await {
            panic!("could not set the viewport to {VIEWPORT:?}: {e}");
        }
        Some(Self {
            client: Some(client),
            session_id,
            timeout: DEFAULT_TIMEOUT,
            launch_time: started.elapsed(),
            driver,
        })
    }

    /// Ends the session gracefully, then cleans up as `Drop` does.
    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = tokio::time::timeout(COMMAND_TIMEOUT, client.close()).await;
        }
    }

    /// How long this browser's waits last.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Changes how long waits and element look-ups last (default [`DEFAULT_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// How long [`Browser::launch`] took (chromedriver start plus session creation).
    pub fn launch_time(&self) -> Duration {
        self.launch_time
    }

    /// The private temp dir holding the profile and chromedriver's log; gone after drop.
    pub fn temp_dir(&self) -> &std::path::Path {
        self.driver.root()
    }

    /// The underlying fantoccini client, for anything the helpers do not cover.
    pub fn client(&self) -> &Client {
        match &self.client {
            Some(client) => client,
            None => unreachable!("the client is only taken by close(), which consumes self"),
        }
    }

    /// Runs one WebDriver command with the command time limit.
    async fn run<T>(&self, fut: impl Future<Output = Result<T, CmdError>>) -> Result<T, CmdError> {
        tokio::time::timeout(COMMAND_TIMEOUT, fut)
            .await
            .unwrap_or_else(|_| {
                Err(CmdError::Lost(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer from chromedriver within {COMMAND_TIMEOUT:?}"),
                )))
            })
    }

    /// Panics with `what`, the current URL and an excerpt of the page source.
    async fn fail<T>(&self, what: impl std::fmt::Display) -> T {
        let quick = Duration::from_secs(3);
        let url = match tokio::time::timeout(quick, self.client().current_url()).await {
            Ok(Ok(url)) => url.to_string(),
            Ok(Err(e)) => format!("<unknown: {e}>"),
            Err(_) => "<unknown: no answer>".to_owned(),
        };
        let text_script = "return document.body ? document.body.innerText : ''";
        let text = match tokio::time::timeout(quick, self.client().execute(text_script, vec![])).await {
            Ok(Ok(Value::String(text))) => excerpt(&text, 600),
            Ok(Ok(other)) => other.to_string(),
            Ok(Err(e)) => format!("<unavailable: {e}>"),
            Err(_) => "<unavailable: no answer>".to_owned(),
        };
        let source = match tokio::time::timeout(quick, self.client().source()).await {
            Ok(Ok(source)) => excerpt(&without_blocks(&source, &["style", "script"]), 1500),
            Ok(Err(e)) => format!("<unavailable: {e}>"),
            Err(_) => "<unavailable: no answer>".to_owned(),
        };
        panic!(
            "browser: {what}\n  current URL: {url}\n  page text (excerpt): {text}\n  \
             page source without <style>/<script> bodies (excerpt):\n{source}\n"
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Not closed explicitly (a test returned early or panicked): end the session with a
        // blocking call, since Drop cannot await. Chromedriver then quits Chromium itself.
        if self.client.take().is_some() && !self.session_id.is_empty() {
            let path = format!("/session/{}", self.session_id);
            let _ = http_call(self.driver.port, "DELETE", &path, Duration::from_secs(5));
        }
    }
}

/// The session's capabilities: headless Chromium with the flags this machine needs (no
/// background networking: the closed network would refuse those connections at every start).
fn capabilities(bins: &Binaries, driver: &Driver) -> serde_json::Map<String, Value> {
    let (width, height) = VIEWPORT;
    let args = [
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-extensions".to_owned(),
        "--password-store=basic".to_owned(),
        "--lang=en-US".to_owned(),
        format!("--window-size={width},{height}"),
        format!("--user-data-dir={}", driver.root().join("profile").display()),
    ];
    let caps = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "normal",
        "timeouts": { "implicit": 0, "pageLoad": PAGE_LOAD_TIMEOUT.as_millis() as u64, "script": 10_000 },
        "goog:chromeOptions": { "binary": bins.chromium, "args": args },
    });
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("a JSON object literal"),
    }
}

/// Makes the page's viewport (what screenshots show) exactly [`VIEWPORT`]: headless Chromium
/// reserves room for a toolbar inside `--window-size`, so the window size alone leaves it
/// shorter. A DevTools override needs no script in the page, which would cost a renderer start.
async fn fit_viewport(client: &Client) -> Result<(), CmdError> {
    let (width, height) = VIEWPORT;
    let params = json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false });
    client
        .issue_cmd(commands::CdpCommand::new(
            "Emulation.setDeviceMetricsOverride",
            params,
        ))
        .await
        .map(drop)
}

/// `html` with the contents of every `<tag>...</tag>` of the given names removed.
fn without_blocks(html: &str, tags: &[&str]) -> String {
    // ASCII lower-casing keeps byte offsets, so indices found in `lower` fit `html`.
    let lower = html.to_ascii_lowercase();
    let mut out = String::with_capacity(html.len());
    let mut pos = 0;
    while pos < html.len() {
        let next = tags
            .iter()
            .filter_map(|t| {
                let open = lower[pos..].find(&format!("<{t}"))? + pos;
                let body = lower[open..].find('>')? + open + 1;
                let close = lower[body..]
                    .find(&format!("</{t}"))
                    .map_or(html.len(), |c| c + body);
                Some((open, body, close))
            })
            .min();
        let Some((_, body, close)) = next else {
            out.push_str(&html[pos..]);
            break;
        };
        out.push_str(&html[pos..body]);
        out.push('…');
        pos = close;
    }
    out
}

/// The first `max` characters of `text` with whitespace runs collapsed.
fn excerpt(text: &str, max: usize) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… ({} more chars)", &collapsed[..cut], collapsed.len() - cut),
        None => collapsed,
    }
}
