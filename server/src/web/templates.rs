//! The tera templates. They are embedded in the binary so that a single file deploys; an
//! operator may point `templates_dir` at a folder whose files replace embedded ones by name.
//! Undefined variables are errors (tera's default), and every template is rendered in a test.

use std::path::Path;

use tera::Tera;

macro_rules! embedded {
    ($($name:literal),+ $(,)?) => {
        &[$(($name, include_str!(concat!("../../../web/templates/", $name)))),+]
    };
}

/// Every template, by name.
pub const EMBEDDED: &[(&str, &str)] = embedded!(
    "base.html",
    "flow.html",
    "stages/identification.html",
    "stages/password.html",
    "stages/consent.html",
    "stages/user_logout.html",
    "pages/message.html",
    "pages/landing.html",
);

pub struct Templates {
    tera: Tera,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Templates")
    }
}

impl Templates {
    /// The embedded templates, with files from `override_dir` replacing them by name.
    pub fn load(override_dir: Option<&Path>) -> Result<Self, String> {
        let mut sources: Vec<(String, String)> = EMBEDDED
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        if let Some(dir) = override_dir {
            for (name, text) in &mut sources {
                let path = dir.join(&*name);
                if path.exists() {
                    *text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                }
            }
        }
        let mut tera = Tera::default();
        tera.add_raw_templates(sources).map_err(|e| describe(&e))?;
        Ok(Self { tera })
    }

    pub fn render(&self, name: &str, context: &tera::Context) -> Result<String, tera::Error> {
        self.tera.render(name, context)
    }
}

/// A tera error with its causes (tera's Display shows only the outermost).
pub fn describe(error: &tera::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
