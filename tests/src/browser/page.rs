//! What a test does with a page: navigate, find and fill elements, submit, wait, read text,
//! cookies, screenshots, labels and scripts. Each helper panics with context on failure.

use std::path::{Path, PathBuf};
use std::time::Instant;

use fantoccini::Locator;
use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use serde_json::Value;
use url::Url;

use super::commands::ComputedLabel;
use super::{Browser, BrowserCookie, FIELDS_CSS, FieldLabel, POLL};

impl Browser {
    /// Navigates to `url` and waits for the page (and any redirects) to load.
    pub async fn goto(&self, url: &str) {
        if let Err(e) = self.run(self.client().goto(url)).await {
            self.fail(format!("could not open {url}: {e}")).await
        }
    }

    /// The URL of the page shown now.
    pub async fn current_url(&self) -> Url {
        match self.run(self.client().current_url()).await {
            Ok(url) => url,
            Err(e) => self.fail(format!("could not read the current URL: {e}")).await,
        }
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        match self.run(self.client().title()).await {
            Ok(title) => title,
            Err(e) => self.fail(format!("could not read the title: {e}")).await,
        }
    }

    /// The current DOM serialised as HTML.
    pub async fn page_source(&self) -> String {
        match self.run(self.client().source()).await {
            Ok(source) => source,
            Err(e) => self.fail(format!("could not read the page source: {e}")).await,
        }
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + self.timeout;
        loop {
            match self.run(self.client().find(Locator::Css(css))).await {
                Ok(element) => return element,
                Err(e) if e.is_no_such_element() && Instant::now() < deadline => {
                    tokio::time::sleep(POLL).await;
                }
                Err(e) if e.is_no_such_element() => {
                    let what = format!("no element matches `{css}` after {:?}", self.timeout);
                    return self.fail(what).await;
                }
                Err(e) => return self.fail(format!("looking for `{css}` failed: {e}")).await,
            }
        }
    }

    /// Waits until an element matching `css` is on the page.
    pub async fn wait_for(&self, css: &str) {
        self.find(css).await;
    }

    /// Waits until the element matching `css` shows text containing `needle`; returns its text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + self.timeout;
        let mut last = String::from("<element not found>");
        loop {
            if let Ok(element) = self.run(self.client().find(Locator::Css(css))).await
                && let Ok(text) = self.run(element.text()).await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            if Instant::now() >= deadline {
                let what = format!(
                    "`{css}` did not show {needle:?} within {:?}; its last text: {last:?}",
                    self.timeout
                );
                return self.fail(what).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until the current URL satisfies `predicate`; returns that URL. The failure
    /// message lists every URL seen while waiting, which shows where a redirect chain stopped.
    pub async fn wait_for_url(&self, predicate: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + self.timeout;
        let mut seen: Vec<String> = Vec::new();
        loop {
            // An error here means "navigating right now"; keep polling.
            if let Ok(url) = self.run(self.client().current_url()).await {
                if predicate(&url) {
                    return url;
                }
                if seen.last() != Some(&url.to_string()) {
                    seen.push(url.to_string());
                }
            }
            if Instant::now() >= deadline {
                let what = format!(
                    "the URL did not reach the expected state within {:?}; URLs seen: {seen:?}",
                    self.timeout
                );
                return self.fail(what).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Clears the field matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        if let Err(e) = self.run(element.clear()).await {
            self.fail(format!("could not clear `{css}`: {e}")).await
        }
        if let Err(e) = self.run(element.send_keys(text)).await {
            self.fail(format!("could not type into `{css}`: {e}")).await
        }
    }

    /// Clicks the element matching `css` (as a person would: it must be visible and enabled).
    pub async fn click(&self, css: &str) {
        let element = self.find(css).await;
        if let Err(e) = self.run(element.click()).await {
            self.fail(format!("could not click `{css}`: {e}")).await
        }
    }

    /// Submits a form the way pressing its submit button does (validation, submit events), then
    /// waits until the next page has replaced this one. `css` names the form or a submit
    /// button in it (which is then the submitter). For forms handled by scripts without a page
    /// change, use [`Browser::click`] and a `wait_for*` instead.
    pub async fn submit_form(&self, css: &str) {
        let element = self.find(css).await;
        let script = "const el = arguments[0];
            const form = el.tagName === 'FORM' ? el : el.form;
            if (!form) return 'not a form, nor a button in one: <' + el.tagName.toLowerCase() + '>';
            window.__gatehouseOldPage = true;
            if (form === el) form.requestSubmit(); else form.requestSubmit(el);
            return 'ok';";
        let arg = match serde_json::to_value(&element) {
            Ok(arg) => arg,
            Err(e) => return self.fail(format!("cannot pass `{css}` to a script: {e}")).await,
        };
        match self.run(self.client().execute(script, vec![arg])).await {
            Ok(Value::String(s)) if s == "ok" => {}
            Ok(other) => return self.fail(format!("cannot submit `{css}`: {other}")).await,
            // The page may already be unloading when the script's answer would come back.
            Err(e) if e.is_javascript_error() => {
                return self.fail(format!("submitting `{css}` failed: {e}")).await;
            }
            Err(_) => {}
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            let probe = self
                .client()
                .execute("return window.__gatehouseOldPage === true", vec![]);
            if let Ok(Value::Bool(false)) = self.run(probe).await {
                return;
            }
            if Instant::now() >= deadline {
                let invalid = self.invalid_fields().await;
                let what = format!(
                    "submitting `{css}` did not lead to a new page within {:?}; \
                     fields the browser finds invalid: {invalid}",
                    self.timeout
                );
                return self.fail(what).await;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The visible text of the element matching `css` (waits for it to appear).
    pub async fn text_of(&self, css: &str) -> String {
        let element = self.find(css).await;
        match self.run(element.text()).await {
            Ok(text) => text,
            Err(e) => {
                self.fail(format!("could not read the text of `{css}`: {e}"))
                    .await
            }
        }
    }

    /// The value of attribute `name` of the element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.find(css).await;
        match self.run(element.attr(name)).await {
            Ok(value) => value,
            Err(e) => {
                self.fail(format!("could not read `{name}` of `{css}`: {e}"))
                    .await
            }
        }
    }

    /// Runs `js` as a function body in the page (`arguments[i]` are `args`); returns what it
    /// returns, as JSON.
    pub async fn execute(&self, js: &str, args: Vec<Value>) -> Value {
        match self.run(self.client().execute(js, args)).await {
            Ok(value) => value,
            Err(e) => self.fail(format!("script failed: {e}\n  script: {js}")).await,
        }
    }

    /// The cookies the current page can see (HttpOnly ones included).
    pub async fn cookies(&self) -> Vec<BrowserCookie> {
        let cookies = match self.run(self.client().get_all_cookies()).await {
            Ok(cookies) => cookies,
            Err(e) => return self.fail(format!("could not read cookies: {e}")).await,
        };
        cookies
            .into_iter()
            .map(|c| BrowserCookie {
                name: c.name().to_owned(),
                value: c.value().to_owned(),
                domain: c.domain().map(str::to_owned),
                path: c.path().map(str::to_owned),
                http_only: c.http_only().unwrap_or(false),
                secure: c.secure().unwrap_or(false),
                same_site: c.same_site().map(|s| s.to_string()),
            })
            .collect()
    }

    /// The cookie `name` as the current page sees it, if set.
    pub async fn cookie(&self, name: &str) -> Option<BrowserCookie> {
        self.cookies().await.into_iter().find(|c| c.name == name)
    }

    /// Saves a PNG of the viewport to `path` (creating its folder); returns the path.
    pub async fn screenshot(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref().to_path_buf();
        let png = match self.run(self.client().screenshot()).await {
            Ok(png) => png,
            Err(e) => return self.fail(format!("could not take a screenshot: {e}")).await,
        };
        let written = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => std::fs::create_dir_all(dir),
            _ => Ok(()),
        }
        .and_then(|()| std::fs::write(&path, &png));
        if let Err(e) = written {
            return self
                .fail(format!("could not write {}: {e}", path.display()))
                .await;
        }
        path
    }

    /// The accessible name of the element matching `css`, as the browser computes it (what a
    /// screen reader announces); empty when it has none.
    pub async fn accessible_name(&self, css: &str) -> String {
        let element = self.find(css).await;
        self.computed_label(&element, css).await
    }

    /// Every form field on the page (inputs a person fills in, selects, textareas) with its
    /// accessible name.
    pub async fn field_labels(&self) -> Vec<FieldLabel> {
        let fields = match self.run(self.client().find_all(Locator::Css(FIELDS_CSS))).await {
            Ok(fields) => fields,
            Err(e) => return self.fail(format!("could not list form fields: {e}")).await,
        };
        let mut labels = Vec::with_capacity(fields.len());
        for field in fields {
            // The `type` property, unlike the attribute, is always set: "text" for a bare
            // input, "select-one", "textarea".
            let kind = self.run(field.prop("type")).await.ok().flatten();
            labels.push(FieldLabel {
                id: self.run(field.attr("id")).await.ok().flatten(),
                name: self.run(field.attr("name")).await.ok().flatten(),
                label: self.computed_label(&field, FIELDS_CSS).await,
                kind: kind.unwrap_or_default(),
            });
        }
        labels
    }

    /// Fails when the page has no form field, or a field without an accessible name.
    pub async fn assert_fields_labelled(&self) -> Vec<FieldLabel> {
        let labels = self.field_labels().await;
        if labels.is_empty() {
            return self.fail("expected form fields, found none").await;
        }
        let unlabelled: Vec<String> = labels
            .iter()
            .filter(|f| f.label.trim().is_empty())
            .map(FieldLabel::describe)
            .collect();
        if !unlabelled.is_empty() {
            return self
                .fail(format!("form fields without a label: {unlabelled:?}"))
                .await;
        }
        labels
    }

    /// Form fields failing the browser's own validation (`required`, `type=email`, ...), which
    /// stop a submission: "name: message" pairs, for failure messages.
    async fn invalid_fields(&self) -> String {
        let script = "return Array.from(document.querySelectorAll('form :invalid'))
            .map(e => (e.name || e.id || e.tagName.toLowerCase()) + ': ' + e.validationMessage)";
        match self.run(self.client().execute(script, vec![])).await {
            Ok(Value::Array(list)) if list.is_empty() => "none".to_owned(),
            Ok(list) => list.to_string(),
            Err(e) => format!("<unknown: {e}>"),
        }
    }

    async fn computed_label(&self, element: &Element, what: &str) -> String {
        let answer: Result<Value, CmdError> = self
            .run(self.client().issue_cmd(ComputedLabel(element.element_id())))
            .await;
        match answer {
            Ok(Value::String(label)) => label,
            Ok(other) => {
                self.fail(format!("unexpected computed label of `{what}`: {other}"))
                    .await
            }
            Err(e) => {
                self.fail(format!("could not compute the label of `{what}`: {e}"))
                    .await
            }
        }
    }
}
