//! Redirect URIs registered on a provider: `strict` (exact string comparison, as RFC 6749 §3.1.2
//! and OAuth 2.1 require) or `regex` (anchored: the whole URI must match).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchingMode {
    Strict,
    Regex,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedirectUri {
    pub matching_mode: MatchingMode,
    pub url: String,
}

/// Compiles a regex rule anchored on both ends (so `https://app\.example/.*` cannot be satisfied
/// by `https://evil.example/?https://app.example/`), with a size limit.
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// Whether `candidate` is registered.
pub fn allowed(rules: &[RedirectUri], candidate: &str) -> bool {
    rules.iter().any(|rule| match rule.matching_mode {
        MatchingMode::Strict => rule.url == candidate,
        MatchingMode::Regex => compile(&rule.url).is_ok_and(|re| re.is_match(candidate)),
    })
}

/// Checks one registered rule when it is saved.
pub fn validate(rule: &RedirectUri) -> Result<(), String> {
    match rule.matching_mode {
        MatchingMode::Strict => {
            let url = url::Url::parse(&rule.url).map_err(|e| format!("`{}` is not a URL: {e}", rule.url))?;
            if url.fragment().is_some() {
                return Err(format!("`{}`: redirect URIs may not have a fragment", rule.url));
            }
            if url.scheme() == "http" && !matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
            {
                return Err(format!(
                    "`{}`: plain http is only allowed for localhost; use https",
                    rule.url
                ));
            }
            Ok(())
        }
        MatchingMode::Regex => compile(&rule.url)
            .map(|_| ())
            .map_err(|e| format!("`{}` is not a valid regular expression: {e}", rule.url)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(url: &str) -> RedirectUri {
        RedirectUri {
            matching_mode: MatchingMode::Strict,
            url: url.into(),
        }
    }

    #[test]
    fn strict_is_exact() {
        let rules = [strict("https://app.example/cb")];
        assert!(allowed(&rules, "https://app.example/cb"));
        assert!(!allowed(&rules, "https://app.example/cb/"));
        assert!(!allowed(&rules, "https://app.example/cb?x=1"));
        assert!(!allowed(&rules, "https://APP.example/cb"));
    }

    #[test]
    fn regex_is_anchored() {
        let rules = [RedirectUri {
            matching_mode: MatchingMode::Regex,
            url: r"https://[a-z]+\.app\.example/cb".into(),
        }];
        assert!(allowed(&rules, "https://tenant.app.example/cb"));
        assert!(!allowed(&rules, "https://evil.example/?https://a.app.example/cb"));
        assert!(!allowed(&rules, "https://a.app.example/cb.evil.example"));
    }

    #[test]
    fn validation() {
        assert!(validate(&strict("http://localhost:8080/cb")).is_ok());
        assert!(validate(&strict("http://app.example/cb")).is_err());
        assert!(validate(&strict("https://app.example/cb#x")).is_err());
        assert!(validate(&strict("not a url")).is_err());
    }
}
