//! Resource limits applied to every mapping evaluation, and their defaults.

use serde::{Deserialize, Serialize};

/// Limits for one evaluation of one mapping script (one mapping on one user or one group).
///
/// Embedded in the server configuration as the `[mappings]` table; every field has a default,
/// unknown fields are rejected. A zero value is rejected by [`Limits::validate`] because Rhai
/// treats zero as "unlimited".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Maximum number of Rhai operations (expressions, statements, loop iterations, function calls).
    pub max_operations: u64,
    /// Maximum depth of nested function calls (script functions and closures).
    pub max_call_levels: usize,
    /// Maximum nesting depth of expressions at the top level of a script.
    pub max_expr_depth: usize,
    /// Maximum nesting depth of expressions inside script-defined functions.
    pub max_fn_expr_depth: usize,
    /// Maximum string size in bytes; for arrays and maps, the sum of all strings they contain.
    pub max_string_size: usize,
    /// Maximum number of array elements, counting nested arrays.
    pub max_array_size: usize,
    /// Maximum number of map entries, counting nested maps.
    pub max_map_size: usize,
    /// Wall-clock budget in milliseconds for one script run.
    pub timeout_ms: u64,
    /// Estimated bytes all of a script's values may hold together (strings, array elements, map
    /// entries), checked while the script runs.
    pub max_memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_operations: 1_000_000,
            max_call_levels: 16,
            max_expr_depth: 64,
            max_fn_expr_depth: 32,
            max_string_size: 4 * 1024 * 1024,
            max_array_size: 100_000,
            max_map_size: 250_000,
            timeout_ms: 250,
            max_memory_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A [`Limits`] value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mapping limit `{field}`: {reason}")]
pub struct InvalidLimits {
    /// The offending field name, as spelled in the configuration.
    pub field: &'static str,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl Limits {
    /// Checks that every limit is usable: zero would mean "unlimited" to Rhai, and a call depth
    /// above 64 risks overflowing the stack of a 2 MiB worker thread.
    pub fn validate(&self) -> Result<(), InvalidLimits> {
        let zero = [
            ("max_operations", self.max_operations == 0),
            ("max_call_levels", self.max_call_levels == 0),
            ("max_expr_depth", self.max_expr_depth == 0),
            ("max_fn_expr_depth", self.max_fn_expr_depth == 0),
            ("max_string_size", self.max_string_size == 0),
            ("max_array_size", self.max_array_size == 0),
            ("max_map_size", self.max_map_size == 0),
            ("timeout_ms", self.timeout_ms == 0),
            ("max_memory_bytes", self.max_memory_bytes == 0),
        ];
        if let Some((field, _)) = zero.into_iter().find(|(_, is_zero)| *is_zero) {
            return Err(InvalidLimits {
                field,
                reason: "must be greater than zero",
            });
        }
        if self.max_call_levels > 64 {
            return Err(InvalidLimits {
                field: "max_call_levels",
                reason: "must be at most 64",
            });
        }
        if self.max_expr_depth > 256 || self.max_fn_expr_depth > 256 {
            let field = if self.max_expr_depth > 256 {
                "max_expr_depth"
            } else {
                "max_fn_expr_depth"
            };
            return Err(InvalidLimits {
                field,
                reason: "must be at most 256",
            });
        }
        Ok(())
    }
}
