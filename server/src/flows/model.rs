//! Flow designations and authentication requirements, with their wire names.

use serde::{Deserialize, Serialize};

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
        pub enum $name {
            $(#[serde(rename = $wire)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($wire),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }

            pub fn parse(value: &str) -> Result<Self, String> {
                match value {
                    $($wire => Ok(Self::$variant),)+
                    other => Err(format!("`{other}` is not one of: {}.", Self::ALL.join(", "))),
                }
            }
        }
    };
}

wire_enum!(
    /// What a flow is for.
    Designation {
        Authentication => "authentication",
        Authorization => "authorization",
        Enrollment => "enrollment",
        Invalidation => "invalidation",
        Recovery => "recovery",
        StageConfiguration => "stage_configuration",
        Unenrollment => "unenrollment",
    }
);

wire_enum!(
    /// Who may start a flow.
    AuthenticationRequirement {
        None => "none",
        RequireAuthenticated => "require_authenticated",
        RequireUnauthenticated => "require_unauthenticated",
        RequireSuperuser => "require_superuser",
    }
);

/// A slug: lowercase letters, digits, `-` and `_`, as used in URLs.
pub fn validate_slug(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if value.len() > 100 {
        return Err("Ensure this field has no more than 100 characters.".into());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err("Use only lowercase letters, digits, `-` and `_`.".into());
    }
    Ok(())
}

/// `next` must stay on this server: a path starting with a single `/`, no scheme, no host, no
/// backslashes or control characters (browsers treat `/\evil.example` like `//evil.example`).
pub fn safe_next(value: &str) -> Option<&str> {
    let ok = value.starts_with('/')
        && !value.starts_with("//")
        && !value.contains('\\')
        && !value.chars().any(char::is_control)
        && value.len() <= 2000;
    ok.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_relative() {
        assert_eq!(safe_next("/"), Some("/"));
        assert_eq!(
            safe_next("/application/o/authorize/?a=b"),
            Some("/application/o/authorize/?a=b")
        );
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
        ] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
    }

    #[test]
    fn wire_names_round_trip() {
        for name in Designation::ALL {
            assert_eq!(Designation::parse(name).unwrap().as_str(), *name);
        }
        assert!(AuthenticationRequirement::parse("sometimes").is_err());
    }
}
