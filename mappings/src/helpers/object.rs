//! `object`: a read-only map used for Graph group objects.
//!
//! Users can belong to thousands of groups, and Rhai copies a map whenever a script iterates
//! over a list or passes an element to a closure. Wrapping each group in an `Arc` makes those
//! copies cheap, and having no setter makes the object immune to the nested-assignment hole in
//! Rhai's constants (`const c = [#{}]; c[0].x = 1` is accepted), so one mapping cannot change
//! what the next one sees.

use crate::convert::dynamic_to_json;
use crate::fnv::{Fnv, hash_str};
use crate::helpers::data::values_equal;
use rhai::{Array, Dynamic, Engine, ImmutableString, Map};
use std::cell::Cell;
use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Arc;

/// A read-only map; reads work as on a map (`g.id`, `g["@odata.type"]`, missing → `()`).
#[derive(Debug, Clone)]
pub(crate) struct GraphObject(Arc<Entries>);

/// Entries in key order, each with the FNV hash of its key: a lookup hashes the key once and
/// scans a few dozen integers, several times faster than a B-tree of strings.
#[derive(Debug)]
struct Entries(Vec<(u64, Arc<str>, Dynamic)>);

impl GraphObject {
    /// From `(key hash, key, value)` triples with distinct keys (see [`KeyInterner`]).
    pub(crate) fn from_entries(entries: Vec<(u64, Arc<str>, Dynamic)>) -> Self {
        Self(Arc::new(Entries(entries)))
    }

    pub(crate) fn lookup(&self, key: &str) -> Option<&Dynamic> {
        let hash = hash_str(key);
        self.0
            .0
            .iter()
            .find(|(h, k, _)| *h == hash && &**k == key)
            .map(|(_, _, v)| v)
    }

    pub(crate) fn get(&self, key: &str) -> Dynamic {
        self.lookup(key).cloned().unwrap_or(Dynamic::UNIT)
    }

    pub(crate) fn len(&self) -> usize {
        self.0.0.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &Dynamic)> {
        self.0.0.iter().map(|(_, k, v)| (&**k, v))
    }

    pub(crate) fn to_map(&self) -> Map {
        self.0
            .0
            .iter()
            .map(|(_, k, v)| ((&**k).into(), v.clone()))
            .collect()
    }
}

/// A field name looked up in every object of a list (`list_pluck`, `list_where`): hashed once
/// per call instead of once per object, and made cheap to find again in the next object.
pub(crate) struct FieldKey<'a> {
    name: &'a str,
    hash: u64,
    /// Where the previous object had the field. The groups of one context come from the same
    /// Graph query and list their fields in the same order (shifted by the `null`s left out),
    /// so this position is usually right or close.
    hint: Cell<usize>,
    /// Address of an interned key string already found equal to `name`. The objects of one
    /// context share their key strings ([`KeyInterner`]), so later objects match by address
    /// instead of comparing bytes. Only compared, never read; the list (and so the string)
    /// stays borrowed for the whole call.
    known: Cell<*const u8>,
}

impl<'a> FieldKey<'a> {
    pub(crate) fn new(name: &'a str) -> Self {
        Self {
            name,
            hash: hash_str(name),
            hint: Cell::new(0),
            known: Cell::new(std::ptr::null()),
        }
    }

    pub(crate) fn name(&self) -> &'a str {
        self.name
    }

    fn is(&self, hash: u64, key: &str) -> bool {
        if hash != self.hash {
            return false;
        }
        if std::ptr::eq(key.as_ptr(), self.known.get()) && key.len() == self.name.len() {
            return true;
        }
        let equal = key == self.name;
        if equal {
            self.known.set(key.as_ptr());
        }
        equal
    }

    /// The field's value in `object`, if present.
    pub(crate) fn find<'o>(&self, object: &'o GraphObject) -> Option<&'o Dynamic> {
        let entries = &object.0.0;
        if let Some((h, k, v)) = entries.get(self.hint.get())
            && self.is(*h, k)
        {
            return Some(v);
        }
        let position = entries.iter().position(|(h, k, _)| self.is(*h, k))?;
        self.hint.set(position);
        entries.get(position).map(|(_, _, v)| v)
    }
}

/// Shares key strings (and their hashes) between the objects of one context: hundreds of
/// groups have the same thirty-odd Graph field names.
#[derive(Default)]
pub(crate) struct KeyInterner(HashMap<Arc<str>, u64, BuildHasherDefault<Fnv>>);

impl KeyInterner {
    pub(crate) fn key(&mut self, key: &str) -> (u64, Arc<str>) {
        if let Some((shared, hash)) = self.0.get_key_value(key) {
            return (*hash, shared.clone());
        }
        let shared: Arc<str> = Arc::from(key);
        let hash = hash_str(key);
        self.0.insert(shared.clone(), hash);
        (hash, shared)
    }
}

fn json_text(object: &GraphObject) -> String {
    let value = Dynamic::from_map(object.to_map());
    dynamic_to_json(&value)
        .map(|json| json.to_string())
        .unwrap_or_else(|_| "#{...}".to_owned())
}

pub(super) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<GraphObject>("object");
    // Also serves `g.field`: Rhai falls back to the string indexer when no getter exists.
    engine.register_indexer_get(|object: &mut GraphObject, key: &str| object.get(key));
    engine.register_fn("contains", |object: &mut GraphObject, key: &str| {
        object.lookup(key).is_some()
    });
    engine.register_fn("keys", |object: &mut GraphObject| -> Array {
        object
            .iter()
            .map(|(k, _)| Dynamic::from(ImmutableString::from(k)))
            .collect()
    });
    engine.register_fn("values", |object: &mut GraphObject| -> Array {
        object.iter().map(|(_, v)| v.clone()).collect()
    });
    engine.register_fn("len", |object: &mut GraphObject| object.len() as rhai::INT);
    engine.register_fn("is_empty", |object: &mut GraphObject| object.len() == 0);
    engine.register_fn("to_map", |object: &mut GraphObject| object.to_map());
    engine.register_fn("to_json", |object: &mut GraphObject| json_text(object));
    engine.register_fn("to_string", |object: &mut GraphObject| json_text(object));
    engine.register_fn("to_debug", |object: &mut GraphObject| json_text(object));
    engine.register_fn("==", |a: &mut GraphObject, b: GraphObject| {
        values_equal(&Dynamic::from(a.clone()), &Dynamic::from(b))
    });
    engine.register_fn("!=", |a: &mut GraphObject, b: GraphObject| {
        !values_equal(&Dynamic::from(a.clone()), &Dynamic::from(b))
    });
    engine.register_fn("==", |a: &mut GraphObject, b: Map| {
        values_equal(&Dynamic::from(a.clone()), &Dynamic::from_map(b))
    });
}
