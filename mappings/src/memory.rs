//! Size checks while a script runs. Rhai checks a value's size when a function returns it and
//! after `+=`, but index and property assignment (`m[k] = v`, `a[i].push(x)`) check only the
//! assigned element, never the container that grows. So, every so many operations, the next
//! variable access measures every value in scope: each against Rhai's own array, map and string
//! limits, and all together against `max_memory_bytes`, an estimate of what the values hold.
//!
//! The walk costs one step per value; the next check comes after about as many operations as the
//! last walk took steps, so checking never costs more than a fixed share of the script's work.

use rhai::{Array, Dynamic, Engine, EvalAltResult, EvalContext, Map, Position};

/// Estimated bytes of one value slot (a `Dynamic`), and extra per map entry (the key).
const VALUE_BYTES: usize = 16;
const MAP_ENTRY_BYTES: usize = 48;

/// What one value holds, nested values included.
#[derive(Debug, Default, Clone, Copy)]
struct Footprint {
    array_elements: usize,
    map_entries: usize,
    string_bytes: usize,
    /// Values visited (the cost of the walk).
    values: usize,
}

impl Footprint {
    fn bytes(&self) -> usize {
        self.values
            .saturating_mul(VALUE_BYTES)
            .saturating_add(self.map_entries.saturating_mul(MAP_ENTRY_BYTES))
            .saturating_add(self.string_bytes)
    }
}

/// How deep [`measure`] follows nested values by reference before handing a subtree to
/// [`measure_cloning`].
const MAX_BORROWED_DEPTH: usize = 64;

/// What `value` holds. Nested values are read in place: cloning a `Dynamic` array or map copies
/// it whole, which would make every check cost as much as the data (the mapping context's
/// `groups` is in scope in every user mapping).
fn measure(value: &Dynamic) -> Footprint {
    let mut footprint = Footprint::default();
    measure_borrowed(value, 0, &mut footprint);
    footprint
}

fn measure_borrowed(value: &Dynamic, depth: usize, footprint: &mut Footprint) {
    if depth >= MAX_BORROWED_DEPTH {
        return measure_cloning(value, footprint);
    }
    footprint.values += 1;
    if value.is_string() {
        if let Ok(s) = value.as_immutable_string_ref() {
            footprint.string_bytes += s.len();
        }
    } else if value.is_array() {
        if let Some(array) = value.read_lock::<Array>() {
            footprint.array_elements += array.len();
            for item in array.iter() {
                measure_borrowed(item, depth + 1, footprint);
            }
        }
    } else if value.is_map()
        && let Some(map) = value.read_lock::<Map>()
    {
        footprint.map_entries += map.len();
        for (key, item) in map.iter() {
            footprint.string_bytes += key.len();
            measure_borrowed(item, depth + 1, footprint);
        }
    }
}

/// Walks a value nested deeper than [`MAX_BORROWED_DEPTH`] without recursion (a script can nest
/// arrays deeper than the thread's stack). It clones what it visits, so it is only the fallback.
fn measure_cloning(value: &Dynamic, footprint: &mut Footprint) {
    let mut pending: Vec<Dynamic> = vec![value.clone()];
    while let Some(value) = pending.pop() {
        footprint.values += 1;
        if value.is_string() {
            if let Ok(s) = value.as_immutable_string_ref() {
                footprint.string_bytes += s.len();
            }
        } else if value.is_array() {
            if let Some(array) = value.read_lock::<Array>() {
                footprint.array_elements += array.len();
                pending.extend(array.iter().cloned());
            }
        } else if value.is_map()
            && let Some(map) = value.read_lock::<Map>()
        {
            footprint.map_entries += map.len();
            for (key, item) in map.iter() {
                footprint.string_bytes += key.len();
                pending.push(item.clone());
            }
        }
    }
}

fn too_large(what: &str) -> Box<EvalAltResult> {
    EvalAltResult::ErrorDataTooLarge(what.to_owned(), Position::NONE).into()
}

/// Checks every value in scope; returns the number of values walked.
pub(crate) fn check_scope(
    context: &EvalContext,
    max_memory_bytes: usize,
) -> Result<usize, Box<EvalAltResult>> {
    let engine: &Engine = context.engine();
    let mut total = 0usize;
    let mut walked = 0usize;
    for (_, _, value) in context.scope().iter_raw() {
        let footprint = measure(value);
        if footprint.array_elements > engine.max_array_size() && engine.max_array_size() > 0 {
            return Err(too_large("Size of array"));
        }
        if footprint.map_entries > engine.max_map_size() && engine.max_map_size() > 0 {
            return Err(too_large("Size of object map"));
        }
        if footprint.string_bytes > engine.max_string_size() && engine.max_string_size() > 0 {
            return Err(too_large("Length of string"));
        }
        total = total.saturating_add(footprint.bytes());
        walked += footprint.values;
    }
    if total > max_memory_bytes {
        return Err(too_large("Estimated memory of the script's values"));
    }
    Ok(walked)
}
