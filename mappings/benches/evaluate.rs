//! Evaluation and compile time of a typical Entra user mapping on a profile with 200 groups.
//!
//! `cargo bench -p gatehouse-mappings`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use gatehouse_mappings::{Mapping, MappingEngine};
use std::hint::black_box;

mod common;

use common::{TYPICAL, WITH_CLOSURES, base, context};

fn bench(c: &mut Criterion) {
    let engine = MappingEngine::default();
    let context = context();
    let base = base(&context);
    let typical = [Mapping::new("typical", TYPICAL)];
    let closures = [Mapping::new("closures", WITH_CLOSURES)];
    let mut prepared = context.prepare();
    let check = engine.evaluate_user(&typical, &mut prepared, base.clone());
    assert!(check.result.is_ok(), "{:?}", check.result);

    c.bench_function("evaluate typical user mapping (200 groups, cached AST)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&typical, &mut prepared, base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("prepare context + evaluate typical (200 groups)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&typical, &mut context.prepare(), base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("evaluate filter/map closures (200 groups)", |b| {
        b.iter_batched(
            || base.clone(),
            |base| black_box(engine.evaluate_user(&closures, &mut prepared, base)),
            BatchSize::SmallInput,
        )
    });
    c.bench_function("compile typical user mapping", |b| {
        // A fresh engine each time, so the AST cache does not answer.
        b.iter_batched(
            MappingEngine::default,
            |engine| black_box(engine.compile_check("typical", TYPICAL)),
            BatchSize::SmallInput,
        )
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
