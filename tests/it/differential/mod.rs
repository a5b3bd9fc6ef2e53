//! Differential testing: random well-typed policies and hostile tenants, evaluated by the
//! engine and by a small reference interpreter written from the contract (`reference.rs`);
//! every (rule, subject) status must agree. See docs/DIFFERENTIAL.md.
//!
//! `TENET_DIFF_CASES=N` runs N cases instead of the CI default; `TENET_DIFF_SEED=S` picks
//! another fixed seed; `TENET_DIFF_ALL=1` also generates the classes of known open defects
//! (`gen::Known`). Each case is one policy of 1-4 rules over 3 tenants.

mod examples;
mod gen;
mod reference;
mod regressions;

use gen::{Known, Src};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use reference::{Status, World};
use std::sync::atomic::{AtomicUsize, Ordering};
use tenet::engine::{CompileError, Engine};
use tenet::finding::Status as EStatus;
use tenet::model::Model;
use tenet::snapshot::Content;
use tenet::source::SourceFile;

const TENANTS_PER_CASE: usize = 3;
const CI_CASES: u32 = 1500;

fn env_num(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

/// The reference's `now` (seconds) and the engine's (its own units), for the same instant.
fn now_pair() -> (i64, i64) {
    let secs = reference::parse_date("2026-11-22").unwrap_or(0);
    (secs, crate::support::now())
}

fn engine_status(s: EStatus) -> Status {
    match s {
        EStatus::Pass => Status::Pass,
        EStatus::Fail => Status::Fail,
        EStatus::Error => Status::Error,
        EStatus::Skip => Status::Skip,
        EStatus::Waived => panic!("evaluation never waives a finding"),
    }
}

#[derive(Default)]
struct Counts {
    pairs: AtomicUsize,
    compared: AtomicUsize,
    set_aside: AtomicUsize,
    /// Compared pairs by status: pass, fail, error, skip.
    by_status: [AtomicUsize; 4],
}

/// One case: a policy and a few tenants from the bytes; Err describes a disagreement.
fn run_case(bytes: &[u8], known: &Known, counts: &Counts) -> Result<(), String> {
    let mut src = Src::new(bytes);
    let policy = gen::policy(&mut src, known);
    let text = gen::print_policy(&policy);
    let engine = match Engine::builder(Model::erp()).policy(SourceFile::new("diff.tenet", text.as_str())).build() {
        Ok(e) => e,
        Err(CompileError::Diagnostics(d)) => {
            let d: String = d.iter().map(|d| d.render_plain()).collect();
            return Err(format!("generated policy does not check:\n{text}\n{d}"));
        }
        Err(CompileError::Usage(u)) => return Err(format!("{u}\n{text}")),
    };
    // The same policy in the YAML form must give the same statuses (language.md §7).
    let yaml_text = gen::print_policy_yaml(&policy);
    let yaml = match Engine::builder(Model::erp()).policy(SourceFile::new("diff.yaml", yaml_text.as_str())).build() {
        Ok(e) => e,
        Err(CompileError::Diagnostics(d)) => {
            let d: String = d.iter().map(|d| d.render_plain()).collect();
            return Err(format!("the YAML form does not check:\n{yaml_text}\n{d}"));
        }
        Err(CompileError::Usage(u)) => return Err(format!("{u}\n{yaml_text}")),
    };
    let (ref_now, engine_now) = now_pair();
    for _ in 0..TENANTS_PER_CASE {
        let tenant = gen::tenant(&mut src, known);
        let json = serde_json::to_string(&tenant).map_err(|e| e.to_string())?;
        let decoded = engine
            .decode("t.json", Content::Json(json.clone().into_bytes()))
            .map_err(|e| format!("tenant does not decode: {e:?}\n{json}"))?;
        let got = engine.statuses(&decoded, engine_now);
        let yaml_decoded = yaml
            .decode("t.json", Content::Json(json.clone().into_bytes()))
            .map_err(|e| format!("tenant does not decode: {e:?}\n{json}"))?;
        let from_yaml: Vec<_> =
            yaml.statuses(&yaml_decoded, engine_now).into_iter().map(|(r, p, s, _)| (r, p, s)).collect();
        let from_dsl: Vec<_> = got.iter().map(|(r, p, s, _)| (*r, p.clone(), *s)).collect();
        if from_yaml != from_dsl {
            return Err(format!("the YAML form differs:\n{yaml_text}\n{from_yaml:?}\n{from_dsl:?}\ntenant:\n{json}"));
        }
        let world = World::new(&tenant, ref_now, *known);
        let want = reference::statuses(&policy, &world);
        let report = engine.evaluate(&decoded, engine_now);
        let show = |why: String| format!("{why}\npolicy:\n{text}tenant:\n{json}");
        let got_keys: Vec<(usize, &str)> = got.iter().map(|(r, p, _, _)| (*r, p.as_str())).collect();
        let want_keys: Vec<(usize, &str)> = want.iter().map(|(r, p, _)| (*r, p.as_str())).collect();
        if got_keys != want_keys {
            return Err(show(format!("subjects differ:\n engine:    {got_keys:?}\n reference: {want_keys:?}")));
        }
        for ((rule, path, status, reason), (_, _, expected)) in got.iter().zip(&want) {
            counts.pairs.fetch_add(1, Ordering::Relaxed);
            let expected = match expected {
                Ok(s) => *s,
                Err(_) => {
                    counts.set_aside.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
            };
            counts.compared.fetch_add(1, Ordering::Relaxed);
            counts.by_status[expected as usize].fetch_add(1, Ordering::Relaxed);
            let got = engine_status(*status);
            let name = &policy.rules[*rule].name;
            if got != expected {
                return Err(show(format!(
                    "rule {name} at `{path}`: engine says {got:?} ({reason:?}), reference says {expected:?}"
                )));
            }
            // Error and fail statuses are findings (with that status) in the report.
            if matches!(expected, Status::Error | Status::Fail) {
                let want = if expected == Status::Error { EStatus::Error } else { EStatus::Fail };
                let found = report
                    .findings
                    .iter()
                    .any(|f| &*f.rule == name.as_str() && f.subject.path == *path && f.status == want);
                if !found {
                    return Err(show(format!("rule {name} at `{path}`: no {expected:?} finding in the report")));
                }
            }
        }
    }
    Ok(())
}

fn config() -> Config {
    let cases = env_num("TENET_DIFF_CASES").map_or(CI_CASES, |n| n as u32);
    let seed = env_num("TENET_DIFF_SEED").unwrap_or(0x7e4e7);
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..Config::default()
    }
}

#[test]
fn differential_engine_agrees_with_the_reference() {
    // Shrinking runs deep debug-build parser and evaluator frames: give them room.
    let t = std::thread::Builder::new().stack_size(256 << 20).spawn(differential_run);
    if let Err(e) = t.expect("spawn").join() {
        std::panic::resume_unwind(e);
    }
}

fn differential_run() {
    let mut known = Known::current();
    if env_num("TENET_DIFF_ALL") == Some(1) {
        // Generate every class, those left out included (they then disagree by design).
        known.non_list_collections = false;
    }
    let counts = Counts::default();
    let started = std::time::Instant::now();
    let mut runner = TestRunner::new(config());
    let result = runner.run(&prop::collection::vec(any::<u8>(), 0..2048), |bytes| {
        run_case(&bytes, &known, &counts).map_err(TestCaseError::fail)
    });
    let (pairs, compared, aside) = (
        counts.pairs.load(Ordering::Relaxed),
        counts.compared.load(Ordering::Relaxed),
        counts.set_aside.load(Ordering::Relaxed),
    );
    eprintln!(
        "differential: {} cases, {pairs} (rule, subject) pairs, {compared} compared (pass/fail/error/skip {:?}), {aside} set aside for known defects, {:.1}s",
        runner.config().cases,
        counts.by_status.iter().map(|c| c.load(Ordering::Relaxed)).collect::<Vec<_>>(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(compared > 1000, "too few pairs compared: {compared}");
}
