//! Data helpers: `get_path`, `list_flatten`, `list_pluck`, `list_where`, `log`, `deny`.

use crate::convert::as_string;
use crate::helpers::object::{FieldKey, GraphObject};
use crate::outcome::LogLevel;
use crate::state;
use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

pub(super) fn register(engine: &mut Engine) {
    engine.register_fn("get_path", |value: Dynamic, path: &str| get_path(&value, path));
    engine.register_fn("list_flatten", list_flatten);
    engine.register_fn("list_pluck", |list: &mut Array, field: &str| -> Array {
        let field = Key::new(field);
        list.iter().map(|item| field.get(item)).collect()
    });
    engine.register_fn(
        "list_pluck",
        |list: &mut Array, field: &str, key: &str, value: Dynamic| -> Array {
            let (field, key, value) = (Key::new(field), Key::new(key), Wanted::new(value));
            // Sized for the whole list up front: growing by doubling reallocates several times
            // for a few hundred groups, and the result is short-lived.
            let mut out = Array::with_capacity(list.len());
            out.extend(
                list.iter()
                    .filter(|item| key.equals(item, &value))
                    .map(|item| field.get(item)),
            );
            out
        },
    );
    engine.register_fn(
        "list_where",
        |list: &mut Array, key: &str, value: Dynamic| -> Array {
            let (key, value) = (Key::new(key), Wanted::new(value));
            let mut out = Array::with_capacity(list.len());
            out.extend(list.iter().filter(|item| key.equals(item, &value)).cloned());
            out
        },
    );
    engine.register_fn("log", |message: Dynamic| {
        state::push_log(LogLevel::Info, &text(&message))
    });
    engine.register_fn("log", |level: &str, message: Dynamic| -> RhaiResult<()> {
        let level = LogLevel::parse(level).ok_or_else(|| {
            format!("unknown log level '{level}' (use \"debug\", \"info\", \"warning\" or \"error\")")
        })?;
        state::push_log(level, &text(&message));
        Ok(())
    });
    engine.register_fn("deny", |message: Dynamic| -> RhaiResult<()> {
        deny(text(&message))
    });
    engine.register_fn("deny", || -> RhaiResult<()> { deny(String::new()) });
}

fn text(value: &Dynamic) -> String {
    match as_string(value) {
        Some(s) => s.to_string(),
        None => value.to_string(),
    }
}

/// Ends the script with a denial. `ErrorTerminated` cannot be caught by `try`/`catch`, so a
/// script cannot swallow its own `deny()` by accident.
fn deny(message: String) -> RhaiResult<()> {
    let message = if message.trim().is_empty() {
        "Access denied.".to_owned()
    } else {
        message
    };
    state::set_denial(message);
    Err(EvalAltResult::ErrorTerminated(Dynamic::from(state::DENY_TOKEN), Position::NONE).into())
}

/// authentik's `list_flatten`: a list gives its first element (or `()` when empty), anything
/// else is returned unchanged.
fn list_flatten(value: Dynamic) -> Dynamic {
    let value = value.flatten();
    match value.try_cast_result::<Array>() {
        Ok(items) => items.into_iter().next().unwrap_or(Dynamic::UNIT),
        Err(value) => value,
    }
}

/// A path used on every element of a list: group objects are read in place through a
/// [`FieldKey`] (hashed once per call, no clone to compare a field); anything else goes through
/// [`get_path`].
struct Key<'a>(FieldKey<'a>);

impl<'a> Key<'a> {
    fn new(path: &'a str) -> Self {
        Self(FieldKey::new(path))
    }

    /// `get_path(item, path)`.
    fn get(&self, item: &Dynamic) -> Dynamic {
        if let Some(object) = item.read_lock::<GraphObject>()
            && let Some(found) = self.0.find(&object)
        {
            return found.clone();
        }
        get_path(item, self.0.name())
    }

    /// `values_equal(&get_path(item, path), value)`.
    fn equals(&self, item: &Dynamic, value: &Wanted) -> bool {
        if let Some(object) = item.read_lock::<GraphObject>()
            && let Some(found) = self.0.find(&object)
        {
            return value.matches(found);
        }
        value.matches(&get_path(item, self.0.name()))
    }
}

/// The value a list helper filters on, prepared once per call.
enum Wanted {
    /// A boolean (`list_pluck(groups, "id", "securityEnabled", true)`): by [`values_equal`]'s
    /// rules only the same boolean equals it, so the full comparison is skipped.
    Bool(bool),
    Other(Dynamic),
}

impl Wanted {
    fn new(value: Dynamic) -> Self {
        match value.as_bool() {
            Ok(b) => Self::Bool(b),
            Err(_) => Self::Other(value),
        }
    }

    fn matches(&self, found: &Dynamic) -> bool {
        match self {
            Self::Bool(b) => found.as_bool() == Ok(*b),
            Self::Other(value) => values_equal(found, value),
        }
    }
}

/// Follows a dotted path through maps and arrays (`"a.b.0.c"`), giving `()` when any step is
/// missing. Map keys that themselves contain dots (`"@odata.type"`) are matched whole first.
pub(crate) fn get_path(value: &Dynamic, path: &str) -> Dynamic {
    if path.is_empty() {
        return value.clone();
    }
    if let Some(object) = value.read_lock::<GraphObject>()
        && let Some(found) = object.lookup(path)
    {
        // Fast path for the common `list_pluck(groups, "id")`: a plain key of a group object.
        return found.clone();
    }
    if let Some(object) = value.read_lock::<GraphObject>() {
        return get_in_map(&object.to_map(), path);
    }
    if let Some(map) = value.read_lock::<Map>() {
        return get_in_map(&map, path);
    }
    if let Some(items) = value.read_lock::<Array>() {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        return match index(head, items.len()).and_then(|i| items.get(i)) {
            Some(item) => get_path(item, rest),
            None => Dynamic::UNIT,
        };
    }
    Dynamic::UNIT
}

fn get_in_map(map: &Map, path: &str) -> Dynamic {
    if let Some(value) = map.get(path) {
        return value.clone();
    }
    // Try the longest prefix ending at a dot first, so that `a.b.c` prefers key `a.b`.
    let mut cut = path.len();
    while let Some(dot) = path[..cut].rfind('.') {
        if let Some(value) = map.get(&path[..dot]) {
            return get_path(value, &path[dot + 1..]);
        }
        cut = dot;
    }
    Dynamic::UNIT
}

fn index(segment: &str, len: usize) -> Option<usize> {
    let i: i64 = segment.parse().ok()?;
    let len = i64::try_from(len).ok()?;
    let i = if i < 0 { len + i } else { i };
    usize::try_from(i).ok()
}

/// Equality for the values found in JSON-like data; an integer equals the same float.
pub(crate) fn values_equal(a: &Dynamic, b: &Dynamic) -> bool {
    if a.is_unit() || b.is_unit() {
        return a.is_unit() && b.is_unit();
    }
    if let (Ok(x), Ok(y)) = (a.as_bool(), b.as_bool()) {
        return x == y;
    }
    let number = |v: &Dynamic| v.as_int().map(|i| i as f64).or_else(|_| v.as_float()).ok();
    if let (Some(x), Some(y)) = (number(a), number(b)) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (as_string(a), as_string(b)) {
        return x == y;
    }
    if let (Ok(x), Ok(y)) = (a.as_char(), b.as_char()) {
        return x == y;
    }
    if let (Some(x), Some(y)) = (a.read_lock::<Array>(), b.read_lock::<Array>()) {
        return x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| values_equal(p, q));
    }
    match (map_of(a), map_of(b)) {
        (Some(x), Some(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

/// The entries of a map or of a read-only `object`.
fn map_of(value: &Dynamic) -> Option<std::sync::Arc<Map>> {
    if let Some(object) = value.read_lock::<GraphObject>() {
        return Some(std::sync::Arc::new(object.to_map()));
    }
    value
        .read_lock::<Map>()
        .map(|map| std::sync::Arc::new(map.clone()))
}
