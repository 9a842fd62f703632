//! The shared mapping engine: sandboxed Rhai engine, compiled-script cache, one script run.

use crate::cache::BoundedCache;
use crate::context::CONTEXT_NAMES;
use crate::error::{ErrorKind, MappingError};
use crate::helpers::RegexCache;
use crate::limits::{InvalidLimits, Limits};
use crate::outcome::{LogEntry, LogLevel};
use crate::{sandbox, state};
use rhai::{AST, Dynamic, Engine, Scope};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Compiled scripts kept.
const AST_CACHE_CAPACITY: usize = 512;

/// One property mapping: its name (for errors and logs) and its Rhai expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mapping {
    /// Unique name, e.g. `Entra ID: username from UPN local part`.
    pub name: String,
    /// Rhai script.
    pub expression: String,
}

impl Mapping {
    /// Builds a mapping.
    pub fn new(name: impl Into<String>, expression: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            expression: expression.into(),
        }
    }
}

/// Evaluates property mappings in a sandbox. `Send + Sync`: build one at start and share it
/// (e.g. in an `Arc`) between all request handlers and worker threads.
pub struct MappingEngine {
    engine: Engine,
    limits: Limits,
    /// Keyed by a hash of the script text; the text is kept and compared on every hit, so an
    /// edited script is a miss (no invalidation needed) and a hash collision cannot run the
    /// wrong script.
    scripts: BoundedCache<u64, (Arc<str>, Arc<AST>)>,
    /// Scripts running right now, on any thread (see [`MappingEngine::running_scripts`]).
    running: AtomicUsize,
}

/// Counts one running script for as long as it lives, even when the script unwinds.
struct Running<'a>(&'a AtomicUsize);

impl<'a> Running<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        Running(count)
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for MappingEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappingEngine")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for MappingEngine {
    fn default() -> Self {
        let limits = Limits::default();
        let engine = sandbox::build(&limits, Arc::new(RegexCache::new()));
        Self {
            engine,
            limits,
            scripts: BoundedCache::new(AST_CACHE_CAPACITY),
            running: AtomicUsize::new(0),
        }
    }
}

/// What one script run produced.
pub(crate) enum ScriptResult {
    Value(Dynamic),
    Denied(String),
}

impl MappingEngine {
    /// Builds an engine with these limits.
    pub fn new(limits: Limits) -> Result<Self, InvalidLimits> {
        limits.validate()?;
        let engine = sandbox::build(&limits, Arc::new(RegexCache::new()));
        Ok(Self {
            engine,
            limits,
            scripts: BoundedCache::new(AST_CACHE_CAPACITY),
            running: AtomicUsize::new(0),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Number of compiled scripts currently cached.
    pub fn cached_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// Number of scripts running at this moment. A test watches it to know that a runaway script
    /// is still running (not finished, not yet started) while the server answers other requests.
    pub fn running_scripts(&self) -> usize {
        self.running.load(Ordering::SeqCst)
    }

    /// Save-time validation: compiles `expression` (and caches it). Syntax errors, unknown
    /// variables and uses of `eval`/`import` are reported with line and column.
    pub fn compile_check(&self, name: &str, expression: &str) -> Result<(), MappingError> {
        self.compiled(name, expression).map(|_| ())
    }

    pub(crate) fn compiled(&self, name: &str, expression: &str) -> Result<Arc<AST>, MappingError> {
        let mut hasher = DefaultHasher::new();
        expression.hash(&mut hasher);
        let key = hasher.finish();
        if let Some((text, ast)) = self.scripts.get(&key)
            && &*text == expression
        {
            return Ok(ast);
        }
        let mut names = Scope::new();
        for variable in CONTEXT_NAMES {
            // Plain variables, not constants: the optimizer must not fold their placeholder value.
            names.push_dynamic(*variable, Dynamic::UNIT);
        }
        let compiled = catch_unwind(AssertUnwindSafe(|| {
            self.engine.compile_with_scope(&names, expression)
        }))
        .map_err(|_| {
            MappingError::new(
                name,
                ErrorKind::Syntax,
                "internal error while compiling the script",
            )
        })?
        .map_err(|e| MappingError::from_parse(name, &e))?;
        let ast = Arc::new(compiled);
        self.scripts.insert(key, (Arc::from(expression), ast.clone()));
        Ok(ast)
    }

    /// Runs one compiled script with `scope` under the wall-clock budget; log entries are
    /// appended to `logs` under `mapping`'s name.
    pub(crate) fn run(
        &self,
        mapping: &str,
        ast: &AST,
        scope: &mut Scope<'static>,
        logs: &mut Vec<LogEntry>,
    ) -> Result<ScriptResult, MappingError> {
        let _running = Running::enter(&self.running);
        let deadline = Instant::now() + Duration::from_millis(self.limits.timeout_ms);
        let (outcome, record) = state::with_run(deadline, || {
            catch_unwind(AssertUnwindSafe(|| {
                self.engine.eval_ast_with_scope::<Dynamic>(scope, ast)
            }))
        });
        logs.extend(record.logs.into_iter().map(|(level, message)| LogEntry {
            mapping: mapping.to_owned(),
            level,
            message,
        }));
        if record.dropped_logs > 0 {
            logs.push(LogEntry {
                mapping: mapping.to_owned(),
                level: LogLevel::Warning,
                message: format!("{} further log entries were dropped", record.dropped_logs),
            });
        }
        let Ok(result) = outcome else {
            return Err(MappingError::new(
                mapping,
                ErrorKind::Runtime,
                "internal error in the script engine",
            ));
        };
        match result {
            Ok(value) => {
                let value = value.flatten();
                // Rhai does not check a container's size when an element is assigned
                // (`m[k] = v`), so check what leaves the script.
                match self.engine.ensure_data_size_within_limits(&value) {
                    Ok(()) => Ok(ScriptResult::Value(value)),
                    Err(error) => Err(MappingError::from_eval(mapping, &error)),
                }
            }
            Err(_) if record.denial.is_some() => Ok(ScriptResult::Denied(record.denial.unwrap_or_default())),
            Err(error) if record.timed_out => {
                let mut timeout = MappingError::from_eval(mapping, &error);
                timeout.kind = ErrorKind::Timeout;
                timeout.limit = None;
                timeout.message = format!(
                    "the script ran longer than its time budget of {} ms (timeout_ms)",
                    self.limits.timeout_ms
                );
                Err(timeout)
            }
            Err(error) => Err(MappingError::from_eval(mapping, &error)),
        }
    }
}
