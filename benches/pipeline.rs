//! Each stage of the pipeline on its own, and end to end (benches/README.md).
//!
//! - `compile/*`: policy parse + check + lower (+ decode plan) — `Engine::builder(..).build()`
//!   for all shipped packs and for the six-rule workload; `compile/model_erp` loads the
//!   built-in model alone.
//! - `decode/*`: JSON bytes → decoded `Tenant` for the six-rule program (throughput in bytes).
//! - `decode_file/*`: the same from a file, through the streaming path that `tenet check`
//!   takes for JSON files of 16 MB or more (read in chunks, split, pieces decoded).
//! - `evaluate/*`: the six rules over an already-decoded tenant, on one thread
//!   (throughput in entities: tenant, roles, users, sessions, integrations, certificates).
//! - `end_to_end/*`: decode + evaluate from bytes, on one thread.
//!
//! Data comes from the generator (`examples/gen.rs`): one tenant of 1K, 10K and 100K users,
//! and a bulk set of 100 tenants × 500 users. `cargo bench --bench pipeline -- --test`
//! runs every bench once on smaller data (1K, 10K, bulk 20 × 500).

// A benchmark harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../examples/gen.rs"]
mod gen;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tenet::engine::Engine;
use tenet::model::Model;
use tenet::snapshot::{Content, Tenant};
use tenet::source::SourceFile;

/// 2026-11-22T00:00:00Z in microseconds (the six rules do not read `now`).
const NOW: i64 = 1_795_305_600 * 1_000_000;

fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// (label, users) of the single-tenant data sets.
fn sizes() -> Vec<(&'static str, usize)> {
    if quick() {
        vec![("1K", 1_000), ("10K", 10_000)]
    } else {
        vec![("1K", 1_000), ("10K", 10_000), ("100K", 100_000)]
    }
}

/// (tenants, users per tenant) of the bulk set.
fn bulk_shape() -> (usize, usize) {
    if quick() {
        (20, 500)
    } else {
        (100, 500)
    }
}

fn read_policy(path: &str) -> SourceFile {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    SourceFile::new(path, text)
}

fn shipped_packs() -> Vec<SourceFile> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/policies");
    let mut paths: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().to_string_lossy().into_owned())
        // As `tenet check -p policies` finds them (the packs are at the top level).
        .filter(|p| {
            let test = p.ends_with(".test.yaml") || p.ends_with(".test.yml");
            !test && (p.ends_with(".tenet") || p.ends_with(".yaml") || p.ends_with(".yml"))
        })
        .collect();
    paths.sort();
    assert!(paths.len() >= 4, "expected the shipped packs in {dir}");
    paths.iter().map(|p| read_policy(p)).collect()
}

fn six_rules() -> SourceFile {
    read_policy(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/workload/six-rules.tenet"))
}

fn engine(files: Vec<SourceFile>) -> Engine {
    match Engine::builder(Model::erp()).policies(files).build() {
        Ok(e) => e,
        Err(e) => panic!("policies do not compile: {e:?}"),
    }
}

fn one_thread() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap()
}

fn decode(engine: &Engine, bytes: Vec<u8>) -> Tenant {
    engine.decode("bench.json", Content::Json(bytes)).expect("generated tenants decode")
}

fn bench_compile(c: &mut Criterion) {
    let packs = shipped_packs();
    let six = six_rules();
    let model = Model::erp();
    let all = engine(packs.clone());
    assert!(all.program.rules.len() > 20, "expected every rule of the shipped packs");
    let mut g = c.benchmark_group("compile");
    g.bench_function("model_erp", |b| b.iter(Model::erp));
    g.bench_function("all_packs", |b| {
        b.iter(|| Engine::builder(model.clone()).policies(packs.iter().cloned()).build().is_ok())
    });
    g.bench_function("six_rules", |b| b.iter(|| Engine::builder(model.clone()).policy(six.clone()).build().is_ok()));
    g.finish();
}

fn bench_stages(c: &mut Criterion) {
    let engine = engine(vec![six_rules()]);
    let pool = one_thread();
    for (label, users) in sizes() {
        let (json, stats) = gen::single(users, gen::SEED);
        let tenant = decode(&engine, json.clone());
        let report = engine.evaluate(&tenant, NOW);
        assert_eq!(report.findings.len() as u64, stats.total_violations(), "{label}: findings != planted violations");

        let mut g = c.benchmark_group("decode");
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(label, |b| {
            b.iter_batched(|| json.clone(), |bytes| decode(&engine, bytes), BatchSize::LargeInput)
        });
        g.finish();

        // The same tenant as a file, the way `tenet check` reads one of 16 MB or more:
        // streamed in chunks and split into pieces (on one thread here, as `-j1`).
        let path = std::env::temp_dir().join(format!("tenet-bench-{}-{label}.json", std::process::id()));
        std::fs::write(&path, &json).unwrap();
        let streamed = pool.install(|| engine.decode("bench.json", Content::JsonFile(path.clone()))).unwrap();
        assert_eq!(
            engine.evaluate(&streamed, NOW).findings.len(),
            report.findings.len(),
            "{label}: streamed decode differs"
        );
        let mut g = c.benchmark_group("decode_file");
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(label, |b| {
            b.iter(|| pool.install(|| engine.decode("bench.json", Content::JsonFile(path.clone())).unwrap()))
        });
        g.finish();
        let _ = std::fs::remove_file(&path);

        let mut g = c.benchmark_group("evaluate");
        g.throughput(Throughput::Elements(stats.entities()));
        g.bench_function(label, |b| b.iter(|| pool.install(|| engine.evaluate(black_box(&tenant), NOW))));
        g.finish();

        let mut g = c.benchmark_group("end_to_end");
        g.throughput(Throughput::Bytes(json.len() as u64));
        g.bench_function(label, |b| {
            b.iter_batched(
                || json.clone(),
                |bytes| pool.install(|| engine.evaluate(&decode(&engine, bytes), NOW)),
                BatchSize::LargeInput,
            )
        });
        g.finish();
    }

    // The bulk set: every tenant in turn, on one thread.
    let (tenants, users) = bulk_shape();
    let (lines, stats) = gen::bulk(tenants, users, gen::SEED);
    let label = format!("bulk_{tenants}x{users}");
    let bytes: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    let decoded: Vec<Tenant> = lines.iter().map(|l| decode(&engine, l.clone())).collect();
    let found: usize = decoded.iter().map(|t| engine.evaluate(t, NOW).findings.len()).sum();
    assert_eq!(found as u64, stats.total_violations(), "{label}: findings != planted violations");

    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(&label, |b| {
        b.iter_batched(
            || lines.clone(),
            |lines| lines.into_iter().map(|l| decode(&engine, l)).collect::<Vec<_>>(),
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("evaluate");
    g.throughput(Throughput::Elements(stats.entities()));
    g.bench_function(&label, |b| {
        b.iter(|| pool.install(|| decoded.iter().map(|t| engine.evaluate(t, NOW).findings.len()).sum::<usize>()))
    });
    g.finish();

    let mut g = c.benchmark_group("end_to_end");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function(&label, |b| {
        b.iter_batched(
            || lines.clone(),
            |lines| {
                pool.install(|| {
                    lines.into_iter().map(|l| engine.evaluate(&decode(&engine, l), NOW).findings.len()).sum::<usize>()
                })
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench_compile, bench_stages
}
criterion_main!(benches);
