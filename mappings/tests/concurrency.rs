//! One shared engine used from several threads with independent deadlines.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, Limits, MappingEngine};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MappingEngine>();
    fn assert_send<T: Send>() {}
    assert_send::<gatehouse_mappings::PreparedUserContext>();
}

#[test]
fn deadlines_are_per_evaluation_across_threads() {
    let budget = Duration::from_millis(300);
    let engine = Arc::new(
        MappingEngine::new(Limits {
            timeout_ms: 300,
            max_operations: u64::MAX,
            ..Limits::default()
        })
        .unwrap(),
    );
    let runaway = |delay: Duration| {
        let engine = engine.clone();
        std::thread::spawn(move || {
            std::thread::sleep(delay);
            let started = Instant::now();
            let error = err_of(eval_script(&engine, "loop {}"));
            (error.kind, started.elapsed())
        })
    };
    let early = runaway(Duration::ZERO);
    let late = runaway(Duration::from_millis(150));
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                for n in 0..50 {
                    let props = mapped(eval_script(&engine, &format!("#{{ name: \"t{i}-{n}\" }}")));
                    assert_eq!(props.name, Some(format!("t{i}-{n}")));
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    for handle in [early, late] {
        let (kind, elapsed) = handle.join().unwrap();
        assert_eq!(kind, ErrorKind::Timeout);
        // Each runaway got its own full budget, counted from its own start.
        assert!(
            elapsed >= budget,
            "stopped after {elapsed:?}, before its own deadline"
        );
        assert!(elapsed < Duration::from_secs(10));
    }
}
