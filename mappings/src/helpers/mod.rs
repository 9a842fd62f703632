//! Functions registered for mapping authors. All are pure: they read their arguments and return
//! a value; the only side channel is the per-run log/denial record in [`crate::state`].
//!
//! Rhai already provides `split`, `starts_with`, `ends_with`, `contains`, `to_lower`,
//! `to_upper`, `len`, `filter`, `map`, … as methods; this module adds the function forms mapping
//! authors coming from authentik expect, plus Gatehouse-specific helpers.

pub(crate) mod data;
pub(crate) mod object;
mod regex;
mod text;

use rhai::Engine;

pub(crate) use regex::RegexCache;

/// Registers every helper on `engine`.
pub(crate) fn register(engine: &mut Engine, regexes: std::sync::Arc<RegexCache>, max_string_size: usize) {
    text::register(engine);
    regex::register(engine, regexes, max_string_size);
    data::register(engine);
    object::register(engine);
}
