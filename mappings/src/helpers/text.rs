//! String helpers: `lower`, `upper`, `trim` (returning a new string) and `slugify`.

use rhai::{Dynamic, Engine, ImmutableString};
use unicode_normalization::UnicodeNormalization;

pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("lower", |s: &str| -> ImmutableString { s.to_lowercase().into() });
    engine.register_fn("upper", |s: &str| -> ImmutableString { s.to_uppercase().into() });
    // Stock Rhai's `trim` trims in place and returns `()`, so `let t = trim(x)` (or
    // `info.mail.trim()`) silently gives `()`; mapping authors expect the trimmed string.
    engine.register_fn("trim", |s: &str| -> ImmutableString { s.trim().into() });
    engine.register_fn("slugify", |s: &str| -> ImmutableString { slugify(s).into() });
    // Graph profiles are full of nulls: let the string helpers pass `()` through.
    for name in ["lower", "upper", "trim", "slugify"] {
        engine.register_fn(name, |_: ()| Dynamic::UNIT);
    }
}

/// Django's `slugify`: ASCII-fold (NFKD, drop what is not ASCII), lower-case, keep letters,
/// digits, `_`, `-` and spaces, turn runs of spaces and dashes into one `-`, strip `-`/`_` at
/// both ends. `"Équipe Réseau / Paris"` → `"equipe-reseau-paris"`.
pub(crate) fn slugify(input: &str) -> String {
    let folded: String = input
        .nfkd()
        .filter(char::is_ascii)
        .collect::<String>()
        .to_ascii_lowercase();
    let mut out = String::with_capacity(folded.len());
    let mut pending_dash = false;
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if pending_dash && !out.is_empty() {
                out.push('-');
            }
            pending_dash = false;
            out.push(c);
        } else if c == '-' || c.is_ascii_whitespace() {
            pending_dash = true;
        }
    }
    out.trim_matches(|c| c == '-' || c == '_').to_owned()
}

#[cfg(test)]
mod tests {
    use super::slugify;

    #[test]
    fn slugify_matches_django() {
        assert_eq!(slugify("Équipe Réseau / Paris"), "equipe-reseau-paris");
        assert_eq!(slugify("  Sales -- EMEA  "), "sales-emea");
        assert_eq!(slugify("_Admins_"), "admins");
        assert_eq!(slugify("SG_Finance 2024"), "sg_finance-2024");
        assert_eq!(slugify("日本"), "");
    }
}
