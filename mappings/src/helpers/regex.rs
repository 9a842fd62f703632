//! Regular-expression helpers backed by the `regex` crate (linear time, no backtracking), with
//! a bounded cache of compiled patterns and a cap on pattern size.

use crate::cache::BoundedCache;
use regex::{Regex, RegexBuilder};
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Position};
use std::sync::Arc;

/// Longest accepted pattern, in bytes.
pub(crate) const MAX_PATTERN_BYTES: usize = 1_024;
/// Compiled-program size cap handed to the regex crate.
const COMPILED_SIZE_LIMIT: usize = 1 << 20;
/// Compiled patterns kept.
const CACHE_CAPACITY: usize = 256;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

/// Compiled patterns shared by every evaluation.
pub(crate) struct RegexCache(BoundedCache<ImmutableString, Arc<Regex>>);

impl RegexCache {
    pub(crate) fn new() -> Self {
        Self(BoundedCache::new(CACHE_CAPACITY))
    }

    fn compile(&self, pattern: &ImmutableString) -> RhaiResult<Arc<Regex>> {
        if let Some(regex) = self.0.get(pattern) {
            return Ok(regex);
        }
        if pattern.len() > MAX_PATTERN_BYTES {
            return Err(EvalAltResult::ErrorDataTooLarge(
                format!(
                    "Regex pattern ({} bytes, at most {MAX_PATTERN_BYTES})",
                    pattern.len()
                ),
                Position::NONE,
            )
            .into());
        }
        let regex = RegexBuilder::new(pattern)
            .size_limit(COMPILED_SIZE_LIMIT)
            .dfa_size_limit(COMPILED_SIZE_LIMIT)
            .build()
            .map_err(|e| format!("invalid regular expression: {e}"))?;
        let regex = Arc::new(regex);
        self.0.insert(pattern.clone(), regex.clone());
        Ok(regex)
    }
}

pub(super) fn register(engine: &mut Engine, cache: Arc<RegexCache>, max_string_size: usize) {
    let c = cache.clone();
    engine.register_fn(
        "regex_match",
        move |text: &str, pattern: ImmutableString| -> RhaiResult<bool> {
            Ok(c.compile(&pattern)?.is_match(text))
        },
    );
    engine.register_fn("regex_match", |_: (), _: ImmutableString| false);

    let c = cache.clone();
    engine.register_fn(
        "regex_replace",
        move |text: &str, pattern: ImmutableString, replacement: &str| -> RhaiResult<ImmutableString> {
            replace(&*c.compile(&pattern)?, text, replacement, max_string_size)
        },
    );
    engine.register_fn(
        "regex_replace",
        |_: (), _: ImmutableString, _: ImmutableString| Dynamic::UNIT,
    );

    let c = cache;
    engine.register_fn(
        "regex_captures",
        move |text: &str, pattern: ImmutableString| -> RhaiResult<Dynamic> {
            let regex = c.compile(&pattern)?;
            Ok(match regex.captures(text) {
                Some(caps) => Dynamic::from_array(
                    caps.iter()
                        .map(|group| {
                            group.map_or(Dynamic::UNIT, |m| {
                                Dynamic::from(ImmutableString::from(m.as_str()))
                            })
                        })
                        .collect::<Array>(),
                ),
                None => Dynamic::UNIT,
            })
        },
    );
    engine.register_fn("regex_captures", |_: (), _: ImmutableString| Dynamic::UNIT);
}

/// Replaces every match, checking the output size as it grows so that a pattern matching the
/// empty string cannot blow a large input up past `max_string_size`.
fn replace(regex: &Regex, text: &str, replacement: &str, max: usize) -> RhaiResult<ImmutableString> {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in regex.captures_iter(text) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(&text[last..whole.start()]);
        caps.expand(replacement, &mut out);
        last = whole.end();
        if out.len() > max {
            return Err(EvalAltResult::ErrorDataTooLarge("Length of string".into(), Position::NONE).into());
        }
    }
    out.push_str(&text[last..]);
    if out.len() > max {
        return Err(EvalAltResult::ErrorDataTooLarge("Length of string".into(), Position::NONE).into());
    }
    Ok(out.into())
}
