//! Field rules shared by the admin API and the flows that write users and groups.

pub const USER_TYPES: &[&str] = &["internal", "external", "service_account"];

fn has_control(value: &str) -> bool {
    value.chars().any(char::is_control)
}

pub fn username(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if value.chars().count() > 150 {
        return Err("Ensure this field has no more than 150 characters.".into());
    }
    if value.trim() != value {
        return Err("Usernames may not start or end with whitespace.".into());
    }
    if has_control(value) {
        return Err("Usernames may not contain control characters.".into());
    }
    Ok(())
}

pub fn name(value: &str) -> Result<(), String> {
    if value.chars().count() > 255 {
        return Err("Ensure this field has no more than 255 characters.".into());
    }
    if has_control(value) {
        return Err("Names may not contain control characters.".into());
    }
    Ok(())
}

/// Empty, or something shaped like an address (`local@domain`). Deliverability is not our business.
pub fn email(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Ok(());
    }
    let valid = value.len() <= 254
        && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        && value
            .rsplit_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid {
        Ok(())
    } else {
        Err("Enter a valid email address.".into())
    }
}

/// A `/`-separated path such as `users` or `goauthentik.io/sources/entra-id`.
pub fn path(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if value.len() > 200 {
        return Err("Ensure this field has no more than 200 characters.".into());
    }
    if value.starts_with('/') || value.ends_with('/') || value.split('/').any(str::is_empty) {
        return Err("Paths may not start or end with `/` or contain empty segments.".into());
    }
    if has_control(value) || value.chars().any(char::is_whitespace) {
        return Err("Paths may not contain whitespace or control characters.".into());
    }
    Ok(())
}

pub fn user_type(value: &str) -> Result<(), String> {
    if USER_TYPES.contains(&value) {
        Ok(())
    } else {
        Err(format!("`{value}` is not one of: {}.", USER_TYPES.join(", ")))
    }
}

pub fn attributes(value: &serde_json::Value) -> Result<(), String> {
    if value.is_object() {
        Ok(())
    } else {
        Err("Attributes must be a JSON object.".into())
    }
}

pub fn group_name(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if value.chars().count() > 255 {
        return Err("Ensure this field has no more than 255 characters.".into());
    }
    if value.trim() != value || has_control(value) {
        return Err("Group names may not start or end with whitespace or contain control characters.".into());
    }
    Ok(())
}

/// A slug-like identifier usable in URLs: letters, digits, `.`, `_`, `-`.
pub fn identifier(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("This field may not be blank.".into());
    }
    if value.len() > 255 {
        return Err("Ensure this field has no more than 255 characters.".into());
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err("Use only letters, digits, `.`, `_` and `-`.".into());
    }
    Ok(())
}

pub fn password(value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length < 8 {
        return Err("Passwords must have at least 8 characters.".into());
    }
    // argon2 hashes any length, but an unbounded input is a cheap way to burn CPU.
    if length > 1024 {
        return Err("Passwords may have at most 1024 characters.".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username("alice").is_ok());
        assert!(username("alice_contoso.com#EXT#@tenant.onmicrosoft.com").is_ok());
        assert!(username("").is_err());
        assert!(username(" alice").is_err());
        assert!(username("al\u{0}ice").is_err());
        assert!(username(&"a".repeat(151)).is_err());
    }

    #[test]
    fn emails_and_paths() {
        assert!(email("").is_ok());
        assert!(email("a@b.example").is_ok());
        assert!(email("nope").is_err());
        assert!(email("a@").is_err());
        assert!(email("a b@c.d").is_err());
        assert!(path("users").is_ok());
        assert!(path("goauthentik.io/sources/entra").is_ok());
        assert!(path("/users").is_err());
        assert!(path("a//b").is_err());
    }
}
