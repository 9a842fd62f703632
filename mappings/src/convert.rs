//! Conversions between JSON values and Rhai values.

use crate::helpers::object::GraphObject;
use rhai::{Array, Dynamic, ImmutableString, Map};
use serde_json::{Map as JsonMap, Number, Value};

/// Converts JSON to a Rhai value. With `drop_nulls`, map entries whose value is `null` are left
/// out (reading them in a script still gives `()`), which keeps large Graph objects small.
pub(crate) fn json_to_dynamic(value: &Value, drop_nulls: bool) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(ImmutableString::from(s.as_str())),
        Value::Array(items) => Dynamic::from_array(
            items
                .iter()
                .map(|item| json_to_dynamic(item, drop_nulls))
                .collect(),
        ),
        Value::Object(map) => Dynamic::from_map(json_map_to_rhai(map, drop_nulls)),
    }
}

/// Converts a JSON object to a Rhai map.
pub(crate) fn json_map_to_rhai(map: &JsonMap<String, Value>, drop_nulls: bool) -> Map {
    map.iter()
        .filter(|(_, value)| !(drop_nulls && value.is_null()))
        .map(|(key, value)| (key.as_str().into(), json_to_dynamic(value, drop_nulls)))
        .collect()
}

/// A value that has no JSON form, with where it was found (`.a.b[2]`, relative to the root).
#[derive(Debug)]
pub(crate) struct NotJson {
    pub path: String,
    pub type_name: String,
}

/// Converts a Rhai value to JSON. Strings, numbers, booleans, `()` (as `null`), characters (as
/// strings), arrays and maps convert; functions, ranges, timestamps and BLOBs do not.
pub(crate) fn dynamic_to_json(value: &Dynamic) -> Result<Value, NotJson> {
    let mut path = String::new();
    to_json_at(value, &mut path)
}

fn to_json_at(value: &Dynamic, path: &mut String) -> Result<Value, NotJson> {
    if value.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.as_float() {
        return Number::from_f64(f).map(Value::Number).ok_or_else(|| NotJson {
            path: path.clone(),
            type_name: format!("non-finite number {f}"),
        });
    }
    if let Ok(c) = value.as_char() {
        return Ok(Value::String(c.to_string()));
    }
    if let Some(s) = value.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.as_str().to_owned()));
    }
    if let Some(items) = value.read_lock::<Array>() {
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            let len = path.len();
            path.push_str(&format!("[{index}]"));
            out.push(to_json_at(item, path)?);
            path.truncate(len);
        }
        return Ok(Value::Array(out));
    }
    if let Some(object) = value.read_lock::<GraphObject>() {
        return to_json_at(&Dynamic::from_map(object.to_map()), path);
    }
    if let Some(map) = value.read_lock::<Map>() {
        let mut out = JsonMap::new();
        for (key, item) in map.iter() {
            let len = path.len();
            path.push('.');
            path.push_str(key);
            out.insert(key.to_string(), to_json_at(item, path)?);
            path.truncate(len);
        }
        return Ok(Value::Object(out));
    }
    Err(NotJson {
        path: path.clone(),
        type_name: value.type_name().to_owned(),
    })
}

/// Reads a string value (shared or not).
pub(crate) fn as_string(value: &Dynamic) -> Option<ImmutableString> {
    value.read_lock::<ImmutableString>().map(|s| s.clone())
}
