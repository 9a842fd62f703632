//! Builds the Rhai engine used for every mapping: limits, disabled features, helpers.

use crate::helpers::{self, RegexCache};
use crate::limits::Limits;
use crate::outcome::LogLevel;
use crate::state;
use rhai::Engine;
use rhai::module_resolvers::DummyModuleResolver;
use std::sync::Arc;

/// Fixed caps that are not worth a configuration key.
const MAX_VARIABLES: usize = 256;
const MAX_FUNCTIONS: usize = 64;
const MAX_STRINGS_INTERNED: usize = 1_024;
const NO_SLEEP: &str = "sleep() is not available in property mappings";
/// Check the wall clock every this many operations. Checking on every operation made a tight
/// 10,000-turn loop 37% slower in the benchmark; every 64th costs well under 1%, and the worst
/// single operation is bounded by the size limits.
const DEADLINE_CHECK_INTERVAL: u64 = 64;

/// A sandboxed engine: no file, network or process access exists in Rhai's standard packages;
/// module imports resolve to nothing and `import`/`eval` do not even parse; `print`/`debug` go
/// to the evaluation log instead of stdout.
pub(crate) fn build(limits: &Limits, regexes: Arc<RegexCache>) -> Engine {
    let mut engine = Engine::new();
    engine.set_module_resolver(DummyModuleResolver::new());
    for symbol in ["eval", "import", "export"] {
        engine.disable_symbol(symbol);
    }
    engine.set_strict_variables(true);
    engine.set_max_operations(limits.max_operations);
    engine.set_max_call_levels(limits.max_call_levels);
    engine.set_max_expr_depths(limits.max_expr_depth, limits.max_fn_expr_depth);
    engine.set_max_string_size(limits.max_string_size);
    engine.set_max_array_size(limits.max_array_size);
    engine.set_max_map_size(limits.max_map_size);
    engine.set_max_variables(MAX_VARIABLES);
    engine.set_max_functions(MAX_FUNCTIONS);
    engine.set_max_modules(1);
    engine.set_max_strings_interned(MAX_STRINGS_INTERNED);
    engine.on_print(|text| state::push_log(LogLevel::Info, text));
    engine.on_debug(|text, _, _| state::push_log(LogLevel::Debug, text));
    engine.on_progress(|operations| {
        if operations % DEADLINE_CHECK_INTERVAL == 0 {
            state::count_operations(DEADLINE_CHECK_INTERVAL);
            state::check_deadline()
        } else {
            None
        }
    });
    // Container growth by index or property assignment is not size-checked by Rhai: measure the
    // values in scope at the next variable access once a check is due (see `memory`).
    let max_memory_bytes = limits.max_memory_bytes;
    #[allow(deprecated)] // `on_var` is stable but marked volatile by Rhai.
    engine.on_var(move |_, _, context| {
        if state::take_size_check() {
            let walked = crate::memory::check_scope(&context, max_memory_bytes)?;
            state::size_checked(walked);
        }
        Ok(None)
    });
    helpers::register(&mut engine, regexes, limits.max_string_size);
    // Rhai's core package has `sleep`, which blocks the thread without reaching `on_progress`:
    // functions registered on the engine take precedence over packages, so shadow it.
    engine.register_fn("sleep", |_: rhai::INT| -> Result<(), Box<rhai::EvalAltResult>> {
        Err(NO_SLEEP.into())
    });
    engine.register_fn(
        "sleep",
        |_: rhai::FLOAT| -> Result<(), Box<rhai::EvalAltResult>> { Err(NO_SLEEP.into()) },
    );
    engine
}
