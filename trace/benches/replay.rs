//! Traces replayed per second on one core: the whole corpus (`tests/traces`,
//! one trace per test card, ODA with real RSA) and the CDA trace alone.
//! Configuration and CA keys are prepared once per trace, as `replay` does
//! per file; the kernel run, the crypto and the comparison are measured.
//!
//! `cargo bench -p emv-trace --bench replay`

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use emv_trace::format::{self, Trace};
use emv_trace::replay::{self, Environment, Prepared};

fn corpus() -> Vec<(String, Trace, Prepared)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/traces");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/traces")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "trace"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("read trace");
            let trace = format::parse(&text).expect("parse trace");
            let prepared = replay::prepare(&trace, &Environment::for_file(&path)).expect("prepare");
            (path.display().to_string(), trace, prepared)
        })
        .collect()
}

fn bench_replay(c: &mut Criterion) {
    let traces = corpus();
    for (name, trace, prepared) in &traces {
        assert!(
            replay::replay_prepared(trace, prepared).passed(),
            "{name} fails to replay"
        );
    }
    let mut group = c.benchmark_group("replay");
    group.throughput(Throughput::Elements(traces.len() as u64));
    group.bench_function("corpus", |b| {
        b.iter(|| {
            traces
                .iter()
                .filter(|(_, trace, prepared)| replay::replay_prepared(trace, prepared).passed())
                .count()
        })
    });
    if let Some((_, trace, prepared)) = traces
        .iter()
        .find(|(name, ..)| name.ends_with("/cda.trace"))
    {
        group.throughput(Throughput::Elements(1));
        group.bench_function("cda", |b| {
            b.iter(|| replay::replay_prepared(trace, prepared).passed())
        });
    }
    group.finish();
}

criterion_group!(benches, bench_replay);
criterion_main!(benches);
