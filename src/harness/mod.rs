//! Policy tests (`*.test.yaml`, cli.md "Policy tests"): discovery, loading, running,
//! snapshots and rule coverage. `cli/test.rs` is the command-line front end.
//!
//! A run has two phases, both parallel and both collected back in order:
//! 1. [`load_file`] reads and validates each test file: the policies under test are
//!    compiled once per file (and once more per case that has its own `set`), and every
//!    case's tenant is decoded. Any mistake is a [`Diagnostic`](crate::diagnostic::Diagnostic)
//!    pointing into the test file, and a file with mistakes runs none of its cases.
//! 2. [`run_case`] evaluates one case, compares its findings with `expect` and with its
//!    snapshot, and records which rules it saw pass, fail and skip.
//!
//! Findings are compared as the JSON of the report (`serde_json::Value`), so expectations,
//! snapshots and diffs all see exactly what `tenet check --format json` prints.

mod coverage;
mod expect;
mod load;
mod render;
mod snapshots;

pub use coverage::{Coverage, RuleCoverage};
pub use expect::{Expect, Expectation, Key};
pub use load::{discover, load_file, load_text, Case, Found, SnapshotRef, TestFile, UnderTest};
pub use render::{finding_line, CaseReport};

use crate::finding::Status;
use serde_json::Value as J;
use std::sync::Arc;

/// What a run does besides checking expectations.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Write missing and changed snapshots instead of failing on them.
    pub update: bool,
    /// Collect every (rule, status) for coverage (costs one more evaluation per case).
    pub coverage: bool,
}

/// What one case produced.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    pub passed: bool,
    /// The diff of a failed case (and notes of a passed one), one line each, unindented.
    pub details: Vec<String>,
    /// Snapshot files written by `--update`: `(shown path, new file?)`.
    pub written: Vec<(String, bool)>,
    /// `(policy, rule, status)` of every evaluation, when coverage is on.
    pub seen: Vec<(Arc<str>, Arc<str>, Status)>,
}

/// Runs one case: evaluate, compare with `expect` and the snapshot, record coverage. A
/// panic (a bug in tenet) fails this case with a line that says so; the other cases run.
pub fn run_case(case: &Case, opts: &Options) -> CaseOutcome {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case_inner(case, opts))) {
        Ok(out) => out,
        Err(payload) => {
            let what = crate::engine::panic_message(payload.as_ref());
            CaseOutcome {
                passed: false,
                details: vec![format!(
                    "internal error while running this case ({what}); this is a bug in tenet, please report it"
                )],
                written: Vec::new(),
                seen: Vec::new(),
            }
        }
    }
}

fn run_case_inner(case: &Case, opts: &Options) -> CaseOutcome {
    let report = case.engine.evaluate(&case.tenant, case.now);
    let actual: Vec<J> = report.findings.iter().map(|f| serde_json::to_value(f).unwrap_or(J::Null)).collect();
    let mut out = CaseOutcome { passed: true, details: Vec::new(), written: Vec::new(), seen: Vec::new() };
    if let Some(exp) = &case.expect {
        let lines = expect::compare(exp, &actual);
        if !lines.is_empty() {
            out.passed = false;
            out.details.extend(lines);
        }
    }
    if let Some(snap) = &case.snapshot {
        let r = snapshots::check(snap, &actual, opts.update);
        out.passed &= r.passed;
        out.details.extend(r.details);
        out.written.extend(r.written);
    }
    if opts.coverage {
        let program = &case.engine.program;
        for (i, _path, status, _reason) in case.engine.statuses(&case.tenant, case.now) {
            if let Some(rule) = program.rules.get(i) {
                if let Some(p) = program.policies.get(rule.policy) {
                    out.seen.push((p.name.clone(), rule.name.clone(), status));
                }
            }
        }
    }
    out
}

/// Whether a case is selected by `--filter` (any substring of `file › name`; none: all).
pub fn selected(filters: &[String], file: &str, case: &str) -> bool {
    if filters.is_empty() {
        return true;
    }
    let full = format!("{file} › {case}");
    filters.iter().any(|f| full.contains(f.as_str()))
}
