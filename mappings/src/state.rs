//! Per-evaluation state kept in a thread-local: the deadline checked by `on_progress`, the log
//! entries written by `log()`/`print()`, and a pending denial.
//!
//! Rhai's `on_progress` callback belongs to the engine, which is shared by every thread. A script
//! runs synchronously on the calling thread, so a thread-local holds the per-call deadline without
//! cloning the engine or taking a lock on the hot path.

use crate::outcome::LogLevel;
use rhai::Dynamic;
use std::cell::{Cell, RefCell};
use std::time::Instant;

/// Entries kept per script run; later ones are counted but dropped so that a loop calling `log()`
/// cannot flood the event log.
pub(crate) const MAX_LOG_ENTRIES: usize = 100;
/// Log messages longer than this (in characters) are truncated.
pub(crate) const MAX_LOG_MESSAGE_CHARS: usize = 1_000;

/// Value carried by `ErrorTerminated` when the deadline passed.
pub(crate) const TIMEOUT_TOKEN: &str = "gatehouse:timeout";
/// Value carried by `ErrorTerminated` when `deny()` was called.
pub(crate) const DENY_TOKEN: &str = "gatehouse:deny";

/// What a finished script run left behind.
#[derive(Debug, Default)]
pub(crate) struct RunRecord {
    pub logs: Vec<(LogLevel, String)>,
    pub dropped_logs: usize,
    pub denial: Option<String>,
    pub timed_out: bool,
}

struct Active {
    deadline: Instant,
    record: RunRecord,
    /// Operations left until the next size check is due (see [`crate::memory`]).
    until_size_check: u64,
}

/// Operations between size checks at least (a small scope is cheap to walk).
const MIN_SIZE_CHECK_INTERVAL: u64 = 256;

thread_local! {
    static CURRENT: RefCell<Option<Active>> = const { RefCell::new(None) };
    /// Set when a size check is due; read on every variable access, so kept apart from the
    /// `RefCell` for the cheapest possible test.
    static SIZE_CHECK_DUE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with a fresh state whose deadline is `deadline`, returning what `f` returned and the
/// record of the run. The previous state (normally none) is restored afterwards, even on unwind.
pub(crate) fn with_run<R>(deadline: Instant, f: impl FnOnce() -> R) -> (R, RunRecord) {
    /// Puts the previous state back when dropped.
    struct Restore(Option<Option<Active>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            if let Some(previous) = self.0.take() {
                let _ = CURRENT.try_with(|cell| {
                    if let Ok(mut slot) = cell.try_borrow_mut() {
                        *slot = previous;
                    }
                });
            }
        }
    }

    let active = Active {
        deadline,
        record: RunRecord::default(),
        until_size_check: MIN_SIZE_CHECK_INTERVAL,
    };
    let _ = SIZE_CHECK_DUE.try_with(|due| due.set(false));
    let previous = CURRENT.with(|cell| cell.try_borrow_mut().ok().map(|mut slot| slot.replace(active)));
    let restore = Restore(previous);
    let result = f();
    let record = with_active(|active| std::mem::take(&mut active.record)).unwrap_or_default();
    drop(restore);
    (result, record)
}

fn with_active<R>(f: impl FnOnce(&mut Active) -> R) -> Option<R> {
    CURRENT
        .try_with(|cell| {
            cell.try_borrow_mut()
                .ok()
                .and_then(|mut slot| slot.as_mut().map(f))
        })
        .ok()
        .flatten()
}

/// Called from `on_progress`: terminates the script once the deadline has passed.
pub(crate) fn check_deadline() -> Option<Dynamic> {
    with_active(|active| {
        if Instant::now() >= active.deadline {
            active.record.timed_out = true;
            Some(Dynamic::from(TIMEOUT_TOKEN))
        } else {
            None
        }
    })
    .flatten()
}

/// Called from `on_progress` every `elapsed` operations: marks a size check as due once enough
/// operations have passed since the last one.
pub(crate) fn count_operations(elapsed: u64) {
    with_active(|active| {
        active.until_size_check = active.until_size_check.saturating_sub(elapsed);
        if active.until_size_check == 0 {
            let _ = SIZE_CHECK_DUE.try_with(|due| due.set(true));
        }
    });
}

/// Whether a size check is due; clears the mark.
pub(crate) fn take_size_check() -> bool {
    SIZE_CHECK_DUE.try_with(|due| due.replace(false)).unwrap_or(false)
}

/// A size check walked `walked` values: the next one comes after about half as many operations,
/// so that the walks cost at most a fixed share of the script's work.
pub(crate) fn size_checked(walked: usize) {
    with_active(|active| {
        let walked = u64::try_from(walked).unwrap_or(u64::MAX);
        active.until_size_check = (walked / 2).max(MIN_SIZE_CHECK_INTERVAL);
    });
}

/// Records a log entry for the running script.
pub(crate) fn push_log(level: LogLevel, message: &str) {
    with_active(|active| {
        if active.record.logs.len() >= MAX_LOG_ENTRIES {
            active.record.dropped_logs += 1;
            return;
        }
        let message = match message.char_indices().nth(MAX_LOG_MESSAGE_CHARS) {
            Some((cut, _)) => format!("{}…", &message[..cut]),
            None => message.to_owned(),
        };
        active.record.logs.push((level, message));
    });
}

/// Records the denial requested by `deny()`.
pub(crate) fn set_denial(message: String) {
    with_active(|active| active.record.denial = Some(message));
}
