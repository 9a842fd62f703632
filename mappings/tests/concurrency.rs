//! One shared engine used from several threads with independent deadlines.

use crate::common::*;
use gatehouse_mappings::{ErrorKind, Limits, MappingEngine};
use std::sync::Arc;

#[test]
fn engine_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<MappingEngine>();
    fn assert_send<T: Send>() {}
    assert_send::<gatehouse_mappings::PreparedUserContext>();
}

/// Each evaluation has its own deadline, counted from its own start: a runaway on one thread
/// stops with `Timeout`, and scripts started on other threads after its deadline passed (another
/// runaway and ordinary scripts) are not cut short by it. No clock is read here: the facts are the
/// error kinds and the ordinary scripts' results.
#[test]
fn deadlines_are_per_evaluation_across_threads() {
    let engine = Arc::new(
        MappingEngine::new(Limits {
            timeout_ms: 300,
            max_operations: u64::MAX,
            ..Limits::default()
        })
        .unwrap(),
    );
    let runaway = || {
        let engine = engine.clone();
        std::thread::spawn(move || err_of(eval_script(&engine, "loop {}")).kind)
    };
    // The first runaway's deadline has passed once it returns.
    assert_eq!(runaway().join().unwrap(), ErrorKind::Timeout);
    let late = runaway();
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
    assert_eq!(late.join().unwrap(), ErrorKind::Timeout);
}
