//! JSON helpers shared by several layers (storage, flows, handlers). They live here, outside every
//! layer, so that `db` and `flows` can both use them without importing each other.

use serde_json::Value;

/// Deep-merges `from` into `into` (objects merge, everything else replaces).
pub fn merge_json(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(target), Value::Object(source)) => {
            for (key, value) in source {
                match target.get_mut(key) {
                    Some(existing) => merge_json(existing, value),
                    None => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

/// Parses a stored JSON column, reading unparsable text as an empty object: an attributes column
/// that was hand-edited into garbage must not make the row unreadable.
pub fn parse_or_empty(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::Object(Default::default()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn merge_keeps_unrelated_keys_and_replaces_leaves() {
        let mut into = json!({"a": {"x": 1, "y": 2}, "b": [1]});
        merge_json(&mut into, &json!({"a": {"y": 3}, "b": [2], "c": true}));
        assert_eq!(into, json!({"a": {"x": 1, "y": 3}, "b": [2], "c": true}));
    }

    #[test]
    fn unparsable_text_reads_as_empty_object() {
        assert_eq!(parse_or_empty("{not json"), json!({}));
        assert_eq!(parse_or_empty(r#"{"k": 1}"#), json!({"k": 1}));
    }
}
