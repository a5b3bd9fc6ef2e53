//! tenet vs Rego (regorus) vs a hand-written serde program, on the six-rule workload
//! (benches/README.md).
//!
//! For every data set it first runs all three and asserts that they find exactly the same
//! violations — same tenant, same rule, same subject id — and exactly the ones the generator
//! planted; only then does it time them. Each engine is timed from JSON bytes to its list of
//! violations, on one thread:
//! - `tenet`: `Engine::decode` + `Engine::evaluate` (findings with messages and evidence);
//! - `baseline`: serde_json into typed structs of the whole export + loops
//!   (`common/baseline.rs`, the baseline);
//! - `baseline_lean`: the same with structs of only the fields the rules read;
//! - `regorus`: JSON → regorus `Value`, `set_input`, evaluate `data.sixrules.violations`
//!   (`common/rego.rs`, `workload/six-rules.rego`).
//!
//! Data: one tenant of 1K, 10K and 100K users and a bulk set of 100 × 500; with `--test`,
//! 1K, 10K and 20 × 500.

// A benchmark harness: a broken setup should stop it loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "common/baseline.rs"]
mod baseline;
#[path = "../examples/gen.rs"]
mod gen;
#[path = "common/rego.rs"]
mod rego;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::BTreeSet;
use std::time::Duration;
use tenet::engine::Engine;
use tenet::model::Model;
use tenet::snapshot::Content;
use tenet::source::SourceFile;

type Violation = (String, String, String);

/// 2026-11-22T00:00:00Z in microseconds (the six rules do not read `now`).
const NOW: i64 = 1_795_305_600 * 1_000_000;

fn quick() -> bool {
    std::env::args().any(|a| a == "--test")
}

/// (label, tenant documents, planted violations).
fn data_sets() -> Vec<(String, Vec<Vec<u8>>, gen::Stats)> {
    let singles: &[(&str, usize)] =
        if quick() { &[("1K", 1_000), ("10K", 10_000)] } else { &[("1K", 1_000), ("10K", 10_000), ("100K", 100_000)] };
    let (tenants, users) = if quick() { (20, 500) } else { (100, 500) };
    let mut sets: Vec<_> = singles
        .iter()
        .map(|&(label, users)| {
            let (json, stats) = gen::single(users, gen::SEED);
            (label.to_string(), vec![json], stats)
        })
        .collect();
    let (lines, stats) = gen::bulk(tenants, users, gen::SEED);
    sets.push((format!("bulk_{tenants}x{users}"), lines, stats));
    sets
}

fn tenet_engine() -> Engine {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/workload/six-rules.tenet");
    let text = std::fs::read_to_string(path).unwrap();
    match Engine::builder(Model::erp()).policy(SourceFile::new(path, text)).build() {
        Ok(e) => e,
        Err(e) => panic!("six-rules.tenet does not compile: {e:?}"),
    }
}

fn tenet_violations(engine: &Engine, doc: &[u8]) -> Vec<Violation> {
    let t = engine.decode("bench.json", Content::Json(doc.to_vec())).unwrap();
    let report = engine.evaluate(&t, NOW);
    report
        .findings
        .into_iter()
        .map(|f| {
            assert_eq!(f.status, tenet::finding::Status::Fail, "unexpected {f:?}");
            (f.tenant.to_string(), f.rule.to_string(), f.subject.id.as_deref().unwrap_or("").to_string())
        })
        .collect()
}

fn str_of(doc: &[u8]) -> &str {
    std::str::from_utf8(doc).unwrap()
}

/// All three engines must find exactly the planted violations.
fn assert_same(label: &str, docs: &[Vec<u8>], stats: &gen::Stats, engine: &Engine, rego: &mut rego::Rego) {
    let mut tenet = BTreeSet::new();
    let mut base = BTreeSet::new();
    let mut lean = BTreeSet::new();
    let mut rgo = BTreeSet::new();
    let mut tenet_n = 0;
    for doc in docs {
        let t = tenet_violations(engine, doc);
        tenet_n += t.len();
        tenet.extend(t);
        base.extend(baseline::violations(doc, false).unwrap());
        lean.extend(baseline::violations(doc, true).unwrap());
        rgo.extend(rego.violations(str_of(doc)).unwrap());
    }
    assert_eq!(tenet_n, tenet.len(), "{label}: tenet reported a violation twice");
    let diff = |a: &BTreeSet<Violation>, b: &BTreeSet<Violation>| {
        a.symmetric_difference(b).take(5).cloned().collect::<Vec<_>>()
    };
    assert!(tenet == base, "{label}: tenet and the baseline differ, e.g. {:?}", diff(&tenet, &base));
    assert!(tenet == lean, "{label}: tenet and the lean baseline differ, e.g. {:?}", diff(&tenet, &lean));
    assert!(tenet == rgo, "{label}: tenet and regorus differ, e.g. {:?}", diff(&tenet, &rgo));
    for (i, rule) in gen::RULES.iter().enumerate() {
        let found = tenet.iter().filter(|v| v.1 == *rule).count() as u64;
        assert_eq!(found, stats.violations[i], "{label}: {rule}: found {found}, planted {}", stats.violations[i]);
    }
    eprintln!("{label}: tenet, both baselines and regorus agree on {} violations (as planted)", tenet.len());
}

fn bench(c: &mut Criterion) {
    let engine = tenet_engine();
    let mut rego = rego::Rego::new().unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    for (label, docs, stats) in data_sets() {
        assert_same(&label, &docs, &stats, &engine, &mut rego);
        let bytes: u64 = docs.iter().map(|d| d.len() as u64).sum();
        let mut g = c.benchmark_group(format!("vs_rego/{label}"));
        g.throughput(Throughput::Bytes(bytes));
        if bytes > 10_000_000 {
            g.measurement_time(Duration::from_secs(12));
        }
        g.bench_function("tenet", |b| {
            b.iter(|| pool.install(|| docs.iter().map(|d| tenet_violations(&engine, d).len()).sum::<usize>()))
        });
        g.bench_function("baseline", |b| {
            b.iter(|| docs.iter().map(|d| baseline::violations(d, false).unwrap().len()).sum::<usize>())
        });
        g.bench_function("baseline_lean", |b| {
            b.iter(|| docs.iter().map(|d| baseline::violations(d, true).unwrap().len()).sum::<usize>())
        });
        g.bench_function("regorus", |b| {
            b.iter(|| docs.iter().map(|d| rego.violations(str_of(d)).unwrap().len()).sum::<usize>())
        });
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default().sample_size(10).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = bench
}
criterion_main!(benches);
