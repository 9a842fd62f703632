//! Text that came from outside (an identity provider's `error_description`, a plugin error that
//! quotes an upstream answer) made safe to put in a log line, an event or a page: control
//! characters removed, so that nobody forges log lines with `\r\n` or hides text with `\0` or
//! bidi overrides, and a length cap, so that nobody fills the event table.

use serde_json::Value;

/// Upstream text is cut to this many characters (the ellipsis included).
pub const UPSTREAM_TEXT_MAX: usize = 512;

/// `text` without control or bidi-override characters (line breaks and tabs become one space),
/// cut to [`UPSTREAM_TEXT_MAX`] characters.
pub fn upstream_text(text: &str) -> String {
    let mut clean = String::with_capacity(text.len().min(UPSTREAM_TEXT_MAX * 4));
    let mut last_space = false;
    let mut kept = 0;
    for c in text.chars() {
        let c = match c {
            '\r' | '\n' | '\t' => ' ',
            c if c.is_control() || is_bidi_control(c) => continue,
            c => c,
        };
        // Runs of whitespace (often a `\r\n` pair) become one space.
        if c == ' ' && last_space {
            continue;
        }
        last_space = c == ' ';
        clean.push(c);
        kept += 1;
        // Stop early: the input may be many kilobytes, and only the head is kept.
        if kept > UPSTREAM_TEXT_MAX {
            break;
        }
    }
    cap(clean.trim(), UPSTREAM_TEXT_MAX)
}

/// [`upstream_text`] applied to every string (keys included) in a JSON value.
pub fn upstream_json(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(upstream_text(s)),
        Value::Array(items) => Value::Array(items.iter().map(upstream_json).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (upstream_text(k), upstream_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `text` cut to at most `max` characters, an ellipsis marking the cut.
pub fn cap(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some(_) => {
            let keep: String = text.chars().take(max.saturating_sub(1)).collect();
            format!("{keep}…")
        }
    }
}

/// Characters that reorder how text is displayed (Trojan-source style spoofing).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_and_length_is_capped() {
        assert_eq!(upstream_text("a\r\nb\0c\u{202e}d\t\te"), "a bcd e");
        let long = upstream_text(&"x".repeat(70_000));
        assert_eq!(long.chars().count(), UPSTREAM_TEXT_MAX);
        assert!(long.ends_with('…'));
        assert_eq!(cap("short", 10), "short");
    }
}
