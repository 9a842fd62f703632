//! WebDriver commands fantoccini has no method for: "Get Computed Label" (the accessible name,
//! which Chromium answers from its accessibility tree: `aria-labelledby`, `aria-label`,
//! `<label for>` or a wrapping `<label>`, `title`, then `placeholder`) and chromedriver's
//! DevTools pass-through.

use fantoccini::elements::ElementRef;
use fantoccini::wd::WebDriverCompatibleCommand;

/// `GET /session/{id}/element/{element}/computedlabel` (WebDriver, "Get Computed Label"),
/// which fantoccini has no method for.
#[derive(Debug)]
pub(crate) struct ComputedLabel(pub ElementRef);

impl WebDriverCompatibleCommand for ComputedLabel {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/element/{}/computedlabel", &*self.0))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::GET, None)
    }
}

/// `POST /session/{id}/goog/cdp/execute`: a Chrome DevTools Protocol command through
/// chromedriver.
#[derive(Debug)]
pub(crate) struct CdpCommand {
    body: String,
}

impl CdpCommand {
    pub fn new(cmd: &str, params: serde_json::Value) -> Self {
        let body = serde_json::json!({ "cmd": cmd, "params": params }).to_string();
        Self { body }
    }
}

impl WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(&self, base_url: &url::Url, session_id: Option<&str>) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.clone()))
    }
}
